"""Fitting the phrase configuration on validation records: the replay counts as the protocol does, the presence
fit finds the colour evidence, the query grid finds the F1-best bias."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from segcorr.segment.concept_fit import PhraseRecord, fit_presence, fit_queries, logistic, replay
from segcorr.segment.concept_refine import ConceptConfig


def _record(ql, pl, ious, shares=None, masks=None):
    ql = np.asarray(ql, np.float32)
    q = len(ql)
    if masks is None:  # disjoint stride-4 masks, one cell each
        masks = np.zeros((q, 1, q), bool)
        masks[np.arange(q), 0, np.arange(q)] = True
    iou = np.asarray(ious, np.float64).reshape(q, -1)
    return PhraseRecord(ql, float(pl), masks, None if shares is None else np.asarray(shares), iou, np.zeros(q, bool))


def test_replay_counts_matches_false_positives_and_presence():
    cfg = ConceptConfig(query_scale=1.0, query_bias=0.0, presence_scale=1.0, presence_bias=0.0, nms_iou=0.5)
    pos = _record([5.0, 5.0, -5.0], 5.0, [[0.9], [0.2], [0.95]])  # kept: q0 (match), q1 (miss); q2 scores too low
    neg = _record([5.0], 5.0, np.zeros((1, 0)))  # absent phrase said present, its instance is a false positive
    r = replay([pos, neg], cfg)
    assert (r["tp"], r["fp"], r["fn"]) == (1, 2, 0)
    assert r["cf1"] == pytest.approx(2 / 4)
    assert r["il_mcc"] == 0.0  # both said present, one is absent
    dup = _record([5.0, 4.0], 5.0, [[0.9], [0.9]], masks=np.ones((2, 1, 2), bool))  # same mask twice: suppressed
    assert (replay([dup], cfg)["tp"], replay([dup], cfg)["fp"]) == (1, 0)


def test_logistic_separates_and_fit_presence_uses_the_colour_share():
    rng = np.random.default_rng(0)
    recs = []
    for k in range(40):  # colour phrases: presence logit uninformative, the share says it
        present = k % 2 == 0
        share = 0.8 if present else 0.05
        ious = np.full((2, 1), 0.9) if present else np.zeros((2, 0))
        recs.append(_record([0.0, -1.0], float(rng.normal()), ious, shares=[share, share]))
    base = ConceptConfig()
    fitted = fit_presence(recs, base)
    assert fitted.colour_presence_weight > 2.0
    assert replay(recs, fitted)["il_mcc"] == pytest.approx(1.0)
    plain = fit_presence(recs, base, colour=False)
    assert plain.colour_presence_weight == 0.0 and plain.colour_presence_bias == 0.0
    assert replay(recs, plain)["il_mcc"] < 0.5
    w = logistic(np.array([[1.0, 1.0], [-1.0, 1.0], [2.0, 1.0], [-2.0, 1.0]]), np.array([1.0, 0.0, 1.0, 0.0]))
    assert w[0] > 0


def test_fit_queries_picks_the_f1_best_bias():
    # matches have query logit 1, misses -1, presence certain: a bias that keeps only the matches is best
    recs = [_record([1.0, -1.0], 20.0, [[0.9], [0.0]]) for _ in range(3)]
    cfg = dataclasses.replace(ConceptConfig(), presence_scale=1.0, presence_bias=0.0)
    best, f1 = fit_queries(recs, cfg, scales=(1.0,), biases=(-2.0, 0.0, 2.0))
    assert (best.query_scale, best.query_bias) == (1.0, 0.0) and f1 == pytest.approx(1.0)
    _, f1_all = fit_queries(recs, cfg, scales=(1.0,), biases=(2.0,))
    assert f1_all == pytest.approx(2 * 3 / (2 * 3 + 3))
