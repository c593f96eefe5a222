"""Pairs-layout flow sets: auto-detection, optional files, line fallback, bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from segcorr.data.flowsets import FlowDataset, FlowSample, open_flow_dataset
from segcorr.data.pairs import PairsFlowDataset
from segcorr.errors import InputError
from segcorr.io.flo import write_flo
from segcorr.io.image import write_image
from segcorr.io.labelmap import write_labelmap

H, W = 24, 32


def _write_pair(root: Path, stem: str, seed: int, occ=False, seg=False, line=False) -> dict:
    rng = np.random.default_rng(seed)
    img0 = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
    img1 = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
    flow = rng.normal(0, 5, (2, H, W)).astype(np.float32)
    write_image(root / f"{stem}_img0.png", img0)
    write_image(root / f"{stem}_img1.png", img1)
    write_flo(root / f"{stem}_flow.flo", flow)
    out = {"img0": img0, "img1": img1, "flow": flow}
    if occ:
        m = np.zeros((H, W), np.uint8)
        m[:5] = 255
        write_image(root / f"{stem}_occ.png", m)
    if seg:
        s = np.ones((H, W), np.int32)
        s[:, W // 2 :] = 300  # > 255: 16-bit labels must survive
        write_labelmap(root / f"{stem}_seg0.png", s)
        write_labelmap(root / f"{stem}_seg1.png", s)
        out["seg"] = s
    if line:
        m = np.zeros((H, W), np.uint8)
        m[:, 0] = 255
        write_image(root / f"{stem}_line0.png", m)
    return out


def test_pairs_layout_reads_every_part_lazily_in_stem_order(tmp_path):
    b = _write_pair(tmp_path, "00001", 1, occ=True, seg=True, line=True)
    a = _write_pair(tmp_path, "00000", 0)
    (tmp_path / "meta.json").write_text("{}")
    ds = open_flow_dataset(tmp_path)
    assert isinstance(ds, PairsFlowDataset) and isinstance(ds, FlowDataset)
    assert len(ds) == 2
    s0, s1 = ds[0], ds[1]
    assert isinstance(s0, FlowSample) and s0.name == "00000" and s1.name == "00001"
    np.testing.assert_array_equal(s0.img0, a["img0"])
    np.testing.assert_array_equal(s0.img1, a["img1"])
    np.testing.assert_array_equal(s0.flow, a["flow"])
    assert s0.occ is None and s0.seg0 is None and s0.line is None
    assert s1.occ.dtype == bool and s1.occ[:5].all() and not s1.occ[5:].any()
    np.testing.assert_array_equal(s1.seg0, b["seg"])
    assert s1.line[:, 0].all() and s1.line.sum() == H  # _line0.png wins over segment boundaries


def test_line_falls_back_to_segment_boundaries_within_2px(tmp_path):
    _write_pair(tmp_path, "00000", 0, seg=True)
    line = open_flow_dataset(tmp_path)[0].line
    assert line[:, W // 2 - 3 : W // 2 + 3].all()  # boundary columns 15, 16 +- 2 px
    assert not line[:, : W // 2 - 3].any() and not line[:, W // 2 + 3 :].any()


def test_missing_partner_file_is_named(tmp_path):
    _write_pair(tmp_path, "00000", 0)
    (tmp_path / "00000_img1.png").unlink()
    with pytest.raises(InputError, match="00000_img1.png"):
        open_flow_dataset(tmp_path)


def test_size_mismatch_names_the_file(tmp_path):
    _write_pair(tmp_path, "00000", 0)
    write_flo(tmp_path / "00000_flow.flo", np.zeros((2, H, W + 1), np.float32))
    ds = open_flow_dataset(tmp_path)
    with pytest.raises(InputError, match="00000_flow.flo"):
        ds[0]


def test_empty_unknown_and_missing_folders_are_input_errors(tmp_path):
    with pytest.raises(InputError, match="empty"):
        open_flow_dataset(tmp_path)
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(InputError, match="unknown layout"):
        open_flow_dataset(tmp_path)
    with pytest.raises(InputError, match="no such folder"):
        open_flow_dataset(tmp_path / "nope")


def test_precomputed_label_maps_replace_the_folder_s_own(tmp_path):
    data = _write_pair(tmp_path / "p", "00000", 0, seg=True)
    labels = tmp_path / "lab"
    write_labelmap(labels / "00000_seg0.png", np.full((H, W), 7, np.int32))
    s = PairsFlowDataset(tmp_path / "p", labels_dir=labels)[0]
    assert int(s.seg0.max()) == 7 and s.seg1 is None  # no _seg1.png there: no map, not the folder's own
    assert np.array_equal(PairsFlowDataset(tmp_path / "p")[0].seg0, data["seg"])
    with pytest.raises(InputError, match="label maps"):
        PairsFlowDataset(tmp_path / "p", labels_dir=tmp_path / "none")
    with pytest.raises(InputError, match="no folder"):
        PairsFlowDataset(tmp_path / "none")


def test_readers_do_not_import_the_opener():
    """The sample type lives in its own module, so the readers and the opener import without a cycle."""
    import subprocess
    import sys

    code = "import sys, segcorr.data.pairs, segcorr.data.animerun; print('segcorr.data.flowsets' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
    from segcorr.data.flow_sample import FlowSample as Canonical

    assert FlowSample is Canonical
