"""Flow metrics: EPE subsets, speed bins, outlier rates, pixel averaging, segment boundaries."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from segcorr.metrics.flow import (
    FLOW_KEYS,
    FlowMetricAccumulator,
    boundary,
    flow_metrics,
    line_mask_from_segments,
    motion_boundary,
)


def _const(h: int, w: int, u: float, v: float) -> np.ndarray:
    f = np.empty((2, h, w), np.float32)
    f[0], f[1] = u, v
    return f


def test_perfect_prediction_scores_zero_and_unknown_subsets_are_none():
    gt = _const(4, 5, 1.5, -2.0)
    r = flow_metrics(gt, gt)
    assert set(r) == set(FLOW_KEYS)
    assert r["epe"] == 0 and r["px1"] == 0 and r["px5"] == 0
    for k in ("epe_noc", "epe_occ", "epe_line", "epe_flat", "epe_mb", "epe_s10_50", "epe_s50_inf"):
        assert r[k] is None, k
    assert r["epe_s0_10"] == 0


def test_constant_error_3_4_gives_epe_5_and_strict_outlier_thresholds():
    gt = _const(3, 3, 0, 0)
    r = flow_metrics(gt + _const(3, 3, 3, 4), gt)
    assert r["epe"] == pytest.approx(5)
    assert r["px1"] == 1 and r["px3"] == 1 and r["px5"] == 0  # EPE > 5 is an outlier, EPE == 5 is not


def test_occlusion_and_line_split_pixels():
    gt = _const(2, 2, 0, 0)
    pred = gt.copy()
    pred[0] = [[1, 2], [3, 4]]
    occ = np.array([[True, False], [False, False]])
    line = np.array([[False, True], [True, False]])
    r = flow_metrics(pred, gt, occ=occ, line=line)
    assert r["epe_occ"] == pytest.approx(1)
    assert r["epe_noc"] == pytest.approx(3)
    assert r["epe_line"] == pytest.approx(2.5)
    assert r["epe_flat"] == pytest.approx(2.5)


def test_speed_bins_follow_gt_magnitude_with_upper_bounds_inclusive():
    gt = np.zeros((2, 1, 4), np.float32)
    gt[0] = [[10, 30, 50, 60]]  # 10 -> s0_10, 30 and 50 -> s10_50, 60 -> s50_inf
    pred = gt.copy()
    pred[1] = [[1, 2, 4, 8]]
    r = flow_metrics(pred, gt)
    assert r["epe_s0_10"] == pytest.approx(1)
    assert r["epe_s10_50"] == pytest.approx(3)
    assert r["epe_s50_inf"] == pytest.approx(8)


def test_invalid_and_unknown_gt_pixels_are_ignored():
    gt = _const(1, 3, 0, 0)
    gt[0, 0, 2] = 1e10  # Middlebury 'unknown'
    pred = _const(1, 3, 2, 0)
    r = flow_metrics(pred, gt, valid=np.array([[True, False, True]]))
    assert r["epe"] == pytest.approx(2)  # only pixel 0 counts
    assert FlowMetricAccumulator().result()["epe"] is None


def test_set_figures_are_pixel_averaged_not_pair_averaged():
    acc = FlowMetricAccumulator()
    acc.update(_const(1, 1, 10, 0), _const(1, 1, 0, 0))  # 1 pixel, EPE 10
    acc.update(_const(3, 3, 1, 0), _const(3, 3, 0, 0))  # 9 pixels, EPE 1
    assert acc.result()["epe"] == pytest.approx((10 + 9) / 10)
    assert acc.pairs == 2 and acc.counts()["epe"] == 10


def test_occlusion_known_for_some_pairs_only_counts_those_pairs():
    acc = FlowMetricAccumulator()
    acc.update(_const(2, 2, 4, 0), _const(2, 2, 0, 0))
    acc.update(_const(2, 2, 1, 0), _const(2, 2, 0, 0), occ=np.zeros((2, 2), bool))
    r = acc.result()
    assert r["epe_noc"] == pytest.approx(1) and r["epe_occ"] is None
    assert r["epe"] == pytest.approx(2.5)


def test_shape_mismatch_raises():
    with pytest.raises(ValueError):
        flow_metrics(_const(2, 2, 0, 0), _const(2, 3, 0, 0))
    with pytest.raises(ValueError, match="occ"):
        flow_metrics(_const(2, 2, 0, 0), _const(2, 2, 0, 0), occ=np.zeros((3, 2), bool))


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 5), st.integers(1, 6), st.integers(1, 6), st.integers(0, 2**31 - 1))
def test_accumulating_row_blocks_equals_one_update_of_the_stack(cut, h, w, seed):
    rng = np.random.default_rng(seed)
    n = cut + h
    gt = rng.normal(0, 30, (2, n, w)).astype(np.float32)
    pred = gt + rng.normal(0, 4, gt.shape).astype(np.float32)
    occ = rng.random((n, w)) < 0.3
    line = rng.random((n, w)) < 0.3
    acc = FlowMetricAccumulator()
    acc.update(pred[:, :cut], gt[:, :cut], occ=occ[:cut], line=line[:cut])
    acc.update(pred[:, cut:], gt[:, cut:], occ=occ[cut:], line=line[cut:])
    whole = flow_metrics(pred, gt, occ=occ, line=line)
    for k, v in acc.result().items():
        if k == "epe_mb":  # a neighbourhood subset: the jump across the cut exists only in the whole stack
            continue
        assert (v is None) == (whole[k] is None), k
        if v is not None:
            assert v == pytest.approx(whole[k], rel=1e-9, abs=1e-12), k


def test_boundary_marks_both_sides_of_a_label_change():
    seg = np.zeros((4, 8), np.int32)
    seg[:, 4:] = 2
    b = boundary(seg)
    assert b[:, 3].all() and b[:, 4].all()
    assert b.sum() == 8
    assert not boundary(np.ones((3, 3), np.int32)).any()


def test_line_mask_from_segments_is_within_radius_of_a_boundary():
    seg = np.zeros((5, 12), np.int32)
    seg[:, 6:] = 1  # boundary columns 5 and 6
    m = line_mask_from_segments(seg, radius=2)
    assert m[:, 3:9].all()
    assert not m[:, :3].any() and not m[:, 9:].any()
    assert not line_mask_from_segments(np.full((4, 4), 3), radius=2).any()


def test_motion_boundary_marks_jumps_not_smooth_motion():
    gt = np.zeros((2, 6, 20), np.float32)
    gt[0, :, 10:] = 3.0  # a 3 px jump between columns 9 and 10
    mb = motion_boundary(gt)
    assert mb[:, 7:13].all() and not mb[:, :7].any() and not mb[:, 13:].any()  # columns 9, 10 +- 2 px
    yy, xx = np.mgrid[0:6, 0:20].astype(np.float32)
    zoom = np.stack([0.05 * (xx - 10), 0.05 * (yy - 3)])  # 5 % zoom: 0.05 px between neighbours
    assert not motion_boundary(zoom).any()
    valid = np.ones((6, 20), bool)
    valid[:, 10] = False  # the jump sits next to unknown GT: not a boundary of known motion
    gt[0, :, 11:] = 3.0
    gt[0, :, 10] = 1e3
    assert not motion_boundary(gt, valid).any()


def test_motion_boundary_epe_averages_the_pixels_near_the_jump():
    gt = np.zeros((2, 4, 20), np.float32)
    gt[0, :, 10:] = 3.0
    pred = gt.copy()
    pred[1, :, 7:13] = 2.0  # wrong only near the jump
    r = flow_metrics(pred, gt)
    assert r["epe_mb"] == pytest.approx(2.0)
    assert r["epe"] == pytest.approx(2.0 * 6 / 20)
