"""Per-segment affine motion: compact label ids, robust affine fits of a flow inside every segment (all
segments at once through summed normal equations), the piecewise-affine field of fitted parameters, and each
segment's neighbours by shared border length. Used by the segment-level refinement (`segcorr.flow.refine`).
"""

from __future__ import annotations

import numpy as np

from segcorr.segment.regions import border_pairs


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


def sample_mask(lab: np.ndarray, n: int, stride: int) -> np.ndarray:
    """bool [H, W]: every stride-th pixel in x and y, plus every pixel of the segments (lab: ids 0..n-1 [H, W])
    that the grid would cover with fewer than 32 pixels (small or thin ones: a 1-px line between grid rows)."""
    keep = np.zeros(lab.shape, bool)
    keep[::stride, ::stride] = True
    if stride > 1:
        keep |= (np.bincount(lab[::stride, ::stride].ravel(), minlength=n) < 32)[lab]
    return keep


class SegmentAffineFits:
    """The geometry of `fit_segment_affine` for one label map, so several flows can be fitted on it.

    labels: int [H, W] (any ids); stride: fit on every stride-th pixel in x and y (all pixels of small and thin
    segments, see `sample_mask`). `lab` int64 [H, W] holds the compact ids 0..n-1.
    """

    def __init__(self, labels: np.ndarray, stride: int = 2):
        h, w = labels.shape
        lab_all, n = compact_labels(labels)
        self.lab, self.n, self.norm = lab_all.reshape(h, w), n, float(max(h, w))
        gx = np.arange(w, dtype=np.float64) / self.norm  # [W] coordinates scaled to ~unit range
        gy = np.arange(h, dtype=np.float64) / self.norm  # [H]
        cnt_all = np.bincount(lab_all, minlength=n).astype(np.float64)
        self.cx = np.bincount(lab_all, np.broadcast_to(gx, (h, w)).ravel(), n) / cnt_all
        self.cy = np.bincount(lab_all, np.broadcast_to(gy[:, None], (h, w)).ravel(), n) / cnt_all
        pick = sample_mask(self.lab, n, stride)  # [H, W] fit pixels
        # fit pixels grouped by segment, so the sums are reduceat calls (a radix sort on small ids)
        ids = self.lab[pick]
        ids = ids.astype(np.uint16) if n < 2**16 else ids
        self.index = np.flatnonzero(pick)[np.argsort(ids, kind="stable")]  # [N] flat pixel ids
        lab = self.lab.ravel()[self.index]  # [N]
        self.cnt = np.bincount(lab, minlength=n)
        self.present = self.cnt > 0
        self.starts = (np.cumsum(self.cnt) - self.cnt)[self.present]
        # coordinates centred per segment for conditioning
        yy, xx = np.divmod(self.index, w)
        self.x, self.y, self.seg = gx[xx] - self.cx[lab], gy[yy] - self.cy[lab], lab
        x, y = self.x, self.y
        self.geo = np.stack([np.ones_like(x), x, y, x * x, x * y, y * y])  # [6, N] 1, x, y, xx, xy, yy

    def fit(self, flow: np.ndarray, tau: float = 2.0, iters: int = 3) -> np.ndarray:
        """flow float32 [2, H, W] -> params float64 [n, 2, 3] (see `fit_segment_affine`)."""
        x, y, starts, n = self.x, self.y, self.starts, self.n
        cnt = self.cnt[self.present]
        u = flow[0].ravel()[self.index].astype(np.float64)
        v = flow[1].ravel()[self.index].astype(np.float64)
        # per-pixel products of the normal equations: 1, x, y, xx, xy, yy | u, xu, yu | v, xv, yv
        prod = np.concatenate([self.geo, self.geo[:3] * u, self.geo[:3] * v])  # [12, N]
        sym = np.array([[0, 1, 2], [1, 3, 4], [2, 4, 5]])
        ridge = np.diag([0.0, 1e-6, 1e-6])  # per-pixel weight units; keeps thin segments solvable
        wgt = None
        pu = np.zeros((n, 3))
        pv = np.zeros((n, 3))
        rounds = max(1, iters)
        for it in range(rounds):
            sums = np.add.reduceat(prod if wgt is None else prod * wgt, starts, axis=1).T  # [n_present, 12]
            ata = sums[:, sym]  # [n_present, 3, 3]
            ata += ridge * np.maximum(sums[:, 0], 1.0)[:, None, None]
            ata[:, 0, 0] += 1e-9
            pu[self.present] = np.linalg.solve(ata, sums[:, 6:9, None])[..., 0]
            pv[self.present] = np.linalg.solve(ata, sums[:, 9:12, None])[..., 0]
            if it == rounds - 1:
                break
            qu = np.repeat(pu[self.present], cnt, axis=0)  # [N, 3] (pixels are grouped by segment)
            qv = np.repeat(pv[self.present], cnt, axis=0)
            du = qu[:, 0] + qu[:, 1] * x + qu[:, 2] * y - u
            dv = qv[:, 0] + qv[:, 1] * x + qv[:, 2] * y - v
            r = np.sqrt(du * du + dv * dv)
            c = np.maximum(tau, 1.5 * np.add.reduceat(r, starts) / cnt)
            wgt = 1.0 / (1.0 + (r / np.repeat(c, cnt)) ** 2)
        params = np.empty((n, 2, 3))
        for k, p in enumerate((pu, pv)):  # centred, scaled -> absolute pixel coordinates
            params[:, k, 0] = p[:, 0] - p[:, 1] * self.cx - p[:, 2] * self.cy
            params[:, k, 1:] = p[:, 1:] / self.norm
        return params


def fit_segment_affine(flow: np.ndarray, labels: np.ndarray, tau: float = 2.0, iters: int = 3,
                       stride: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Robust affine fit of `flow` inside every segment.

    flow: float32 [2, H, W]; labels: int [H, W] (any ids, 0 included). Returns (lab [H, W] int64 compact ids
    0..n-1, params float64 [n, 2, 3]): segment k's flow is u = p[k,0] . (1, x, y), v = p[k,1] . (1, x, y) in
    pixel coordinates. Segments too thin for an affine map (a line, a single pixel) fall back to a translation
    through a small ridge on the linear terms.
    stride: fit on every stride-th pixel in x and y (all pixels of small and thin segments).
    """
    fits = SegmentAffineFits(labels, stride)
    return fits.lab, fits.fit(flow, tau, iters)


def affine_field(lab: np.ndarray, params: np.ndarray, step: int = 1) -> np.ndarray:
    """Piecewise-affine flow: lab int [H, W] ids 0..n-1, params [n, 2, 3] (see `fit_segment_affine`) ->
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


def segment_affine(flow: np.ndarray, labels: np.ndarray, tau: float = 2.0, iters: int = 3,
                   stride: int = 2) -> np.ndarray:
    """`flow` float32 [2, H, W] replaced by its robust affine fit inside every segment of `labels` [H, W]."""
    return affine_field(*fit_segment_affine(flow, labels, tau, iters, stride))


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
