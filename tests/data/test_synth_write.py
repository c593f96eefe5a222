"""write_cels / write_clips produce the documented layouts, readable by segcorr.io."""

from __future__ import annotations

import json
import sys

import numpy as np
from pycocotools import mask as mask_utils

from segcorr.data.synth import make_cel_pair, make_clip, write_cels, write_clips
from segcorr.data.synth.clips import _encode
from segcorr.io.flo import read_flo
from segcorr.io.image import read_gray, read_image
from segcorr.io.labelmap import read_labelmap


def test_write_cels_pairs_layout_round_trips(tmp_path) -> None:
    out = write_cels(tmp_path / "cels", 2, seed=40, height=48, width=64, progress=False)
    names = sorted(p.name for p in out.iterdir())
    for stem in ("00000", "00001"):
        for suffix in ("img0.png", "img1.png", "flow.flo", "occ.png", "seg0.png", "seg1.png", "inst0.png", "line0.png"):
            assert f"{stem}_{suffix}" in names
    assert not [n for n in names if n.endswith(".tmp")]
    pair = make_cel_pair(41, 48, 64)  # pair 1 uses seed + 1
    np.testing.assert_array_equal(read_image(out / "00001_img0.png"), pair.img0)
    np.testing.assert_array_equal(read_image(out / "00001_img1.png"), pair.img1)
    np.testing.assert_allclose(read_flo(out / "00001_flow.flo"), pair.flow_fw)
    np.testing.assert_array_equal(read_gray(out / "00001_occ.png") == 255, pair.occ0)
    np.testing.assert_array_equal(read_gray(out / "00001_line0.png") == 255, pair.line0)
    np.testing.assert_array_equal(read_labelmap(out / "00001_seg1.png"), pair.seg1)
    np.testing.assert_array_equal(read_labelmap(out / "00001_inst0.png"), pair.inst0)
    meta = json.loads((out / "meta.json").read_text())
    assert meta["generator"] and meta["count"] == 2 and (meta["height"], meta["width"]) == (48, 64)
    assert meta["pairs"][1]["seed"] == 41 and meta["pairs"][1]["depth"] == pair.depth
    assert meta["pairs"][1]["concepts"] == {str(k): v for k, v in pair.concepts.items()}


def test_write_clips_layout_and_masklets_decode(tmp_path) -> None:
    out = write_clips(tmp_path / "clips", 1, seed=7, num_frames=3, height=40, width=56, progress=False)
    d = out / "clip_00000"
    clip = make_clip(7, 3, 40, 56)
    for t in range(3):
        np.testing.assert_array_equal(read_image(d / f"frame_{t:03d}.png"), clip.frames[t])
        np.testing.assert_array_equal(read_labelmap(d / f"inst_{t:03d}.png"), clip.inst[t])
        np.testing.assert_array_equal(read_labelmap(d / f"seg_{t:03d}.png"), clip.seg[t])
    assert (d / "flow_001.flo").exists() and not (d / "flow_002.flo").exists()
    np.testing.assert_allclose(read_flo(d / "flow_000.flo"), clip.flows[0])
    masklets = json.loads((d / "masklets.json").read_text())
    assert set(masklets) == {str(k) for k in clip.masklets}
    for k, entry in masklets.items():
        assert entry["concept"] == clip.instance_concepts[int(k)]
        for t, rle in entry["frames"].items():
            rle = {"size": rle["size"], "counts": rle["counts"].encode()}
            np.testing.assert_array_equal(mask_utils.decode(rle).astype(bool), clip.masklets[int(k)][int(t)])
    assert json.loads((out / "meta.json").read_text())["clips"][0]["seed"] == 7


def test_masklet_encoding_without_the_shared_rle_module(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "segcorr.io.rle", None)  # forces the pycocotools path
    mask = np.zeros((9, 7), bool)
    mask[2:5, 1:4] = True
    rle = _encode(mask)
    assert isinstance(rle["counts"], str) and rle["size"] == [9, 7]
    decoded = mask_utils.decode({"size": rle["size"], "counts": rle["counts"].encode()})
    np.testing.assert_array_equal(decoded.astype(bool), mask)


def test_synth_clips_cli_exits_option(tmp_path) -> None:
    from typer.testing import CliRunner

    from segcorr.cli import app

    args = ["synth", "clips", "--count", "1", "--seed", "3", "--frames", "12", "--height", "64", "--width", "96"]
    res = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "e"), "--exits", "1"])
    assert res.exit_code == 0, res.output
    assert json.loads((tmp_path / "e" / "meta.json").read_text())["exits"] == 1
    clip = make_clip(3, 12, 64, 96, exits=1)  # the CLI writes the exits clip, which differs from the plain one
    got = [read_labelmap(tmp_path / "e" / "clip_00000" / f"inst_{t:03d}.png") for t in range(12)]
    np.testing.assert_array_equal(np.stack(got), np.stack(clip.inst))
    assert any((a != b).any() for a, b in zip(clip.inst, make_clip(3, 12, 64, 96).inst, strict=True))
