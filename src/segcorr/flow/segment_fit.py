"""Per-segment affine motion on a sample grid: compact label ids, the sample pixels of every segment, robust affine
fits of a flow inside all segments at once (summed normal equations), photometric costs per segment, the
piecewise-affine field of fitted parameters, and each segment's neighbours by shared border length. The pieces of
the segment-level refinement (`segcorr.flow.refine`).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import NamedTuple

import numpy as np

from segcorr.flow.checks import check_flow, check_labels
from segcorr.flow.refine_config import RefineConfig
from segcorr.flow.warp_cost import photometric_error, warp_error
from segcorr.segment.regions import border_pairs

# Affine fits are solved in coordinates scaled to about unit range; this ridge on the linear terms (per unit of
# pixel weight) keeps segments too thin for an affine map (a line, a single pixel) solvable as a translation.
_RIDGE = 1e-6
_RIDGE_CONST = 1e-9
# OpenCV remap maps must stay under 32767 px a side: sampled costs fold their samples into rows this long.
_REMAP_COLS = 1024


def compact_labels(labels: np.ndarray) -> tuple[np.ndarray, int]:
    """int [H, W] with any ids -> (ids 0..n-1 int64 [H*W], n)."""
    flat = labels.ravel().astype(np.int64)
    if flat.size == 0:
        return flat, 0
    lo, hi = int(flat.min()), int(flat.max())
    if hi - lo > 4 * flat.size:  # sparse ids: sort
        _, inv = np.unique(flat, return_inverse=True)
        return inv.astype(np.int64), int(inv.max()) + 1
    present = np.bincount(flat - lo) > 0
    remap = np.cumsum(present) - 1
    return remap[flat - lo], int(present.sum())


def sample_mask(lab: np.ndarray, n: int, stride: int, min_samples: int) -> np.ndarray:
    """bool [H, W]: every stride-th pixel in x and y, plus every pixel of the segments (lab: ids 0..n-1 [H, W])
    that the grid would cover with fewer than `min_samples` pixels (small or thin ones: a 1-px line between grid
    rows)."""
    keep = np.zeros(lab.shape, bool)
    keep[::stride, ::stride] = True
    if stride > 1:
        keep |= (np.bincount(lab[::stride, ::stride].ravel(), minlength=n) < min_samples)[lab]
    return keep


class _FitGeometry(NamedTuple):
    """The sample pixels grouped by segment, in coordinates centred per segment and scaled by `norm`."""

    index: np.ndarray  # [N] flat pixel ids, grouped by segment
    x: np.ndarray  # [N] float64
    y: np.ndarray  # [N]
    cnt: np.ndarray  # [n] samples per segment
    present: np.ndarray  # [n] bool, segments with samples
    starts: np.ndarray  # [n_present] first sample of each present segment
    geo: np.ndarray  # [6, N] 1, x, y, xx, xy, yy
    cx: np.ndarray  # [n] segment centroids (all pixels), scaled
    cy: np.ndarray
    norm: float


class SegmentSamples:
    """The pixels that stand for each segment of one label map in affine fits and photometric costs.

    lab: int64 [H, W] compact ids 0..n-1 (`compact_labels`); stride, min_samples: see `sample_mask`;
    img0, img1: uint8 [H, W, C] frames, needed only by `error`.
    Samples (N of them) are in raster order: `index` int [N] flat pixel ids, `seg` int64 [N] their segments,
    `x`, `y` float32 [N] their pixel coordinates; `count` int [n] samples per segment (at least 1).
    """

    def __init__(
        self,
        lab: np.ndarray,
        n: int,
        stride: int,
        min_samples: int,
        img0: np.ndarray | None = None,
        img1: np.ndarray | None = None,
    ) -> None:
        h, w = lab.shape
        mask = sample_mask(lab, n, stride, min_samples)
        self.full = bool(mask.all())  # every pixel: whole-frame operations, no gathers
        self.index = np.arange(h * w) if self.full else np.flatnonzero(mask)  # [N]
        yy, xx = np.divmod(self.index, w)
        self.x, self.y = xx.astype(np.float32), yy.astype(np.float32)
        self.lab, self.seg = lab, lab.ravel()[self.index]  # [H, W], [N]
        self.n, self.h, self.w = n, h, w
        self.count = np.maximum(np.bincount(self.seg, minlength=n), 1)
        self.img0, self.img1 = img0, img1

    @classmethod
    def of(
        cls,
        labels: np.ndarray,
        stride: int,
        min_samples: int,
        img0: np.ndarray | None = None,
        img1: np.ndarray | None = None,
    ) -> SegmentSamples:
        """From a label map with any ids (int [H, W])."""
        lab, n = compact_labels(labels)
        return cls(lab.reshape(labels.shape), n, stride, min_samples, img0, img1)

    # ------------------------------------------------------------------------------------------ affine fits
    @cached_property
    def _geometry(self) -> _FitGeometry:
        h, w = self.h, self.w
        lab_all, n = self.lab.ravel(), self.n
        norm = float(max(h, w))
        gx = np.arange(w, dtype=np.float64) / norm  # [W] coordinates scaled to ~unit range
        gy = np.arange(h, dtype=np.float64) / norm  # [H]
        cnt_all = np.bincount(lab_all, minlength=n).astype(np.float64)
        cx = np.bincount(lab_all, np.broadcast_to(gx, (h, w)).ravel(), n) / cnt_all
        cy = np.bincount(lab_all, np.broadcast_to(gy[:, None], (h, w)).ravel(), n) / cnt_all
        # samples grouped by segment, so the sums are reduceat calls (a radix sort on small ids)
        ids = self.seg.astype(np.uint16) if n < 2**16 else self.seg
        index = self.index[np.argsort(ids, kind="stable")]  # [N]
        lab = lab_all[index]
        cnt = np.bincount(lab, minlength=n)
        present = cnt > 0
        yy, xx = np.divmod(index, w)
        x, y = gx[xx] - cx[lab], gy[yy] - cy[lab]  # centred per segment for conditioning
        geo = np.stack([np.ones_like(x), x, y, x * x, x * y, y * y])
        return _FitGeometry(index, x, y, cnt, present, (np.cumsum(cnt) - cnt)[present], geo, cx, cy, norm)

    def fit(self, flow: np.ndarray, tau: float, iters: int, scale_mult: float) -> np.ndarray:
        """Robust affine fit of `flow` float32 [2, H, W] inside every segment -> params float64 [n, 2, 3]:
        segment k's flow is u = p[k,0] . (1, x, y), v = p[k,1] . (1, x, y) in pixel coordinates.

        Iteratively reweighted least squares (Cauchy weights 1 / (1 + (r / c)^2), c = max(tau, scale_mult x
        the segment's mean residual)), `iters` rounds. Segments too thin for an affine map fall back to a
        translation."""
        g = self._geometry
        x, y, starts, n = g.x, g.y, g.starts, self.n
        cnt = g.cnt[g.present]
        u = flow[0].ravel()[g.index].astype(np.float64)
        v = flow[1].ravel()[g.index].astype(np.float64)
        # per-pixel products of the normal equations: 1, x, y, xx, xy, yy | u, xu, yu | v, xv, yv
        prod = np.concatenate([g.geo, g.geo[:3] * u, g.geo[:3] * v])  # [12, N]
        sym = np.array([[0, 1, 2], [1, 3, 4], [2, 4, 5]])
        ridge = np.diag([0.0, _RIDGE, _RIDGE])
        wgt = None
        pu = np.zeros((n, 3))
        pv = np.zeros((n, 3))
        rounds = max(1, iters)
        for it in range(rounds):
            sums = np.add.reduceat(prod if wgt is None else prod * wgt, starts, axis=1).T  # [n_present, 12]
            ata = sums[:, sym]  # [n_present, 3, 3]
            ata += ridge * np.maximum(sums[:, 0], 1.0)[:, None, None]
            ata[:, 0, 0] += _RIDGE_CONST
            pu[g.present] = np.linalg.solve(ata, sums[:, 6:9, None])[..., 0]
            pv[g.present] = np.linalg.solve(ata, sums[:, 9:12, None])[..., 0]
            if it == rounds - 1:
                break
            qu = np.repeat(pu[g.present], cnt, axis=0)  # [N, 3] (samples are grouped by segment)
            qv = np.repeat(pv[g.present], cnt, axis=0)
            du = qu[:, 0] + qu[:, 1] * x + qu[:, 2] * y - u
            dv = qv[:, 0] + qv[:, 1] * x + qv[:, 2] * y - v
            r = np.sqrt(du * du + dv * dv)
            c = np.maximum(tau, scale_mult * np.add.reduceat(r, starts) / cnt)
            wgt = 1.0 / (1.0 + (r / np.repeat(c, cnt)) ** 2)
        params = np.empty((n, 2, 3))
        for k, p in enumerate((pu, pv)):  # centred, scaled -> absolute pixel coordinates
            params[:, k, 0] = p[:, 0] - p[:, 1] * g.cx - p[:, 2] * g.cy
            params[:, k, 1:] = p[:, 1:] / g.norm
        return params

    # --------------------------------------------------------------------------------- flows at the samples
    def take(self, flow: np.ndarray) -> np.ndarray:
        """[2, H, W] -> float32 [2, N]."""
        if self.full:
            return flow.reshape(2, -1).astype(np.float32, copy=False)
        return flow.reshape(2, -1)[:, self.index].astype(np.float32, copy=False)

    def affine(self, params: np.ndarray, sel: np.ndarray | None = None) -> np.ndarray:
        """Per-segment affine maps [n, 2, 3] at the samples (or at samples `sel`, int [M]) -> float32 [2, N or M]."""
        if self.full and sel is None:
            return affine_field(self.lab, params).reshape(2, -1)
        seg, x, y = (self.seg, self.x, self.y) if sel is None else (self.seg[sel], self.x[sel], self.y[sel])
        p = params.reshape(-1, 6).astype(np.float32)[seg]  # [N, 6]
        return np.stack([p[:, 0] + p[:, 1] * x + p[:, 2] * y, p[:, 3] + p[:, 4] * x + p[:, 5] * y])

    # ------------------------------------------------------------------------------------- photometric costs
    @cached_property
    def _ref(self) -> np.ndarray:
        """Frame 0 at the samples: uint8 [N, C]."""
        if self.img0 is None or self.img1 is None:
            raise ValueError("SegmentSamples built without frames has no photometric costs")
        return self.img0.reshape(self.h * self.w, -1)[self.index]

    def error(self, flow: np.ndarray, trunc: float, sel: np.ndarray | None = None) -> np.ndarray:
        """Photometric error (see `photometric_error`) of a sampled flow [2, N] -> float32 [N]; with `sel` (int
        [M]), of a flow [2, M] at those samples only -> float32 [M]."""
        if self.full and sel is None:
            return photometric_error(self.img0, self.img1, flow.reshape(2, self.h, self.w), trunc).ravel()
        ref = self._ref
        x, y, ref = (self.x, self.y, ref) if sel is None else (self.x[sel], self.y[sel], ref[sel])
        n = x.size
        pad = -n % _REMAP_COLS
        mx = np.concatenate([flow[0] + x, np.zeros(pad, np.float32)]).reshape(-1, _REMAP_COLS)
        my = np.concatenate([flow[1] + y, np.zeros(pad, np.float32)]).reshape(-1, _REMAP_COLS)
        ref = np.concatenate([ref, np.zeros((pad, *ref.shape[1:]), ref.dtype)]).reshape(*mx.shape, *ref.shape[1:])
        return warp_error(ref, self.img1, mx, my, trunc).ravel()[:n]

    def choose(self, errors: Sequence[np.ndarray], penalties: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per segment, the candidate with the lowest mean error + penalty (ties keep the first).

        errors: K float32 [N]; penalties: [K] or [K, n] -> (pick int64 [n], error of the picks float32 [N])."""
        cost = np.stack([np.bincount(self.seg, e, self.n) / self.count for e in errors])  # [K, n]
        pen = np.asarray(penalties, np.float64)
        cost += pen[:, None] if pen.ndim == 1 else pen
        pick = cost.argmin(0)
        err = np.stack(errors)[pick[self.seg], np.arange(self.seg.size)]
        return pick, err


def robust_segment_affines(
    flow: np.ndarray, labels: np.ndarray, cfg: RefineConfig = RefineConfig()
) -> tuple[np.ndarray, np.ndarray]:
    """Robust affine fit of `flow` inside every segment (`SegmentSamples.fit` with `cfg`'s tau, iters, scale_mult,
    on its fit_stride grid).

    flow: float32 [2, H, W]; labels: int [H, W] (any ids, 0 included) -> (lab int64 [H, W] compact ids 0..n-1,
    params float64 [n, 2, 3], see `SegmentSamples.fit`).
    """
    check_flow(flow, labels.shape)
    check_labels(labels, labels.shape)
    s = SegmentSamples.of(labels, cfg.fit_stride, cfg.min_samples)
    return s.lab, s.fit(flow, cfg.tau, cfg.iters, cfg.scale_mult)


def affine_field(lab: np.ndarray, params: np.ndarray, step: int = 1) -> np.ndarray:
    """Piecewise-affine flow: lab int [H, W] ids 0..n-1, params [n, 2, 3] (see `SegmentSamples.fit`) ->
    float32 [2, H, W]. step: lab holds every step-th pixel of the map the params are in (lab[i, j] sits at
    pixel (step * j, step * i)); the flow is evaluated there."""
    h, w = lab.shape
    gx = np.arange(w, dtype=np.float32) * step
    gy = np.arange(h, dtype=np.float32)[:, None] * step
    p = params.astype(np.float32)
    out = np.empty((2, h, w), np.float32)
    for k in range(2):
        out[k] = p[:, k, 0][lab]
        out[k] += p[:, k, 1][lab] * gx
        out[k] += p[:, k, 2][lab] * gy
    return out


def segment_affine(flow: np.ndarray, labels: np.ndarray, cfg: RefineConfig = RefineConfig()) -> np.ndarray:
    """`flow` float32 [2, H, W] replaced by its robust affine fit inside every segment of `labels` int [H, W]."""
    return affine_field(*robust_segment_affines(flow, labels, cfg))


def segment_neighbours(lab: np.ndarray, n: int, k: int) -> np.ndarray:
    """For each segment of lab (int [H, W], ids 0..n-1), the k segments sharing the longest 4-connected borders
    with it: int64 [n, k], longest first; the segment itself fills the places of missing neighbours."""
    a, b = border_pairs(lab)
    key = np.concatenate([a * n + b, b * n + a])
    if n * n <= 1 << 22:  # a dense count is faster than sorting
        border = np.bincount(key, minlength=n * n)
        pair = np.flatnonzero(border)
        border = border[pair]
    else:
        pair, border = np.unique(key, return_counts=True)
    src, dst = pair // n, pair % n
    order = np.lexsort((-border, src))  # by segment, longest border first
    src, dst = src[order], dst[order]
    rank = np.arange(src.size) - np.searchsorted(src, src)  # position within the segment's list
    out = np.repeat(np.arange(n)[:, None], k, 1)
    keep = rank < k
    out[src[keep], rank[keep]] = dst[keep]
    return out
