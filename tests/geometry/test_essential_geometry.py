"""Relative pose: essential matrix fit, pose errors, epipolar distance."""

from __future__ import annotations

import numpy as np

from segcorr.geometry import (
    essential_from_pose,
    estimate_pose,
    normalize_points,
    pose_error,
    rotation_angle,
    symmetric_epipolar_distance,
)

K = np.array([[300.0, 0, 160], [0, 300.0, 120], [0, 0, 1]])


def rot_y(deg: float) -> np.ndarray:
    a = np.deg2rad(deg)
    return np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])


def pose(R: np.ndarray, t) -> np.ndarray:
    T = np.eye(4)
    T[:3, :3], T[:3, 3] = R, t
    return T


def project(X: np.ndarray, T: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    X1 = X @ T[:3, :3].T + T[:3, 3]
    p0 = X @ K.T
    p1 = X1 @ K.T
    return p0[:, :2] / p0[:, 2:], p1[:, :2] / p1[:, 2:]


def scene(n: int = 200, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.stack([rng.uniform(-2, 2, n), rng.uniform(-1.5, 1.5, n), rng.uniform(4, 8, n)], axis=1)


def test_rotation_angle_known():
    assert abs(rotation_angle(rot_y(30)) - 30) < 1e-9
    assert rotation_angle(np.eye(3)) == 0.0


def test_pose_error_known_rotation_and_sign_invariant_translation():
    T = pose(np.eye(3), [1, 0, 0])
    e_R, e_t = pose_error(T, rot_y(7), np.array([-1.0, 0, 0]))  # flipped direction counts as 0
    assert abs(e_R - 7) < 1e-9 and e_t < 1e-6
    _, e_t = pose_error(T, np.eye(3), np.array([1.0, 1.0, 0]))
    assert abs(e_t - 45) < 1e-9


def test_estimate_pose_recovers_truth_with_outliers():
    T = pose(rot_y(10), [0.5, 0.05, 0.1])
    p0, p1 = project(scene(), T)
    rng = np.random.default_rng(1)
    p1[:40] = rng.uniform(0, 320, (40, 2))
    est = estimate_pose(p0, p1, K, K, threshold_px=0.5)
    assert est is not None
    _E, R, t, inl = est
    e_R, e_t = pose_error(T, R, t)
    assert e_R < 0.1 and e_t < 0.5
    assert inl[40:].mean() > 0.95


def test_estimate_pose_too_few_is_none():
    assert estimate_pose(np.zeros((4, 2)), np.zeros((4, 2)), K, K) is None


def test_epipolar_distance_zero_for_true_matches_large_for_wrong():
    T = pose(rot_y(5), [1, 0, 0])
    p0, p1 = project(scene(20), T)
    d = symmetric_epipolar_distance(p0, p1, essential_from_pose(T), K, K)
    assert d.max() < 1e-12
    p1_bad = p1 + np.array([0, 20.0])  # vertical shift leaves the horizontal epipolar lines
    assert symmetric_epipolar_distance(p0, p1_bad, essential_from_pose(T), K, K).min() > 5e-4


def test_normalize_points():
    np.testing.assert_allclose(normalize_points([[160, 120], [460, 120]], K), [[0, 0], [1, 0]])


def test_estimate_pose_without_motion_is_none_not_an_opencv_error():
    """Identical points (no camera motion: the essential matrix is undefined) make OpenCV's five-point solver
    assert (solvePoly); that is a failed estimate, not a crash of the whole evaluation."""
    p = np.random.default_rng(0).uniform(0, 320, (30, 2))
    for _ in range(3):
        assert estimate_pose(p, p.copy(), K, K) is None
