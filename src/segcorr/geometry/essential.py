"""Relative pose from matches: essential matrix by OpenCV RANSAC, recoverPose, and pose errors.

Conventions (as SuperGlue / LoFTR): ``K0, K1 [3, 3]`` intrinsics in pixels of the images the points live in;
``T_0to1 [4, 4]`` maps camera-0 coordinates to camera-1 coordinates (``X1 = R X0 + t``).
"""

from __future__ import annotations

import numpy as np

MIN_MATCHES_E = 5


def normalize_points(kpts: np.ndarray, K: np.ndarray) -> np.ndarray:
    """Pixel points ``[N, 2]`` -> normalised camera coordinates ``K^-1 (x, y, 1)`` (first two), float64 [N, 2]."""
    kpts = np.asarray(kpts, np.float64).reshape(-1, 2)
    K = np.asarray(K, np.float64)
    return (kpts - K[[0, 1], [2, 2]][None]) / K[[0, 1], [0, 1]][None]


def essential_from_pose(T_0to1: np.ndarray) -> np.ndarray:
    """``E = [t]x R`` of a relative pose ``[4, 4]``: ``x1n^T E x0n = 0`` for normalised points."""
    T = np.asarray(T_0to1, np.float64)
    t = T[:3, 3]
    tx = np.array([[0, -t[2], t[1]], [t[2], 0, -t[0]], [-t[1], t[0], 0]])
    return tx @ T[:3, :3]


def symmetric_epipolar_distance(
    kpts0: np.ndarray, kpts1: np.ndarray, E: np.ndarray, K0: np.ndarray, K1: np.ndarray
) -> np.ndarray:
    """Squared symmetric epipolar distance in normalised coordinates (SuperGlue's ``compute_epipolar_error``).

    ``d = (x1^T E x0)^2 (1/(Ex0_1^2 + Ex0_2^2) + 1/(E^Tx1_1^2 + E^Tx1_2^2))``, float64 [N].
    """
    p0 = normalize_points(kpts0, K0)
    p1 = normalize_points(kpts1, K1)
    p0 = np.concatenate([p0, np.ones((len(p0), 1))], axis=1)
    p1 = np.concatenate([p1, np.ones((len(p1), 1))], axis=1)
    Ep0 = p0 @ E.T
    Etp1 = p1 @ E
    d = np.sum(p1 * Ep0, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return d**2 * (1.0 / (Ep0[:, 0] ** 2 + Ep0[:, 1] ** 2) + 1.0 / (Etp1[:, 0] ** 2 + Etp1[:, 1] ** 2))


def estimate_pose(
    kpts0: np.ndarray,
    kpts1: np.ndarray,
    K0: np.ndarray,
    K1: np.ndarray,
    threshold_px: float = 0.5,
    confidence: float = 0.99999,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """Relative pose from pixel matches ``[N, 2]``: ``(E [3, 3], R [3, 3], t [3] unit, inliers bool [N])``.

    RANSAC runs on normalised points with threshold ``threshold_px / mean focal`` (SuperGlue's rule); when
    OpenCV returns several stacked solutions, the one with most cheirality inliers wins. None when fewer than
    5 matches or no solution (also when OpenCV's solver raises on degenerate points: a failed estimate).
    """
    import cv2

    kpts0 = np.asarray(kpts0, np.float64).reshape(-1, 2)
    kpts1 = np.asarray(kpts1, np.float64).reshape(-1, 2)
    if len(kpts0) < MIN_MATCHES_E:
        return None
    K0 = np.asarray(K0, np.float64)
    K1 = np.asarray(K1, np.float64)
    f_mean = np.mean([K0[0, 0], K1[1, 1], K0[0, 0], K1[1, 1]])
    n0, n1 = normalize_points(kpts0, K0), normalize_points(kpts1, K1)
    try:
        E, mask = cv2.findEssentialMat(
            n0, n1, np.eye(3), threshold=float(threshold_px / f_mean), prob=confidence, method=cv2.RANSAC
        )
    except cv2.error:  # OpenCV's five-point solver asserts on some degenerate samples (solvePoly)
        return None
    if E is None or mask is None:
        return None
    best, best_n = None, 0
    for _E in np.split(E, len(E) // 3):
        n, R, t, _ = cv2.recoverPose(_E, n0, n1, np.eye(3), 1e9, mask=mask.copy())
        if n > best_n:
            best, best_n = (_E, R, t.ravel(), mask.ravel() > 0), n
    return best


def angle_between(a: np.ndarray, b: np.ndarray) -> float:
    """Angle between two vectors in degrees (0..180); inf when one has zero length."""
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na == 0 or nb == 0:
        return float("inf")
    return float(np.rad2deg(np.arccos(np.clip(np.dot(a, b) / (na * nb), -1.0, 1.0))))


def rotation_angle(R: np.ndarray) -> float:
    """Rotation angle of ``R [3, 3]`` in degrees (0..180)."""
    cos = np.clip((np.trace(R) - 1.0) / 2.0, -1.0, 1.0)
    return float(np.rad2deg(np.abs(np.arccos(cos))))


def pose_error(T_0to1: np.ndarray, R: np.ndarray, t: np.ndarray) -> tuple[float, float]:
    """``(rotation error, translation-direction error)`` in degrees of an estimate against the truth.

    The translation error ignores the sign of ``t`` (``min(e, 180 - e)``), as SuperGlue does: an essential
    matrix fixes the direction only up to the cheirality choice.
    """
    T = np.asarray(T_0to1, np.float64)
    e_t = angle_between(T[:3, 3], np.asarray(t, np.float64).ravel())
    e_t = min(e_t, 180.0 - e_t) if np.isfinite(e_t) else e_t
    e_R = rotation_angle(T[:3, :3].T @ np.asarray(R, np.float64))
    return e_R, e_t
