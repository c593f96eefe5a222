"""Occlusion evidence from the picture, the order it gives with the Z-buffer key, and the mask options of the
isolation (full 3x3 closing, same-plane overlaps to the front character)."""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np

from segcorr.layering import IsolationConfig, ZBufferConfig, isolate_page
from segcorr.layering.evaluate import GivenMasks
from segcorr.layering.evidence import EvidenceConfig, page_evidence, pair_evidence, side_llr
from segcorr.layering.isolate import _morph, config_for_order
from segcorr.layering.order import best_order, calibrate_keys, evidence_keys
from segcorr.layering.overlap import overlap_test
from segcorr.layering.zbuffer import DepthKey

H, W = 90, 120
LOW, HIGH = (10, 30, 60, 85), (40, 5, 100, 60)  # (x0, y0, x1, y1): LOW stands lower and is drawn in front


def _mask(box) -> np.ndarray:
    """The figure's mask, its whole outline included (as segmenters and the page generators draw it)."""
    m = np.zeros((H, W), bool)
    m[box[1] - 1 : box[3] + 1, box[0] - 1 : box[2] + 1] = True
    return m


def _draw(order, fills=(255, 150)) -> np.ndarray:
    """The two figures painted back to front (`order`: boxes front first), each a filled, 2 px outlined box."""
    page = np.full((H, W), 255, np.uint8)
    for box, fill in reversed(list(zip(order, fills))):
        x0, y0, x1, y1 = box
        cv2.rectangle(page, (x0, y0), (x1 - 1, y1 - 1), fill, -1)
        cv2.rectangle(page, (x0, y0), (x1 - 1, y1 - 1), 0, 2)
    return page


def test_the_figure_drawn_over_the_other_is_in_front() -> None:
    a, b = _mask(LOW), _mask(HIGH)
    page = _draw([LOW, HIGH])
    e, na, nb = pair_evidence(page, a, b)
    assert e > 0.5 and na > 20 and nb > 20
    assert pair_evidence(page, b, a)[0] == -e  # antisymmetric
    flipped = _draw([HIGH, LOW], fills=(150, 255))
    assert pair_evidence(flipped, a, b)[0] < -0.5
    apart = _mask((1, 1, 10, 10))
    assert pair_evidence(page, a, apart) == (0.0, 0, 0)


def test_a_drawn_outline_is_likely_and_no_line_is_not() -> None:
    cfg = EvidenceConfig()
    assert side_llr(0.9, 40, cfg) > 2 > 0 > -0.5 > side_llr(0.0, 40, cfg)
    assert side_llr(0.3, 10, cfg) < side_llr(0.3, 200, cfg)  # short contours say less


def _key(cid, d, y=0.0, area=0.0, typ="body") -> DepthKey:
    return DepthKey(cid, 0, d, y, area, typ, None, 0.0)


def test_strong_evidence_overrides_the_key_and_weak_evidence_does_not() -> None:
    keys = {"a": _key("a", 0.2), "b": _key("b", 0.5), "c": _key("c", 0.8)}
    strong = evidence_keys(keys, {("c", "a"): 0.9}, weight=3.0, threshold=0.2)
    assert strong["c"].d < strong["a"].d and strong["c"].d_adr == 0.8
    assert sorted(k.d for k in strong.values()) == [0.2, 0.5 + 1e-6, 0.8 + 2e-6]  # the key's values, reordered
    weak = evidence_keys(keys, {("c", "a"): 0.1}, weight=3.0, threshold=0.2)
    assert [c for c, _ in sorted(weak.items(), key=lambda kv: kv[1].d)] == ["a", "b", "c"]
    none = evidence_keys(keys, {("c", "a"): 0.9}, weight=0.0, threshold=0.2)
    assert [c for c, _ in sorted(none.items(), key=lambda kv: kv[1].d)] == ["a", "b", "c"]


def test_best_order_is_the_least_violating_permutation() -> None:
    s = np.zeros((4, 4))
    for x, y, v in ((3, 0, 1.0), (0, 1, 1.0), (1, 2, 1.0), (2, 3, 0.2)):  # a cycle: its weakest link gives way
        s[x, y], s[y, x] = v, -v
    assert best_order(s) == [3, 0, 1, 2]


def test_calibration_drops_a_key_term_the_page_contradicts() -> None:
    keys = {c: _key(c, 0.0, y=y, area=area) for c, y, area in (("a", 0.0, 1.0), ("b", 0.5, 0.5), ("c", 1.0, 0.0))}
    ev = {("c", "b"): 0.9, ("b", "a"): 0.9}  # the page says c, b, a: against the height term, with the area term
    cal = calibrate_keys(keys, ev, (0.4, 0.3, 0.2, 0.1), threshold=0.2)
    assert cal["c"].d < cal["b"].d < cal["a"].d
    assert calibrate_keys(keys, {}, (0.4, 0.3, 0.2, 0.1), threshold=0.2) is keys


