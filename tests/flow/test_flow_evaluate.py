"""evaluate_flow protocol, table, metrics JSON and the classical benchmark script."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from segcorr.data.flow_sample import FlowSample
from segcorr.data.flowsets import open_flow_dataset
from segcorr.errors import InputError
from segcorr.flow.evaluate import classical_method, evaluate_flow, format_table, write_metrics_json
from segcorr.io.flo import write_flo
from segcorr.io.image import write_image
from segcorr.metrics.flow import FLOW_KEYS

H, W = 12, 16
DESIGN_KEYS = {"method", "data", "count", "ms_per_item", *FLOW_KEYS}


class ListSet:
    def __init__(self, samples: list[FlowSample]) -> None:
        self.samples = samples
        self.root = Path("mem")

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i: int) -> FlowSample:
        return self.samples[i]


def _sample(i: int, occ: bool = False) -> FlowSample:
    img = np.full((H, W, 3), i, np.uint8)
    flow = np.full((2, H, W), float(i), np.float32)
    o = np.zeros((H, W), bool) if occ else None
    seg = np.ones((H, W), np.int32)
    return FlowSample(name=f"p{i}", img0=img, img1=img, flow=flow, occ=o, seg0=seg, seg1=seg)


def test_gt_method_scores_zero_and_result_has_design_keys():
    ds = ListSet([_sample(1, occ=True), _sample(2)])
    seen = []

    def oracle(img0, img1, sample):
        seen.append(sample.seg0 is not None)  # the sample reaches the method (segment-aware methods)
        return sample.flow

    r = evaluate_flow(ds, oracle, "oracle", "mem", progress=False)
    assert set(r) == DESIGN_KEYS
    assert r["method"] == "oracle" and r["data"] == "mem" and r["count"] == 2
    assert r["epe"] == 0 and r["epe_noc"] == 0 and r["epe_occ"] is None and r["epe_line"] is None
    assert r["ms_per_item"] >= 0 and seen == [True, True]


def test_offset_method_error_and_limit():
    ds = ListSet([_sample(1), _sample(2), _sample(3)])
    r = evaluate_flow(
        ds, lambda a, b, s: s.flow + np.array([3, 4], np.float32)[:, None, None], "off", progress=True, limit=2
    )
    assert r["count"] == 2 and r["epe"] == pytest.approx(5) and r["data"] == "mem"


def test_wrong_flow_shape_from_method_is_reported():
    with pytest.raises(ValueError, match=r"\[2, H, W\]"):
        evaluate_flow(ListSet([_sample(1)]), lambda a, b, s: np.zeros((H, W, 2)), "bad", progress=False)


def test_classical_zero_on_pairs_folder_equals_mean_gt_speed(tmp_path):
    rng = np.random.default_rng(0)
    flows = [rng.normal(0, 3, (2, H, W)).astype(np.float32) for _ in range(2)]
    for i, f in enumerate(flows):
        write_image(tmp_path / f"{i:05d}_img0.png", rng.integers(0, 256, (H, W, 3), dtype=np.uint8))
        write_image(tmp_path / f"{i:05d}_img1.png", rng.integers(0, 256, (H, W, 3), dtype=np.uint8))
        write_flo(tmp_path / f"{i:05d}_flow.flo", f)
    r = evaluate_flow(open_flow_dataset(tmp_path), classical_method("zero"), "zero", "t", progress=False)
    want = np.mean([np.hypot(f[0], f[1]).mean() for f in flows])
    assert r["epe"] == pytest.approx(want, rel=1e-5)
    with pytest.raises(InputError, match="dis-medium"):
        classical_method("nope")


def test_format_table_puts_methods_side_by_side():
    a = {"method": "zero", "data": "d", "count": 3, "ms_per_item": 0.25, **{k: None for k in FLOW_KEYS}}
    b = dict(a, method="dis-medium", epe=3.6912)
    t = format_table([a, b])
    lines = t.splitlines()
    assert "zero" in lines[1] and "dis-medium" in lines[1]
    epe_row = next(ln for ln in lines if ln.startswith("epe "))
    assert epe_row.split()[1:] == ["-", "3.691"]
    assert format_table([]) == "(no results)"


def test_write_metrics_json_is_flat_with_nulls(tmp_path):
    p = tmp_path / "sub" / "m.json"
    write_metrics_json(
        p, {"method": "x", "count": np.int64(2), "epe": np.float32(1.5), "px1": float("nan"), "epe_occ": None}
    )
    assert json.loads(p.read_text()) == {"method": "x", "count": 2, "epe": 1.5, "px1": None, "epe_occ": None}


def test_benchmark_script_runs_every_method(tmp_path, capsys):
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "flow_classical.py"
    spec = importlib.util.spec_from_file_location("flow_classical_bench", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    data = tmp_path / "pairs"
    rng = np.random.default_rng(1)
    write_image(data / "00000_img0.png", rng.integers(0, 256, (32, 40, 3), dtype=np.uint8))
    write_image(data / "00000_img1.png", rng.integers(0, 256, (32, 40, 3), dtype=np.uint8))
    write_flo(data / "00000_flow.flo", np.zeros((2, 32, 40), np.float32))
    out = tmp_path / "r.json"
    assert mod.main(["--data", str(data), "--json", str(out), "--no-progress"]) == 0
    rows = json.loads(out.read_text())
    assert [r["method"] for r in rows] == ["zero", "farneback", "dis-ultrafast", "dis-fast", "dis-medium"]
    assert rows[0]["epe"] == 0
    assert "dis-medium" in capsys.readouterr().out
    assert mod.main(["--data", str(tmp_path / "missing"), "--no-progress"]) == 2


def test_dis_medium_beats_zero_flow_on_a_synthetic_cel_pair():
    from segcorr.data.synth.cels import make_cel_pair

    p = make_cel_pair(0, 96, 128)
    ds = ListSet([FlowSample(name="cel0", img0=p.img0, img1=p.img1, flow=p.flow_fw, occ=p.occ0, line=p.line0)])
    zero = evaluate_flow(ds, classical_method("zero"), "zero", progress=False)
    dis = evaluate_flow(ds, classical_method("dis-medium"), "dis-medium", progress=False)
    assert zero["epe_noc"] > 4  # the pair really moves
    assert dis["epe_noc"] < 0.6 * zero["epe_noc"]
    assert dis["epe_line"] is not None and dis["epe_occ"] is not None
