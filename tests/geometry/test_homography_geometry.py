"""Homography helpers: warping, RANSAC fit, corner error, resize plan."""

from __future__ import annotations

import numpy as np

from segcorr.geometry import corner_error, estimate_homography, warp_grid, warp_points
from segcorr.geometry.homography import transfer_error
from segcorr.geometry.resize import points_to_original, resize_longer_side, resize_scale, scale_intrinsics

H_SHIFT = np.array([[1, 0, 5], [0, 1, -3], [0, 0, 1]], np.float64)


def test_warp_points_translation_and_projective():
    p = np.array([[0, 0], [10, 20]], np.float64)
    np.testing.assert_allclose(warp_points(H_SHIFT, p), [[5, -3], [15, 17]])
    H = np.array([[1, 0, 0], [0, 1, 0], [0.01, 0, 1]])
    np.testing.assert_allclose(warp_points(H, [[100, 50]]), [[50, 25]])


def test_warp_points_at_infinity_is_inf_not_nan():
    H = np.array([[1, 0, 0], [0, 1, 0], [-0.01, 0, 1]])
    out = warp_points(H, [[100, 0]])
    assert np.isinf(out).all()


def test_warp_grid_matches_pixel_grid():
    g = warp_grid(H_SHIFT, 3, 4)
    assert g.shape == (2, 3, 4)
    np.testing.assert_allclose(g[0, 2, 3], 3 + 5)
    np.testing.assert_allclose(g[1, 2, 3], 2 - 3)


def test_estimate_homography_recovers_truth_with_outliers():
    rng = np.random.default_rng(0)
    H = np.array([[0.9, 0.1, 12], [-0.05, 1.1, 4], [1e-4, 2e-4, 1]])
    p0 = rng.uniform(0, 200, (100, 2))
    p1 = warp_points(H, p0)
    p1[:30] = rng.uniform(0, 200, (30, 2))  # 30 % outliers
    H_est, inl = estimate_homography(p0, p1, threshold=3.0)
    assert H_est is not None
    assert corner_error(H_est, H, 200, 200) < 1e-3
    assert inl[30:].all() and inl[:30].sum() <= 2


def test_estimate_homography_too_few_matches_is_none():
    H, inl = estimate_homography(np.zeros((3, 2)), np.zeros((3, 2)))
    assert H is None and inl.shape == (3,) and not inl.any()


def test_corner_error_known_values():
    assert corner_error(np.eye(3), np.eye(3), 10, 20) == 0.0
    assert abs(corner_error(H_SHIFT, np.eye(3), 10, 20) - np.hypot(5, 3)) < 1e-12
    assert corner_error(None, np.eye(3), 10, 20) == float("inf")


def test_transfer_error():
    e = transfer_error(H_SHIFT, [[0, 0], [1, 1]], [[5, -3], [6, 0]])
    np.testing.assert_allclose(e, [0, 2])


def test_resize_plan_round_trip_and_intrinsics():
    img = np.zeros((100, 200), np.uint8)
    small, sx, sy = resize_longer_side(img, 50)
    assert small.shape == (25, 50) and sx == sy == 0.25
    assert resize_scale(100, 200, None) == (100, 200, 1.0, 1.0)
    p = np.array([[10.0, 20.0]])
    p_small = np.array([[(10 + 0.5) * sx - 0.5, (20 + 0.5) * sy - 0.5]])
    np.testing.assert_allclose(points_to_original(p_small, sx, sy), p, atol=1e-5)
    K = np.array([[100, 0, 99.5], [0, 100, 49.5], [0, 0, 1.0]])
    Ks = scale_intrinsics(K, sx, sy)
    np.testing.assert_allclose(Ks, [[25, 0, 24.5], [0, 25, 12], [0, 0, 1]])
