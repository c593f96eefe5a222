"""Optical-flow metrics: end-point error over pixel subsets, speed bins and outlier rates.

Figures are pixel-averaged over a whole set (every pixel of every pair weighs the same), as the
AnimeRun and RAFT evaluations do by concatenating per-pixel EPE before taking the mean; a per-pair
mean would let small or easy pairs dominate. The accumulator keeps sums and counts only, so memory
does not grow with the set.

Subsets (all restricted to valid GT pixels):
- ``epe`` every pixel; ``epe_noc`` / ``epe_occ`` pixels not occluded / occluded in frame 1;
- ``epe_line`` / ``epe_flat`` line-art pixels / the rest;
- ``epe_mb`` motion-boundary pixels: within 2 px of a place where the GT flow jumps by more than 1 px between
  4-neighbours (`motion_boundary`; from the GT alone, so every set with GT flow has it);
- ``epe_s0_10`` / ``epe_s10_50`` / ``epe_s50_inf`` by GT speed |gt|: <= 10, (10, 50], > 50 px;
- ``px1`` / ``px3`` / ``px5`` share of pixels with EPE > 1 / 3 / 5 px (outlier rates, 0..1).
A key whose subset is empty over the whole set (no occlusion or line information, no fast pixels) is None.
"""

from __future__ import annotations

import numpy as np

FLOW_KEYS = (
    "epe",
    "epe_noc",
    "epe_occ",
    "epe_line",
    "epe_flat",
    "epe_mb",
    "epe_s0_10",
    "epe_s10_50",
    "epe_s50_inf",
    "px1",
    "px3",
    "px5",
)

# Middlebury .flo marks unknown flow with values around 1e10; anything this large is not a real motion.
UNKNOWN_FLOW = 1e9


