"""Video object segmentation metrics: region similarity J, boundary F-measure F (DAVIS protocol) and the
space-time IoU of a masklet (YTVIS).

Pure functions on bool masks [H, W] (one frame) or [T, H, W] (one object over time).

Conventions where a mask is empty (DAVIS' own):
- ``region_j``: both empty -> 1 (the object is correctly reported absent); one empty -> 0.
- ``boundary_f``: both empty -> 1; one empty -> 0.
- ``st_iou``: sum over frames of intersections / sum of unions; when every frame is empty in both (an object
  never there and never predicted) -> 1, the same "correctly absent" reading. Frames where both are empty add
  nothing to either sum, so an object absent for most of a clip is judged on the frames where it (or the
  prediction) exists.
"""

from __future__ import annotations

import math

import numpy as np

BOUND_TH = 0.008  # DAVIS: boundary tolerance as a fraction of the image diagonal


def _iou(pred: np.ndarray, gt: np.ndarray, what: str) -> float:
    """IoU of two bool arrays of one shape (any); 1.0 when both are empty. what: named in the shape error."""
    pred, gt = np.asarray(pred, bool), np.asarray(gt, bool)
    if pred.shape != gt.shape:
        raise ValueError(f"{what} differ in shape: {pred.shape} vs {gt.shape}")
    union = np.count_nonzero(pred | gt)
    if union == 0:
        return 1.0
    return float(np.count_nonzero(pred & gt)) / union


def region_j(pred: np.ndarray, gt: np.ndarray) -> float:
    """IoU of two bool masks [H, W]; 1.0 when both are empty."""
    return _iou(pred, gt, "masks")


def mask_boundary(mask: np.ndarray) -> np.ndarray:
    """Thin inner boundary of a bool mask [H, W]: its pixels with a 4-neighbour outside it (the image border
    counts as outside), i.e. mask minus its erosion by a 3x3 cross. One pixel wide."""
    import cv2

    m = np.asarray(mask, bool)
    if not m.any():
        return np.zeros_like(m)
    padded = np.pad(m.astype(np.uint8), 1)
    cross = cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3))
    eroded = cv2.erode(padded, cross, borderType=cv2.BORDER_CONSTANT, borderValue=0)[1:-1, 1:-1]
    return m & ~eroded.astype(bool)


def _dilate(b: np.ndarray, radius: int) -> np.ndarray:
    import cv2

    if radius <= 0:
        return b
    disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    return cv2.dilate(b.astype(np.uint8), disk).astype(bool)


def boundary_f(pred: np.ndarray, gt: np.ndarray, bound_th: float = BOUND_TH) -> float:
    """DAVIS boundary F-measure of two bool masks [H, W].

    Boundaries are ``mask_boundary``; a predicted boundary pixel is correct when a ground-truth boundary pixel
    lies within ``r = ceil(bound_th * diagonal)`` pixels (a disk dilation stands in for DAVIS' bipartite
    matching with that tolerance), and recall likewise. F = 2PR / (P + R); both empty -> 1, one empty -> 0.
    ``bound_th`` >= 1 is taken as the radius in pixels."""
    pred, gt = np.asarray(pred, bool), np.asarray(gt, bool)
    if pred.shape != gt.shape:
        raise ValueError(f"masks differ in shape: {pred.shape} vs {gt.shape}")
    h, w = gt.shape
    r = int(bound_th) if bound_th >= 1 else int(math.ceil(bound_th * math.hypot(h, w)))
    pb, gb = mask_boundary(pred), mask_boundary(gt)
    n_p, n_g = np.count_nonzero(pb), np.count_nonzero(gb)
    if n_p == 0 and n_g == 0:
        return 1.0
    if n_p == 0 or n_g == 0:
        return 0.0
    precision = np.count_nonzero(pb & _dilate(gb, r)) / n_p
    recall = np.count_nonzero(gb & _dilate(pb, r)) / n_g
    if precision + recall == 0:
        return 0.0
    return float(2 * precision * recall / (precision + recall))


def st_iou(pred: np.ndarray, gt: np.ndarray) -> float:
    """Space-time IoU of one masklet: pred, gt bool [T, H, W] -> sum_t |P_t & G_t| / sum_t |P_t | G_t|;
    1.0 when both are empty in every frame (see the module docstring)."""
    return _iou(pred, gt, "masklets")


class ObjectScores:
    """Running per-object sums over frames (no masks kept): J and F means and the space-time IoU sums.

    ``add(pred, gt)`` per frame; ``j``, ``f``, ``st_iou`` read the results (None before any frame)."""

    def __init__(self, bound_th: float = BOUND_TH) -> None:
        self.bound_th = bound_th
        self.n = 0
        self.j_sum = 0.0
        self.f_sum = 0.0
        self.inter = 0
        self.union = 0

    def add(self, pred: np.ndarray, gt: np.ndarray) -> None:
        pred, gt = np.asarray(pred, bool), np.asarray(gt, bool)
        self.n += 1
        self.j_sum += region_j(pred, gt)
        self.f_sum += boundary_f(pred, gt, self.bound_th)
        self.inter += int(np.count_nonzero(pred & gt))
        self.union += int(np.count_nonzero(pred | gt))

    @property
    def j(self) -> float | None:
        return self.j_sum / self.n if self.n else None

    @property
    def f(self) -> float | None:
        return self.f_sum / self.n if self.n else None

    @property
    def st_iou(self) -> float | None:
        if not self.n:
            return None
        return 1.0 if self.union == 0 else self.inter / self.union
