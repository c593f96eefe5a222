"""The command line end to end: outputs land, bad input is one line on stderr with exit code 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from segcorr.cli import main
from segcorr.data.synth import make_cel_pair
from segcorr.io.flo import read_flo
from segcorr.io.image import read_image, write_image


def run(args: list[str]) -> int:
    try:
        main([str(a) for a in args])
    except SystemExit as e:
        return int(e.code or 0)
    return 0


@pytest.fixture(scope="module")
def pair_files(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("pair")
    p = make_cel_pair(3, height=96, width=128)
    write_image(d / "a.png", p.img0)
    write_image(d / "b.png", p.img1)
    write_image(d / "small.png", p.img1[:64, :64])
    return {"a": d / "a.png", "b": d / "b.png", "small": d / "small.png", "gt": p.flow_fw}


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert "Traceback" not in err[0]
    return err[0]


def test_flow_writes_flo_and_viz(pair_files, tmp_path, capsys):
    out, viz = tmp_path / "f.flo", tmp_path / "f.png"
    assert run(["flow", pair_files["a"], pair_files["b"], "--method", "dis-medium", "--out", out, "--viz", viz]) == 0
    f = read_flo(out)
    assert f.shape == (2, 96, 128) and np.isfinite(f).all()
    # DIS on a real pair must beat zero flow against the exact ground truth.
    epe = np.linalg.norm(f - pair_files["gt"], axis=0).mean()
    assert epe < np.linalg.norm(pair_files["gt"], axis=0).mean()
    assert read_image(viz).shape == (96, 128, 3)


@pytest.mark.parametrize("case", ["missing", "size", "method", "suffix", "refine"])
def test_flow_bad_input_exit_2_and_no_output(pair_files, tmp_path, capsys, case):
    out = tmp_path / "f.flo"
    a, b, method, extra = pair_files["a"], pair_files["b"], "dis-fast", []
    if case == "missing":
        a = tmp_path / "nope.png"
    elif case == "size":
        b = pair_files["small"]
    elif case == "method":
        method = "raft-xxl"
    elif case == "refine":
        extra = ["--refine", "magic"]
    else:
        out = tmp_path / "f.txt"
    assert run(["flow", a, b, "--method", method, "--out", out, *extra]) == 2
    line = one_error_line(capsys)
    assert line.startswith("segcorr: error:")
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_unreadable_image_is_bad_input(tmp_path, pair_files, capsys):
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(200)))
    assert run(["flow", junk, pair_files["b"], "--out", tmp_path / "f.flo"]) == 2
    one_error_line(capsys)


def test_synth_then_eval_flow_json(tmp_path, capsys):
    cels = tmp_path / "cels"
    assert run(["synth", "cels", "--out", cels, "--count", "2", "--seed", "5", "--height", "96", "--width", "128"]) == 0
    js = tmp_path / "m.json"
    assert run(["eval", "flow", "--data", cels, "--method", "zero", "--json", js]) == 0
    m = json.loads(js.read_text())
    assert m["count"] == 2
    for key in ("epe", "epe_occ", "epe_noc", "epe_line", "epe_flat", "px1", "px3", "px5", "ms_per_item"):
        assert key in m
    # zero flow's EPE is the mean GT magnitude: positive on moving scenes
    assert m["epe"] > 0.5


def test_eval_flow_bad_data_and_corrupt_flo(tmp_path, capsys):
    assert run(["eval", "flow", "--data", tmp_path / "absent", "--method", "zero"]) == 2
    one_error_line(capsys)
    cels = tmp_path / "cels"
    assert run(["synth", "cels", "--out", cels, "--count", "1", "--height", "64", "--width", "64"]) == 0
    capsys.readouterr()
    flo = next(cels.glob("*_flow.flo"))
    flo.write_bytes(flo.read_bytes()[:40])  # truncated
    assert run(["eval", "flow", "--data", cels, "--method", "zero"]) == 2
    assert "flo" in one_error_line(capsys).lower()


def test_isolate_bad_json(tmp_path, pair_files, capsys):
    boxes = tmp_path / "b.json"
    boxes.write_text("{not json")
    assert run(["isolate", pair_files["a"], "--boxes", boxes, "--out", tmp_path / "iso"]) == 2
    one_error_line(capsys)
    assert not (tmp_path / "iso").exists()


def test_synth_manga_then_isolate_page(tmp_path, capsys):
    manga = tmp_path / "manga"
    assert run(["synth", "manga", "--out", manga, "--count", "1", "--seed", "2"]) == 0
    page = sorted(p for p in manga.rglob("*.png") if (p.with_suffix(".json")).exists())[0]
    out = tmp_path / "iso"
    assert run(["isolate", page, "--boxes", page.with_suffix(".json"), "--out", out, "--segmenter", "flat"]) == 0
    order = json.loads((out / "order.json").read_text())
    assert order
    assert list(out.glob("*.png"))


def test_demo_quick_writes_report(tmp_path, capsys):
    assert run(["demo", "--out", tmp_path / "demo", "--quick"]) == 0
    html = (tmp_path / "demo" / "report.html").read_text()
    assert "Optical flow" in html and "<table" in html and "<img" in html
    assert "dis-medium" in html
    # the matching section: its pairs are left for the user in both matching layouts, its table names every method
    assert "Image matching" in html and all(f">{m}<" in html for m in ("as-mamba", "sift", "orb"))
    from segcorr.data.matchsets import open_match_dataset

    samples = tmp_path / "demo" / "match_samples"
    assert [len(open_match_dataset(samples / d)) for d in ("photos", "scenes")] == [1, 1]
    # the tracking section: every method scored, and the command it suggests clicks inside the object it names
    assert "Video tracking" in html and ">builtin<" in html and ">flow-propagate<" in html
    assert ">builtin, memory mode<" in html  # the shipped tracker memory runs too
    import re

    from segcorr.segment.track_eval import ClipReader

    m = re.search(r"--point 0,(\d+),(\d+) --out tracked` follows object (\d+)", html)
    assert m, "the tracking section suggests a command"
    clip = ClipReader(tmp_path / "demo" / "track_samples" / "clip_00000")
    x, y, obj = (int(v) for v in m.groups())
    assert clip.instance_map(0, clip.frame(0).shape[:2])[y, x] == obj


def test_module_entry_point_usage_error_is_exit_2(tmp_path):
    r = subprocess.run([sys.executable, "-m", "segcorr", "flow"], capture_output=True, text=True)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
