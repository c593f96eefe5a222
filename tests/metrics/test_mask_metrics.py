"""Mask metrics on small arrays with known answers."""

import numpy as np
import pytest

from segcorr.metrics.masks import (
    coco_mask_ap,
    f1_score,
    instance_counts,
    mask_iou,
    match_instances,
    matthews_corrcoef,
    pairwise_iou,
)


def _box(h, w, r0, r1, c0, c1):
    m = np.zeros((h, w), bool)
    m[r0:r1, c0:c1] = True
    return m


def test_mask_iou_known_values():
    a, b = _box(8, 8, 0, 4, 0, 4), _box(8, 8, 0, 4, 2, 6)  # 16 px each, 8 shared
    assert mask_iou(a, b) == pytest.approx(8 / 24)
    assert mask_iou(a, a) == 1.0 and mask_iou(a, ~a) == 0.0
    assert mask_iou(np.zeros((3, 3), bool), np.zeros((3, 3), bool)) == 1.0
    with pytest.raises(ValueError):
        mask_iou(a, a[:4])


def test_pairwise_iou_matches_mask_iou():
    rng = np.random.default_rng(0)
    pred, gt = rng.random((3, 10, 12)) > 0.5, rng.random((4, 10, 12)) > 0.6
    m = pairwise_iou(pred, gt)
    assert m.shape == (3, 4)
    for i in range(3):
        for j in range(4):
            assert m[i, j] == pytest.approx(mask_iou(pred[i], gt[j]))
    assert pairwise_iou(pred[:0], gt).shape == (0, 4)


def test_matching_is_one_to_one_and_maximises_pairs():
    # pred 0 overlaps both gts above 0.5 (best with gt 0), pred 1 only gt 0: greedy by IoU gets 1 pair,
    # the optimum gets 2.
    iou = np.array([[0.9, 0.6], [0.7, 0.0]])
    assert sorted(match_instances(iou)) == [(0, 1), (1, 0)]
    assert match_instances(np.array([[0.49]])) == []
    assert match_instances(np.zeros((0, 2))) == []
    dup = np.array([[0.8], [0.8]])  # two predictions of one instance: one match, one false positive
    assert len(match_instances(dup)) == 1


def test_instance_counts_and_f1():
    g = np.stack([_box(16, 16, 0, 8, 0, 8), _box(16, 16, 8, 16, 8, 16)])
    assert instance_counts(g, g) == (2, 0, 0)
    assert instance_counts(g[:1], g) == (1, 0, 1)
    assert instance_counts(np.stack([g[0], g[0]]), g) == (1, 1, 1)
    assert instance_counts(g, g[:0]) == (0, 2, 0)  # predictions on a negative query
    assert f1_score(2, 0, 0) == 1.0 and f1_score(0, 3, 2) == 0.0
    assert f1_score(1, 1, 1) == pytest.approx(0.5)
    assert f1_score(0, 0, 0) is None


def test_mcc_known_values():
    t = [True, True, False, False]
    assert matthews_corrcoef(t, t) == 1.0
    assert matthews_corrcoef([not x for x in t], t) == -1.0
    assert matthews_corrcoef([True, False, True, False], t) == 0.0
    assert matthews_corrcoef([True] * 4, t) == 0.0  # constant prediction: 0/0 -> 0
    assert matthews_corrcoef([True] * 3, [True] * 3) == 1.0
    assert matthews_corrcoef([], []) is None
    p, tt = np.array([1, 1, 1, 0, 0, 1], bool), np.array([1, 1, 0, 0, 0, 0], bool)
    tp, tn, fp, fn = 2, 2, 2, 0
    assert matthews_corrcoef(p, tt) == pytest.approx((tp * tn - fp * fn) / np.sqrt(4 * 2 * 4 * 2))


def _queries():
    a, b = _box(32, 32, 0, 10, 0, 10), _box(32, 32, 16, 30, 12, 30)
    return [np.stack([a, b]), np.stack([b]), np.zeros((0, 32, 32), bool)]  # last: a negative query


def test_coco_ap_perfect_is_one_and_wrong_is_zero():
    gt = _queries()
    assert coco_mask_ap(gt, gt, [np.ones(len(g)) for g in gt]) == pytest.approx(1.0)
    wrong = [~g.any(0, keepdims=True) if len(g) else g for g in gt]  # complements: IoU < 0.5
    assert coco_mask_ap(gt, wrong, [np.ones(len(w)) for w in wrong]) == 0.0
    assert coco_mask_ap(gt, [g[:0] for g in gt], [np.zeros(0)] * 3) == 0.0  # no predictions
    assert coco_mask_ap([gt[2]], [gt[2]], [np.zeros(0)]) is None  # no true instance anywhere


def test_coco_ap_penalises_confident_false_positives_on_negatives():
    gt = _queries()
    fp = _box(32, 32, 0, 20, 0, 20)[None]
    dt = [gt[0], gt[1], fp]
    high = coco_mask_ap(gt, dt, [np.full(2, 0.5), np.full(1, 0.5), np.full(1, 0.9)])
    low = coco_mask_ap(gt, dt, [np.full(2, 0.5), np.full(1, 0.5), np.full(1, 0.1)])
    assert low == pytest.approx(1.0) and high < 0.9


def test_coco_ap_half_found():
    gt = _queries()
    dt = [gt[0][:1], gt[1][:0], gt[2]]  # 1 of 3 instances found, nothing wrong
    ap = coco_mask_ap(gt, dt, [np.ones(1), np.zeros(0), np.zeros(0)])
    assert ap == pytest.approx(1 / 3, abs=0.01)  # precision 1 up to recall 1/3 (COCO's 101-point interpolation)
