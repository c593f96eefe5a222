"""Matching metrics: AUC of error curves (homography corner error, relative pose error) and match precision.

Keys (DESIGN.md): ``auc3``, ``auc5``, ``auc10`` (homography corner error, px), ``pose_auc5``, ``pose_auc10``,
``pose_auc20`` (pose error, degrees), ``matches`` (mean per pair), ``precision`` (mean per pair, 0..1).
AUCs integrate the recall curve up to each threshold with ``np.trapezoid`` and divide by the threshold
(SuperGlue / LoFTR ``error_auc``), so AUC = 1 means every error is 0 and a failed estimate (error inf) adds 0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

HOMOGRAPHY_THRESHOLDS = (3, 5, 10)
POSE_THRESHOLDS = (5, 10, 20)
H_PRECISION_PX = 3.0
EPI_PRECISION = 5e-4
MATCH_KEYS = ("auc3", "auc5", "auc10", "pose_auc5", "pose_auc10", "pose_auc20", "matches", "precision")


def error_auc(errors: Sequence[float], thresholds: Sequence[float]) -> list[float]:
    """Area under the recall-vs-error curve up to each threshold, normalised to 0..1.

    ``errors``: one per pair (inf / NaN = failure). Empty -> NaN for each threshold.
    """
    e = np.asarray(list(errors), np.float64)
    if e.size == 0:
        return [math.nan for _ in thresholds]
    e = np.where(np.isnan(e), np.inf, e)
    e = np.sort(e)
    recall = (np.arange(len(e)) + 1) / len(e)
    e = np.concatenate([[0.0], e])
    recall = np.concatenate([[0.0], recall])
    aucs = []
    for t in thresholds:
        last = int(np.searchsorted(e, t))
        x = np.concatenate([e[:last], [t]])
        y = np.concatenate([recall[:last], [recall[last - 1]]])
        aucs.append(float(np.trapezoid(y, x=x) / t))
    return aucs


def homography_aucs(corner_errors: Sequence[float]) -> dict[str, float]:
    """``{"auc3", "auc5", "auc10"}`` of per-pair corner errors (px)."""
    return {f"auc{t}": a for t, a in zip(HOMOGRAPHY_THRESHOLDS, error_auc(corner_errors, HOMOGRAPHY_THRESHOLDS))}


def pose_aucs(pose_errors: Sequence[float]) -> dict[str, float]:
    """``{"pose_auc5", "pose_auc10", "pose_auc20"}`` of per-pair pose errors (degrees)."""
    return {f"pose_auc{t}": a for t, a in zip(POSE_THRESHOLDS, error_auc(pose_errors, POSE_THRESHOLDS))}


def homography_correct(
    kpts0: np.ndarray, kpts1: np.ndarray, H_gt: np.ndarray, threshold: float = H_PRECISION_PX
) -> np.ndarray:
    """bool [N]: whether each match's img0 point, warped by the true ``H_gt``, lands within ``threshold`` px of its
    img1 point."""
    from segcorr.geometry.homography import transfer_error

    if len(kpts0) == 0:
        return np.zeros(0, bool)
    return transfer_error(H_gt, kpts0, kpts1) < threshold


def epipolar_correct(
    kpts0: np.ndarray,
    kpts1: np.ndarray,
    T_0to1: np.ndarray,
    K0: np.ndarray,
    K1: np.ndarray,
    threshold: float = EPI_PRECISION,
) -> np.ndarray:
    """bool [N]: whether each match's squared symmetric epipolar distance under the true pose is below
    ``threshold`` (normalised coordinates, SuperGlue's 5e-4)."""
    from segcorr.geometry.essential import essential_from_pose, symmetric_epipolar_distance

    if len(kpts0) == 0:
        return np.zeros(0, bool)
    return symmetric_epipolar_distance(kpts0, kpts1, essential_from_pose(T_0to1), K0, K1) < threshold


def _share(correct: np.ndarray) -> float:
    """Share of True in bool [N]; NaN when N is 0 (a pair without matches is left out of means)."""
    return float(np.mean(correct)) if len(correct) else math.nan


def homography_precision(
    kpts0: np.ndarray, kpts1: np.ndarray, H_gt: np.ndarray, threshold: float = H_PRECISION_PX
) -> float:
    """Share of ``homography_correct`` matches. No matches -> NaN (left out of means)."""
    return _share(homography_correct(kpts0, kpts1, H_gt, threshold))


def epipolar_precision(
    kpts0: np.ndarray,
    kpts1: np.ndarray,
    T_0to1: np.ndarray,
    K0: np.ndarray,
    K1: np.ndarray,
    threshold: float = EPI_PRECISION,
) -> float:
    """Share of ``epipolar_correct`` matches. No matches -> NaN."""
    return _share(epipolar_correct(kpts0, kpts1, T_0to1, K0, K1, threshold))


class MatchMetricAccumulator:
    """Collects per-pair results; ``result()`` gives the metric keys (None where no pair of that kind)."""

    def __init__(self) -> None:
        self.corner_errors: list[float] = []
        self.pose_errors: list[float] = []
        self.matches: list[int] = []
        self.precisions: list[float] = []

    def add_homography(self, corner_err: float, n_matches: int, precision: float) -> None:
        self.corner_errors.append(float(corner_err))
        self._add(n_matches, precision)

    def add_pose(self, err_R: float, err_t: float, n_matches: int, precision: float) -> None:
        self.pose_errors.append(max(float(err_R), float(err_t)))
        self._add(n_matches, precision)

    def _add(self, n_matches: int, precision: float) -> None:
        self.matches.append(int(n_matches))
        if not math.isnan(precision):
            self.precisions.append(float(precision))

    def result(self) -> dict[str, float | None]:
        out: dict[str, float | None] = {k: None for k in MATCH_KEYS}
        if self.corner_errors:
            out.update(homography_aucs(self.corner_errors))
        if self.pose_errors:
            out.update(pose_aucs(self.pose_errors))
        if self.matches:
            out["matches"] = float(np.mean(self.matches))
        # a pair without matches has no precision; counting it as 0 would mix recall into precision
        out["precision"] = float(np.mean(self.precisions)) if self.precisions else (0.0 if self.matches else None)
        return out
