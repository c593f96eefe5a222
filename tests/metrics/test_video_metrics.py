"""Video metrics on small arrays with answers worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from segcorr.metrics.video import ObjectScores, boundary_f, mask_boundary, region_j, st_iou


def _rect(h, w, y0, y1, x0, x1):
    m = np.zeros((h, w), bool)
    m[y0:y1, x0:x1] = True
    return m


def test_region_j_known_values_and_empty_convention():
    a = _rect(10, 10, 0, 4, 0, 4)  # 16 px
    b = _rect(10, 10, 2, 6, 2, 6)  # 16 px, overlap 4
    assert region_j(a, b) == pytest.approx(4 / 28)
    assert region_j(a, a) == 1.0
    empty = np.zeros((10, 10), bool)
    assert region_j(empty, empty) == 1.0
    assert region_j(a, empty) == 0.0 and region_j(empty, a) == 0.0
    with pytest.raises(ValueError, match="shape"):
        region_j(a, np.zeros((5, 5), bool))


def test_mask_boundary_is_one_pixel_ring_and_counts_the_image_border():
    m = _rect(7, 7, 1, 6, 1, 6)  # 5x5 square: ring of 16 px, inner 3x3 not boundary
    b = mask_boundary(m)
    assert b.sum() == 16 and not b[2:5, 2:5].any() and b[1, 1:6].all()
    full = np.ones((4, 4), bool)
    assert mask_boundary(full).sum() == 12  # the image border is outside
    assert mask_boundary(np.zeros((4, 4), bool)).sum() == 0


def _brute_f(pred, gt, r):
    """Reference: a boundary pixel counts when one of the other's lies within Euclidean distance r."""
    pb, gb = np.argwhere(mask_boundary(pred)), np.argwhere(mask_boundary(gt))
    d = np.sqrt(((pb[:, None] - gb[None]) ** 2).sum(-1))
    p, rc = (d.min(1) <= r).mean(), (d.min(0) <= r).mean()
    return 2 * p * rc / (p + rc)


def test_boundary_f_perfect_shifted_and_empty():
    gt = _rect(40, 40, 10, 30, 10, 30)
    assert boundary_f(gt, gt) == 1.0
    shifted = np.roll(gt, 1, axis=1)
    assert boundary_f(shifted, gt, bound_th=1) == 1.0  # within one pixel of tolerance
    assert boundary_f(np.roll(gt, 2, axis=1), gt, bound_th=0.5 / np.hypot(40, 40)) < 1.0  # fraction -> 1 px
    far = np.roll(gt, 8, axis=1)
    assert boundary_f(far, gt, bound_th=1) == pytest.approx(_brute_f(far, gt, 1.0), abs=1e-9)
    assert 0.2 < boundary_f(far, gt, bound_th=1) < 0.6
    empty = np.zeros_like(gt)
    assert boundary_f(empty, empty) == 1.0
    assert boundary_f(gt, empty) == 0.0 and boundary_f(empty, gt) == 0.0


def test_boundary_f_tolerance_default_is_fraction_of_diagonal():
    gt = _rect(100, 100, 20, 80, 20, 80)
    # diagonal 141.4 -> radius ceil(1.13) = 2 px: a 2 px shift is still perfect, a 3 px shift is not
    assert boundary_f(np.roll(gt, 2, axis=0), gt) == 1.0
    assert boundary_f(np.roll(gt, 3, axis=0), gt) < 1.0


def test_st_iou_sums_over_frames_not_mean_of_frames():
    gt = np.zeros((2, 10, 10), bool)
    pred = np.zeros((2, 10, 10), bool)
    gt[0, :5, :5] = True  # 25 px, predicted exactly
    pred[0, :5, :5] = True
    gt[1, 0, 0] = True  # 1 px, missed
    assert st_iou(pred, gt) == pytest.approx(25 / 26)  # the mean of per-frame IoUs would be 0.5
    assert st_iou(np.zeros_like(gt), np.zeros_like(gt)) == 1.0
    assert st_iou(pred, np.zeros_like(gt)) == 0.0


def test_object_scores_accumulate_like_the_functions():
    rng = np.random.default_rng(0)
    preds = rng.random((4, 12, 12)) > 0.5
    gts = rng.random((4, 12, 12)) > 0.5
    gts[2] = False
    preds[2] = False  # a correctly absent frame
    acc = ObjectScores()
    assert acc.j is None and acc.f is None and acc.st_iou is None
    for p, g in zip(preds, gts):
        acc.add(p, g)
    assert acc.j == pytest.approx(np.mean([region_j(p, g) for p, g in zip(preds, gts)]))
    assert acc.f == pytest.approx(np.mean([boundary_f(p, g) for p, g in zip(preds, gts)]))
    assert acc.st_iou == pytest.approx(st_iou(preds, gts))