def test_isolation_follows_the_picture_where_the_height_cue_is_wrong() -> None:
    page = _draw([HIGH, LOW], fills=(150, 255))  # the higher, smaller figure is drawn in front
    chars = [{"id": "low", "body_box": list(LOW)}, {"id": "high", "body_box": list(HIGH)}]
    masks = [_mask(LOW), _mask(HIGH)]
    adr = isolate_page(page, chars, GivenMasks(masks), config_for_order("adr"), panels=[[0, 0, W, H]])
    both = isolate_page(page, chars, GivenMasks(masks), config_for_order("both"), panels=[[0, 0, W, H]])
    alone = isolate_page(page, chars, GivenMasks(masks), config_for_order("evidence"), panels=[[0, 0, W, H]])
    assert adr.order[0] == ["low", "high"] and both.order[0] == ["high", "low"] == alone.order[0]
    np.testing.assert_array_equal(both.masks["low"], masks[0] & ~masks[1])
    ev = page_evidence(page, dict(zip(("low", "high"), masks)), both.keys)
    assert ev[("low", "high")] < -0.5


def test_full_square_closing_and_same_plane_overlap_to_the_front() -> None:
    slot = np.zeros((7, 9), bool)
    slot[1:6, 1:4] = slot[1:6, 5:8] = True
    slot[3, 4] = True
    assert not _morph(slot, "close", 1)[1, 4] and _morph(slot, "close", 1, square=True)[1, 4]
    chars = [{"id": "a", "body_box": list(LOW)}, {"id": "b", "body_box": list(HIGH)}]
    masks = [_mask(LOW), _mask(HIGH)]
    page = np.full((H, W), 255, np.uint8)
    same = ZBufferConfig(same_plane_tol=1.0)
    seam = isolate_page(
        page, chars, GivenMasks(masks), IsolationConfig(zbuffer=same, same_plane="seam"), panels=[[0, 0, W, H]]
    )
    front = isolate_page(
        page, chars, GivenMasks(masks), IsolationConfig(zbuffer=same, same_plane="front"), panels=[[0, 0, W, H]]
    )
    overlap = masks[0] & masks[1]
    assert not (seam.masks["a"] | seam.masks["b"])[overlap].all()  # the ADR's seams leave the overlap to neither
    winner = front.order[0][0]
    assert front.masks[winner][overlap].all() and not front.masks[front.order[0][1]][overlap].any()


def test_by_default_the_evidence_reads_only_masks_marked_amodal() -> None:
    page = _draw([HIGH, LOW], fills=(150, 255))
    chars = [{"id": "low", "body_box": list(LOW)}, {"id": "high", "body_box": list(HIGH)}]
    masks = [_mask(LOW), _mask(HIGH)]
    visible = isolate_page(page, chars, GivenMasks(masks), panels=[[0, 0, W, H]])
    amodal = isolate_page(page, chars, GivenMasks(masks, amodal=True), panels=[[0, 0, W, H]])
    assert visible.order[0] == ["low", "high"] and visible.keys["low"].d_adr is None  # the key alone
    assert amodal.order[0] == ["high", "low"] and amodal.keys["low"].d_adr is not None


def test_a_grey_coat_over_black_trousers_is_read_from_its_fill() -> None:
    a, b = _mask(LOW), _mask(HIGH)
    page = _draw([LOW, HIGH], fills=(70, 0))  # black outlines on black paint: no line to see
    off = dataclasses.replace(EvidenceConfig(), overlap_t=0.0)
    assert abs(pair_evidence(page, a, b, off)[0]) < off.threshold  # the outlines say nothing
    t, n = overlap_test(page, a, b)
    assert t > 3 and n > 100
    assert pair_evidence(page, a, b)[0] == EvidenceConfig().overlap_e  # so the overlap test decides
    swapped = _draw([HIGH, LOW], fills=(70, 0))  # the other one drawn in front, grey over black
    assert overlap_test(swapped, a, b)[0] < -3
    assert pair_evidence(swapped, a, b)[0] == -EvidenceConfig().overlap_e


def test_the_overlap_test_is_antisymmetric_and_silent_without_an_overlap() -> None:
    a, b = _mask(LOW), _mask(HIGH)
    page = _draw([LOW, HIGH], fills=(70, 0))
    assert overlap_test(page, b, a)[0] == -overlap_test(page, a, b)[0]
    assert overlap_test(page, a, _mask((100, 5, 110, 15))) == (0.0, 0)
    third = np.zeros_like(a)
    third[: a.shape[0] // 2 + 30] = True  # a third figure over the whole overlap: nothing left to read
    assert overlap_test(page, a, b, free=~third) == (0.0, 0)
