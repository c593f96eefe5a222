"""Isolation metrics: ordering pairs and scores, IoU and bleeding, on pages with known answers."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from segcorr.data.synth.manga import make_manga_page
from segcorr.metrics.isolate import IsolationMetricAccumulator, ordering_pairs, pair_score


def test_pair_scores_count_ties_as_half() -> None:
    assert pair_score(0.1, 0.2, True, True) == 1.0 and pair_score(0.1, 0.2, False, True) == 0.0
    assert pair_score(5, 3, True, False) == 1.0 and pair_score(3, 3, True, False) == 0.5


def test_ordering_pairs_need_overlap_same_panel_and_depth() -> None:
    page = make_manga_page(2, 320, 240)
    pairs = ordering_pairs(page.characters, page.amodal)
    for i, j in pairs:
        a, b = page.characters[i], page.characters[j]
        assert a["panel"] == b["panel"] and (page.amodal[a["id"]] & page.amodal[b["id"]]).any()


def _mask(r0, r1, c0, c1, shape=(10, 10)):
    m = np.zeros(shape, bool)
    m[r0:r1, c0:c1] = True
    return m


def test_accumulator_on_two_overlapping_characters_with_known_answers() -> None:
    """A (depth 1, in front) overlaps B (depth 2). The method orders them right by its key, wrong by area
    (B is larger), right by the lower edge; A's mask is exact, B's mask leaks 4 px into A."""
    chars = [
        {"id": 1, "panel": 0, "depth": 1.0, "body_box": [2, 2, 6, 9]},
        {"id": 2, "panel": 0, "depth": 2.0, "body_box": [0, 0, 10, 6]},
    ]
    amodal = {1: _mask(2, 9, 2, 6), 2: _mask(0, 6, 0, 10)}
    visible = {1: amodal[1], 2: amodal[2] & ~amodal[1]}
    keys = {1: SimpleNamespace(d=0.1, area_px=28), 2: SimpleNamespace(d=0.5, area_px=60)}
    masks = {1: visible[1], 2: visible[2] | _mask(2, 3, 2, 6)}
    acc = IsolationMetricAccumulator()
    acc.update(chars, amodal, visible, keys, masks, (10, 10))
    r = acc.result()
    assert r["pairs"] == 1 and r["characters"] == 2
    assert r["order_acc"] == 1.0 and r["order_acc_area"] == 0.0 and r["order_acc_lower_edge"] == 1.0
    n2 = int(visible[2].sum())
    assert r["iou"] == pytest.approx((1.0 + n2 / (n2 + 4)) / 2)
    assert r["bleeding"] == pytest.approx(4 / (28 + n2 + 4))


def test_empty_accumulator_gives_none() -> None:
    r = IsolationMetricAccumulator().result()
    assert r["order_acc"] is None and r["iou"] is None and r["bleeding"] is None and r["pairs"] == 0