def end_point_error(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Per-pixel EPE. pred, gt: float [2, H, W] -> float64 [H, W]."""
    d = np.asarray(pred, np.float64) - np.asarray(gt, np.float64)
    return np.sqrt(d[0] ** 2 + d[1] ** 2)


def valid_flow_mask(gt: np.ndarray) -> np.ndarray:
    """bool [H, W]: GT flow [2, H, W] is finite and not an 'unknown' marker."""
    g = np.asarray(gt)
    return np.all(np.isfinite(g) & (np.abs(g) < UNKNOWN_FLOW), axis=0)


def _mark_pairs(dx: np.ndarray, dy: np.ndarray) -> np.ndarray:
    """Both pixels of every marked 4-neighbour pair: dx bool [H, W-1] (x, x+1), dy bool [H-1, W] -> bool [H, W]."""
    out = np.zeros((dy.shape[0] + 1, dx.shape[1] + 1), bool)
    out[:, 1:] |= dx
    out[:, :-1] |= dx
    out[1:, :] |= dy
    out[:-1, :] |= dy
    return out


def _within(mask: np.ndarray, radius: float) -> np.ndarray:
    """bool [H, W]: pixels within ``radius`` px (Euclidean) of a True pixel of ``mask``; radius <= 0: mask."""
    import cv2

    if not mask.any() or radius <= 0:
        return mask
    # Distance from each pixel to the nearest marked pixel (zeros of the input).
    dist = cv2.distanceTransform(np.where(mask, 0, 255).astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    return dist <= radius


def boundary(seg: np.ndarray) -> np.ndarray:
    """Segment boundary pixels: bool [H, W], True where a 4-neighbour has another label.

    Both sides of every label change are marked, so a boundary is two pixels wide.
    seg: int [H, W] label map.
    """
    s = np.asarray(seg)
    if s.ndim != 2:
        raise ValueError(f"seg must be [H, W], got shape {s.shape}")
    return _mark_pairs(s[:, 1:] != s[:, :-1], s[1:, :] != s[:-1, :])


def motion_boundary(
    gt: np.ndarray, valid: np.ndarray | None = None, jump: float = 1.0, radius: float = 2
) -> np.ndarray:
    """bool [H, W]: pixels within ``radius`` px (Euclidean) of a motion discontinuity of the GT flow.

    A discontinuity is a pair of valid 4-neighbours whose GT vectors differ by more than ``jump`` px; both
    pixels of the pair are marked. Smooth motion (pans, zooms, rotations of a few degrees) changes by far less
    than 1 px between neighbours, so only object and layer boundaries count. gt: float [2, H, W]; valid: bool
    [H, W] (None: every pixel).
    """
    g = np.asarray(gt, np.float32)
    ok = np.ones(g.shape[1:], bool) if valid is None else np.asarray(valid, bool)
    jx = (np.hypot(*(g[:, :, 1:] - g[:, :, :-1])) > jump) & ok[:, 1:] & ok[:, :-1]
    jy = (np.hypot(*(g[:, 1:] - g[:, :-1])) > jump) & ok[1:] & ok[:-1]
    return _within(_mark_pairs(jx, jy), radius)


def line_mask_from_segments(seg: np.ndarray, radius: float = 2) -> np.ndarray:
    """bool [H, W]: pixels within ``radius`` px (Euclidean) of a segment boundary.

    Stands in for line art when a set has segments but no line masks: in cels the ink lines sit on
    segment boundaries. seg: int [H, W].
    """
    return _within(boundary(seg), radius)


def _check(name: str, mask: np.ndarray | None, shape: tuple[int, int]) -> np.ndarray | None:
    if mask is None:
        return None
    m = np.asarray(mask)
    if m.shape != shape:
        raise ValueError(f"{name} must be [H, W] = {shape}, got shape {m.shape}")
    return m.astype(bool, copy=False)


class FlowMetricAccumulator:
    """Sum per-pixel errors over pairs; ``result()`` gives the pixel-averaged figures (``FLOW_KEYS``)."""

    def __init__(self) -> None:
        self._sum = {k: 0.0 for k in FLOW_KEYS}
        self._count = {k: 0 for k in FLOW_KEYS}
        self.pairs = 0

    def _add(self, key: str, values: np.ndarray) -> None:
        self._sum[key] += float(values.sum())
        self._count[key] += int(values.size)

    def update(
        self,
        pred: np.ndarray,
        gt: np.ndarray,
        valid: np.ndarray | None = None,
        occ: np.ndarray | None = None,
        line: np.ndarray | None = None,
    ) -> None:
        """Add one pair.

        Arguments:
            pred, gt: float [2, H, W] flow frame0 -> frame1.
            valid: bool [H, W] GT usable (None: all pixels with finite, known GT).
            occ: bool [H, W] True = occluded in frame 1 (None: unknown, skips noc/occ).
            line: bool [H, W] True = line-art pixel (None: unknown, skips line/flat).
        """
        pred = np.asarray(pred)
        gt = np.asarray(gt)
        if gt.ndim != 3 or gt.shape[0] != 2:
            raise ValueError(f"gt must be [2, H, W], got shape {gt.shape}")
        if pred.shape != gt.shape:
            raise ValueError(f"pred {pred.shape} and gt {gt.shape} differ in shape")
        shape = gt.shape[1:]
        ok = valid_flow_mask(gt)
        v = _check("valid", valid, shape)
        if v is not None:
            ok &= v
        occ = _check("occ", occ, shape)
        line = _check("line", line, shape)

        # Unknown-GT pixels hold ~1e10 or NaN; zero them so the arithmetic stays finite (they are masked anyway).
        gt_safe = np.where(ok[None], gt, 0).astype(np.float64)
        epe = end_point_error(pred, gt_safe)
        mag = np.sqrt(gt_safe[0] ** 2 + gt_safe[1] ** 2)
        e = epe[ok]
        self._add("epe", e)
        for thr in (1, 3, 5):
            self._add(f"px{thr}", (e > thr).astype(np.float64))
        if occ is not None:
            self._add("epe_occ", epe[ok & occ])
            self._add("epe_noc", epe[ok & ~occ])
        if line is not None:
            self._add("epe_line", epe[ok & line])
            self._add("epe_flat", epe[ok & ~line])
        self._add("epe_mb", epe[ok & motion_boundary(gt_safe, ok)])
        self._add("epe_s0_10", epe[ok & (mag <= 10)])
        self._add("epe_s10_50", epe[ok & (mag > 10) & (mag <= 50)])
        self._add("epe_s50_inf", epe[ok & (mag > 50)])
        self.pairs += 1

    def counts(self) -> dict[str, int]:
        """Number of pixels behind each key."""
        return dict(self._count)

    def result(self) -> dict[str, float | None]:
        """Pixel-averaged metrics; None where no pixel fell in the subset."""
        return {k: (self._sum[k] / self._count[k] if self._count[k] else None) for k in FLOW_KEYS}


def flow_metrics(
    pred: np.ndarray,
    gt: np.ndarray,
    valid: np.ndarray | None = None,
    occ: np.ndarray | None = None,
    line: np.ndarray | None = None,
) -> dict[str, float | None]:
    """Metrics of a single pair (same keys and conventions as ``FlowMetricAccumulator``)."""
    acc = FlowMetricAccumulator()
    acc.update(pred, gt, valid, occ, line)
    return acc.result()
