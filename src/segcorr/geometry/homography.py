"""Homography estimation (OpenCV RANSAC), point warping and the corner error of an estimate.

Every coordinate is in pixels of the image it belongs to; ``H`` maps img0 points ``(x, y, 1)`` to img1.
"""

from __future__ import annotations

import numpy as np

MIN_MATCHES_H = 4


def warp_points(H: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Apply the homography ``H [3, 3]`` to ``pts [N, 2]``; returns ``float64 [N, 2]``.

    Points mapped to infinity (w == 0) come back as inf, never as a division warning.
    """
    pts = np.asarray(pts, np.float64).reshape(-1, 2)
    h = np.concatenate([pts, np.ones((len(pts), 1))], axis=1) @ np.asarray(H, np.float64).T
    w = h[:, 2:3]
    with np.errstate(divide="ignore", invalid="ignore"):
        out = h[:, :2] / w
    out[~np.isfinite(out).all(axis=1)] = np.inf
    return out


def warp_grid(H: np.ndarray, height: int, width: int) -> np.ndarray:
    """Where each pixel centre ``(x, y)`` of an ``height x width`` image lands under ``H``: ``float64 [2, H, W]``."""
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float64)
    pts = warp_points(H, np.stack([xs.ravel(), ys.ravel()], axis=1))
    return pts.T.reshape(2, height, width)


def estimate_homography(
    kpts0: np.ndarray, kpts1: np.ndarray, threshold: float = 3.0, confidence: float = 0.99999, max_iters: int = 10000
) -> tuple[np.ndarray | None, np.ndarray]:
    """Fit ``H`` (img0 -> img1) to matches ``kpts0/kpts1 [N, 2]`` with OpenCV RANSAC.

    Returns ``(H [3, 3] float64 or None, inlier mask bool [N])``; None when fewer than 4 matches or RANSAC
    finds no model (degenerate points).
    """
    import cv2

    kpts0 = np.asarray(kpts0, np.float64).reshape(-1, 2)
    kpts1 = np.asarray(kpts1, np.float64).reshape(-1, 2)
    n = len(kpts0)
    if n < MIN_MATCHES_H:
        return None, np.zeros(n, bool)
    H, mask = cv2.findHomography(
        kpts0,
        kpts1,
        cv2.RANSAC,
        ransacReprojThreshold=float(threshold),
        maxIters=int(max_iters),
        confidence=float(confidence),
    )
    if H is None or H.shape != (3, 3) or not np.isfinite(H).all():
        return None, np.zeros(n, bool)
    return H, mask.ravel().astype(bool)


def image_corners(height: int, width: int) -> np.ndarray:
    """The 4 corners of an image as ``float64 [4, 2]`` (x, y): (0,0), (W-1,0), (W-1,H-1), (0,H-1)."""
    return np.array([[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1]], np.float64)


def corner_error(H_est: np.ndarray | None, H_gt: np.ndarray, height: int, width: int) -> float:
    """Mean distance (px, in img1) between img0's 4 corners warped by ``H_est`` and by ``H_gt``.

    ``H_est`` None (no estimate) -> inf, which every AUC counts as a failure.
    """
    if H_est is None:
        return float("inf")
    c = image_corners(height, width)
    d = np.linalg.norm(warp_points(H_est, c) - warp_points(H_gt, c), axis=1)
    return float(d.mean()) if np.isfinite(d).all() else float("inf")


def transfer_error(H: np.ndarray, kpts0: np.ndarray, kpts1: np.ndarray) -> np.ndarray:
    """Distance (px, in img1) between ``H kpts0`` and ``kpts1``: ``float64 [N]``."""
    return np.linalg.norm(warp_points(H, kpts0) - np.asarray(kpts1, np.float64).reshape(-1, 2), axis=1)
