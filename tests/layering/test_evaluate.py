"""`segcorr eval isolate` protocol on a tiny generated folder, and the demo section."""

from __future__ import annotations

import numpy as np
import pytest

from segcorr.data.synth.manga import make_manga_page, write_manga
from segcorr.errors import InputError
from segcorr.layering.evaluate import GivenMasks, evaluate_isolation
from segcorr.layering.isolate import isolate_masks
from segcorr.layering.zbuffer import DepthKey, ZBufferCalculator


def test_isolation_with_the_true_order_recovers_the_visible_masks() -> None:
    """GT amodal masks + GT order: only the 3x3 closing can differ from the visible masks."""
    page = make_manga_page(11, 320, 240)
    keys = {c["id"]: DepthKey(c["id"], c["panel"], c["depth"], 0, 0, "body", None, 0) for c in page.characters}
    got = isolate_masks(page.amodal, keys, ZBufferCalculator(), page.panels)
    for c in page.characters:
        diff = np.count_nonzero(got[c["id"]] ^ page.visible[c["id"]])
        assert diff <= 0.02 * page.visible[c["id"]].sum()


def test_evaluate_isolation_amodal_and_flat(tmp_path) -> None:
    root = write_manga(tmp_path / "m", 2, seed=20, height=320, width=240, progress=False)
    r = evaluate_isolation(root, "amodal", progress=False)
    for key in (
        "order_acc",
        "order_acc_area",
        "order_acc_lower_edge",
        "iou",
        "bleeding",
        "ms_per_item",
        "ms_per_item_total",
        "method",
        "data",
        "count",
    ):
        assert key in r
    assert r["count"] == 2 and r["pairs"] > 0 and r["method"] == "zbuffer+evidence+amodal"
    assert 0 <= r["order_acc_area"] <= 1 and r["iou"] > 0.8 and r["bleeding"] < 0.1
    f = evaluate_isolation(root, "flat", progress=False, limit=1)
    assert f["count"] == 1 and f["method"] == "zbuffer+flat" and 0 <= f["iou"] <= 1
    with pytest.raises(InputError, match="amodal"):
        evaluate_isolation(root, "sam9")


def test_given_masks_segmenter_checks_its_prompt_count() -> None:
    from segcorr.segment.base import Prompts

    seg = GivenMasks([np.ones((4, 4), bool)])
    assert seg.segment(np.zeros((4, 4), np.uint8), Prompts(boxes=np.zeros((1, 4)))).masks.shape == (1, 4, 4)
    with pytest.raises(ValueError):
        seg.segment(np.zeros((4, 4), np.uint8), Prompts(boxes=np.zeros((2, 4))))


def test_demo_section(tmp_path) -> None:
    from segcorr.layering.demo import demo_isolation
    from segcorr.viz.report import Report

    report = Report("t")
    images, rows = demo_isolation(report, tmp_path, quick=True)
    assert images["page"].ndim == 2 and images["isolated_flat"].shape[2] == 3
    assert [r["method"] for r in rows] == ["zbuffer+evidence+amodal", "zbuffer+flat"]
    assert "Character isolation" in report.save(tmp_path).read_text()
