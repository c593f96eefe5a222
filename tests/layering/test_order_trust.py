"""How far the page's key is trusted: the size key where it explains the evidence better than the fitted key,
and weak overlap tests deciding the pairs without evidence only where the key orders the evidence badly."""

from __future__ import annotations

import dataclasses

import numpy as np

from segcorr.layering.evidence import EvidenceConfig, page_readings, pair_reading
from segcorr.layering.order import calibrate_keys, key_agreement, page_order, size_keys
from segcorr.layering.overlap import overlap_test
from segcorr.layering.zbuffer import DepthKey

WEIGHTS = (0.4, 0.3, 0.2, 0.1)


def _key(cid, d, y=0.0, area=0.0) -> DepthKey:
    return DepthKey(cid, 0, d, y, area, "body", None, 0.0)


def _front_first(keys: dict) -> list:
    return [c for c, _ in sorted(keys.items(), key=lambda kv: kv[1].d)]


def test_key_agreement_counts_the_evidence_pairs_the_key_orders_right() -> None:
    keys = {"a": _key("a", 0.1), "b": _key("b", 0.2), "c": _key("c", 0.3)}
    ev = {("a", "b"): 0.9, ("c", "b"): 0.9, ("a", "c"): 0.05}  # right, wrong, below the threshold
    assert key_agreement(keys, ev, 0.1, prior=0.75, pairs=1.0) == (1 + 0.75) / 3
    assert key_agreement(keys, {}, 0.1) == 0.75  # no evidence: the prior


def test_the_size_key_replaces_a_fitted_key_that_misorders_the_evidence() -> None:
    ys, areas = (0.0, 0.25, 1.0, 0.25), (0.0, 1.0, 0.75, 0.25)  # the page: nearer = larger, height says little
    keys = {c: _key(c, 0.5, y, a) for c, y, a in zip("abcd", ys, areas)}
    ev = {("a", "b"): 0.9, ("b", "c"): -0.9, ("c", "d"): -0.9}
    fitted = calibrate_keys(keys, ev, WEIGHTS, 0.1)
    assert fitted["b"].d < fitted["c"].d  # the fit keeps some height and puts b before c, against the evidence
    assert _front_first(size_keys(keys)) == ["a", "d", "c", "b"]
    no_evidence_pairs = {("a", "d"): 0.0}  # a pair the key alone orders
    cfg = dataclasses.replace(EvidenceConfig(), overlap_t_weak=0.0)
    with_size = page_order(keys, {**ev, **no_evidence_pairs}, {}, WEIGHTS, cfg)
    without = page_order(keys, ev, {}, WEIGHTS, dataclasses.replace(cfg, size_key=False))
    assert _front_first(with_size) == ["a", "d", "c", "b"]
    assert without["c"].d < without["b"].d  # the evidence still orders its own pairs without the size key


def test_weak_overlap_tests_decide_only_where_the_key_is_unreliable() -> None:
    keys = {c: _key(c, d) for c, d in zip("abcd", (0.1, 0.2, 0.3, 0.4))}
    cfg = dataclasses.replace(EvidenceConfig(), calibrate=False)
    weak = {("c", "a"): 2.0, ("d", "b"): 1.0}  # c over a: t 2 (>= 1.5); d over b: t 1, too weak to count
    against = {("b", "a"): 0.9, ("d", "c"): 0.9}  # the page contradicts the key: agreement 0.25
    order = _front_first(page_order(keys, against, weak, WEIGHTS, cfg))
    assert order.index("c") < order.index("a") and order.index("b") < order.index("d")
    along = {("a", "b"): 0.9, ("c", "d"): 0.9}  # the page agrees with the key: agreement 0.92 >= 0.85
    assert _front_first(page_order(keys, along, weak, WEIGHTS, cfg)) == ["a", "b", "c", "d"]
    off = dataclasses.replace(cfg, overlap_t_weak=0.0)
    assert _front_first(page_order(keys, against, weak, WEIGHTS, off)).index("a") < 2  # off: the key orders a, c


def test_readings_keep_the_overlap_tests_t_of_pairs_without_evidence() -> None:
    h, w = 60, 80
    a, b = np.zeros((h, w), bool), np.zeros((h, w), bool)
    a[10:50, 10:44], b[10:50, 40:70] = True, True  # a 4 px wide overlap
    page = np.full((h, w), 255, np.uint8)
    page[10:50, 40:70] = 40  # b's dark paint; a: white with a 1 px outline, drawn over b's paint
    page[10:50, 10:44] = 255
    page[10, 10:44] = page[49, 10:44] = page[10:50, 10] = page[10:50, 43] = 0
    t, n = overlap_test(page, a, b)
    assert t > 1.5 and n > 0
    no_outlines = dataclasses.replace(EvidenceConfig(), min_overlap=10**6)  # as for an overlap of a few px
    weak_cfg = dataclasses.replace(no_outlines, overlap_t=t + 1)  # the test is not strong enough to decide
    e, _, _, t_read = pair_reading(page, a, b, weak_cfg)
    assert e == 0.0 and t_read == t
    keys = {"a": _key("a", 0.1), "b": _key("b", 0.2)}
    assert page_readings(page, {"a": a, "b": b}, keys, weak_cfg) == ({}, {("a", "b"): t})
    strong_cfg = dataclasses.replace(no_outlines, overlap_t=t - 0.5)  # strong enough: it decides, nothing weak left
    assert page_readings(page, {"a": a, "b": b}, keys, strong_cfg) == ({("a", "b"): no_outlines.overlap_e}, {})


def test_the_size_key_orders_where_the_page_says_height_means_little() -> None:
    cfg = dataclasses.replace(EvidenceConfig(), overlap_t_weak=0.0)
    areas = (0.0, 0.2, 0.4, 0.6)  # size: a, b, c, d
    ev = {("a", "b"): 0.9, ("c", "d"): 0.9, ("a", "d"): 0.9}  # b and c: no evidence, no chain between them
    mixed = {c: _key(c, 0.5, y, a) for c, y, a in zip("abcd", (0.0, 1.0, 0.5, 0.3), areas)}  # height right on 2 of 3
    assert calibrate_keys(mixed, ev, WEIGHTS, 0.1)["c"].d < calibrate_keys(mixed, ev, WEIGHTS, 0.1)["b"].d
    assert _front_first(page_order(mixed, ev, {}, WEIGHTS, cfg)) == ["a", "b", "c", "d"]  # (2 + 0.75) / 4 <= 0.75
    ground = {c: _key(c, 0.5, y, a) for c, y, a in zip("abcd", (0.0, 1.0, 0.5, 0.6), areas)}  # height right on 3
    trusted = page_order(ground, ev, {}, WEIGHTS, cfg)
    assert trusted["c"].d < trusted["b"].d  # the fitted key, height included, orders b and c
    off = dataclasses.replace(cfg, height_trust=0.0)
    assert page_order(mixed, ev, {}, WEIGHTS, off)["c"].d < page_order(mixed, ev, {}, WEIGHTS, off)["b"].d
    none = page_order(mixed, {}, {}, WEIGHTS, cfg)  # no evidence pair: the key as it is
    assert [none[c].d for c in "abcd"] == [0.5, 0.5 + 1e-6, 0.5 + 2e-6, 0.5 + 3e-6]
