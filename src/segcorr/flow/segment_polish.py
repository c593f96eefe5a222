"""Sub-pixel polish of per-segment affine motions by direct image alignment (Lucas-Kanade, affine, per segment).

The candidates the refinement chooses between (`segcorr.flow.refine`) are fits of flows estimated on a coarse grid
(the network's 1/8 cells at the training scale) or of DIS, and a photometric choice between them cannot be more
precise than the best of them: on slow, sub-pixel motion all of them are often off by a pixel or more. Here each
segment's affine map is moved to minimise the photometric error itself: Gauss-Newton steps on
sum_p w(p) |I1(p + A_k p) - I0(p)|^2 over the segment's pixels, all segments at once (per-pixel normal-equation
products summed per segment with `np.bincount`), on lightly smoothed frames (coarse then fine), with Cauchy weights
so that pixels occluded or covered by another surface lose their say, and Levenberg-Marquardt damping so that a
direction the segment's pixels do not constrain (a flat region's interior, a straight edge along itself) stays
where it was. Only pixels with image gradient contribute, so a flat region is aligned by its outline and line art.
A segment keeps its polished map only when that lowers its mean truncated photometric error.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

_RIDGE = 1e-3  # damping added to the normal equations, relative to their mean diagonal (LM)
EPS_GRAD = 2.0  # grey levels / px: floor of the gradient a residual is divided by
_MIN_GRAD = 0.5  # grey levels / px: pixels below this gradient in frame 0 carry no alignment signal
_REMAP_COLS = 1024  # grey levels / px: pixels below this gradient in frame 0 carry no alignment signal


def _smooth(img: np.ndarray, sigma: float) -> np.ndarray:
    import cv2

    a = np.asarray(img, np.float32)
    if sigma <= 0:
        return a
    return cv2.GaussianBlur(a, (0, 0), sigma, borderType=cv2.BORDER_REPLICATE).reshape(a.shape)


def _gradients(img: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Central differences of img float32 [H, W, C] -> (d/dx, d/dy), each [H, W, C]."""
    import cv2

    k = np.array([[-0.5, 0.0, 0.5]], np.float32)
    gx = cv2.filter2D(img, -1, k, borderType=cv2.BORDER_REPLICATE)
    gy = cv2.filter2D(img, -1, k.T, borderType=cv2.BORDER_REPLICATE)
    return gx.reshape(img.shape), gy.reshape(img.shape)


def _active_pixels(i0: np.ndarray, lab: np.ndarray, radius: int) -> np.ndarray:
    """Flat ids of the pixels within `radius` px of a gradient above _MIN_GRAD in frame 0 (i0 float [H, W, C])."""
    import cv2

    gx, gy = _gradients(i0)
    mag = np.sqrt(gx * gx + gy * gy).max(-1)
    busy = (mag > _MIN_GRAD).astype(np.uint8)
    if radius > 0:
        busy = cv2.dilate(busy, np.ones((2 * radius + 1, 2 * radius + 1), np.uint8))
    return np.flatnonzero(busy.ravel())


def _sample(images: list[np.ndarray], mx: np.ndarray, my: np.ndarray) -> np.ndarray:
    """Bilinear samples of float32 [H, W, C] images at points (mx, my) float32 [M] -> [M, sum of C]. OpenCV's
    remap maps must stay under 32767 px a side, so the points are folded into rows of _REMAP_COLS."""
    import cv2

    m = mx.size
    pad = -m % _REMAP_COLS
    fx = np.concatenate([mx, np.zeros(pad, np.float32)]).reshape(-1, _REMAP_COLS)
    fy = np.concatenate([my, np.zeros(pad, np.float32)]).reshape(-1, _REMAP_COLS)
    out = [
        cv2.remap(im, fx, fy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE).reshape(-1, im.shape[-1])[:m]
        for im in images
    ]
    return np.concatenate(out, -1)


def polish_affines(
    img0: np.ndarray,
    img1: np.ndarray,
    lab: np.ndarray,
    params: np.ndarray,
    active: np.ndarray | None = None,
    sigmas: Sequence[float] = (1.5, 0.7),
    iters: int = 3,
    scale: float = 1.0,
    max_step: float = 1.0,
    grey: bool = False,
) -> np.ndarray:
    """Polished affine maps of every segment.

    img0, img1: uint8 [H, W, 3] (or [H, W]); lab: int64 [H, W] compact ids 0..n-1; params: float [n, 2, 3] (see
    `SegmentSamples.fit`: u = p[k, 0] . (1, x, y), v = p[k, 1] . (1, x, y)); active: bool [n], segments to polish
    (default all); sigmas: px, Gaussian smoothing of the frames per level, coarse to fine; iters: Gauss-Newton
    steps per level; scale: px, the robust scale of a pixel's misfit; max_step: px, the largest change of a
    segment's translation per step; grey: align grey levels (else every colour channel).
    Returns float64 [n, 2, 3]; segments not active, or without signal, keep their maps.

    A pixel's residual r = I1(p + A p) - I0(p) is read as a displacement along the image gradient g: d = r / |g|
    (with |g|^2 floored by EPS_GRAD^2), and it weighs 1 / (|g|^2 (1 + (d / scale)^2)^2) (Geman-McClure on d, every
    pixel one vote whatever its contrast): strong edges of another surface (occlusions, a neighbour's outline
    under the smoothing) cannot outvote a segment's own weak texture, as they do with weights on grey levels.
    """
    h, w = lab.shape
    params = np.array(params, np.float64)
    act = np.ones(params.shape[0], bool) if active is None else np.asarray(active, bool)
    a0, a1 = (_channels(im, h, w, grey) for im in (img0, img1))
    px = _PolishPixels.of(lab, act, _smooth(a0, sigmas[-1])) if act.any() else None
    if px is None:
        return params
    for sigma in sigmas:
        i0 = np.ascontiguousarray(_smooth(a0, sigma).reshape(h * w, -1)[px.index].T)  # [C, M]
        s1 = _smooth(a1, sigma)
        stack = [s1, *_gradients(s1)]  # each [H, W, C]
        for _ in range(iters):
            params += _gauss_newton_step(px, params, act, i0, stack, scale, max_step)
    return params


class _PolishPixels(NamedTuple):
    """The pixels the polish aligns, grouped by segment, with their coordinates (M of them, n segments)."""

    index: np.ndarray  # [M] flat pixel ids
    seg: np.ndarray  # [M] their segments
    x: np.ndarray  # [M] float64 pixel coordinates
    y: np.ndarray
    present: np.ndarray  # [n] bool, segments with pixels
    starts: np.ndarray  # first pixel of each present segment
    cx: np.ndarray  # [n] centroids of the segments' pixels
    cy: np.ndarray
    norm: float  # coordinate scale (the longer frame side)
    mono: np.ndarray  # [3, M] float32 (1, xc, yc), coordinates centred per segment and scaled by norm
    mono2: np.ndarray  # [6, M] float32 1, xc, yc, xc xc, xc yc, yc yc
    hw: tuple[int, int]

    @classmethod
    def of(cls, lab: np.ndarray, act: np.ndarray, smooth0: np.ndarray) -> _PolishPixels | None:
        """The pixels of active segments near gradient in frame 0 (smooth0 float32 [H, W, C]); None when none."""
        h, w = lab.shape
        n = act.size
        flat_lab = lab.ravel()
        idx = _active_pixels(smooth0, lab, 1)
        idx = idx[act[flat_lab[idx]]]
        if idx.size == 0:
            return None
        idx = idx[np.argsort(flat_lab[idx], kind="stable")]  # grouped by segment: sums are reduceat calls
        seg = flat_lab[idx]
        cnt = np.bincount(seg, minlength=n)
        yy, xx = np.divmod(idx, w)
        x, y = xx.astype(np.float64), yy.astype(np.float64)
        # per-segment centring and scaling of the coordinates keeps the 6x6 systems well conditioned
        cx = np.bincount(seg, x, n) / np.maximum(cnt, 1)
        cy = np.bincount(seg, y, n) / np.maximum(cnt, 1)
        norm = float(max(h, w))
        xc, yc = ((x - cx[seg]) / norm).astype(np.float32), ((y - cy[seg]) / norm).astype(np.float32)
        mono = np.stack([np.ones_like(xc), xc, yc])
        starts = (np.cumsum(cnt) - cnt)[cnt > 0]
        return cls(idx, seg, x, y, cnt > 0, starts, cx, cy, norm, mono, mono[_SYM_I] * mono[_SYM_J], (h, w))


def _gauss_newton_step(
    px: _PolishPixels,
    params: np.ndarray,
    act: np.ndarray,
    i0: np.ndarray,
    stack: list[np.ndarray],
    scale: float,
    max_step: float,
) -> np.ndarray:
    """One damped, robustly weighted Gauss-Newton step of every active segment: the change of params [n, 2, 3].
    i0: frame 0 at the pixels [C, M]; stack: frame 1 and its x and y gradients, each float32 [H, W, C]."""
    h, w = px.hw
    n, c = params.shape[0], i0.shape[0]
    x, y, p = px.x, px.y, params[px.seg]  # p: [M, 2, 3]
    mx = (x + p[:, 0, 0] + p[:, 0, 1] * x + p[:, 0, 2] * y).astype(np.float32)
    my = (y + p[:, 1, 0] + p[:, 1, 1] * x + p[:, 1, 2] * y).astype(np.float32)
    smp = _sample(stack, mx, my).T  # [3C, M]
    inside = (mx >= 0) & (mx <= w - 1) & (my >= 0) & (my <= h - 1)
    r = smp[:c] - i0  # [C, M]
    gx, gy = smp[c : 2 * c], smp[2 * c :]
    g2 = gx * gx + gy * gy + np.float32(EPS_GRAD**2)
    wgt = inside / (g2 * (1.0 + r * r / (g2 * np.float32(scale**2))) ** 2)  # [C, M]
    # J = (gx m, gy m) with m = (1, xc, yc): the normal equations need only the channel sums of w gx gx,
    # w gx gy, w gy gy, w gx r, w gy r, times the monomials of m
    wx, wy = wgt * gx, wgt * gy
    pair = np.stack([(wx * gx).sum(0), (wx * gy).sum(0), (wy * gy).sum(0)])  # [3, M]
    res = np.stack([(wx * r).sum(0), (wy * r).sum(0)])  # [2, M]
    prods = np.concatenate([(pair[:, None] * px.mono2).reshape(18, -1), (res[:, None] * px.mono).reshape(6, -1)])
    sums = np.add.reduceat(prods, px.starts, axis=1).astype(np.float64).T  # [n_present, 24]
    hess = np.zeros((n, 6, 6))
    grad = np.zeros((n, 6))
    hess[px.present] = _normal_matrix(sums[:, :18])
    grad[px.present] = sums[:, 18:]
    diag = np.einsum("nii->ni", hess)
    damp = _RIDGE * np.maximum(diag.mean(-1, keepdims=True), 1e-9)
    hess[:, np.arange(6), np.arange(6)] += damp + 0.01 * diag
    ok = act & (diag[:, 0] + diag[:, 3] > 1e-6)
    step = np.zeros((n, 6))
    step[ok] = -np.linalg.solve(hess[ok], grad[ok, :, None])[..., 0]
    return _absolute_step(step, px.cx, px.cy, px.norm, max_step)


_SYM_I, _SYM_J = np.array([0, 0, 0, 1, 1, 2]), np.array([0, 1, 2, 1, 2, 2])
_SYM = np.array([[0, 1, 2], [1, 3, 4], [2, 4, 5]])  # monomial of m_i m_j in mono2


def _normal_matrix(sums: np.ndarray) -> np.ndarray:
    """Per segment, the 6x6 matrix J^T W J from the sums [n, 18] of (w gx gx, w gx gy, w gy gy) x (1, x, y, xx, xy,
    yy) -> [n, 6, 6] (parameter order: u's 1, x, y, then v's)."""
    xx, xy, yy = sums[:, :6][:, _SYM], sums[:, 6:12][:, _SYM], sums[:, 12:18][:, _SYM]  # each [n, 3, 3]
    return np.concatenate([np.concatenate([xx, xy], 2), np.concatenate([xy, yy], 2)], 1)


def _absolute_step(step: np.ndarray, cx: np.ndarray, cy: np.ndarray, norm: float, max_step: float) -> np.ndarray:
    """Gauss-Newton steps [n, 6] in centred, scaled coordinates -> changes of the params [n, 2, 3] in pixel
    coordinates, each scaled down so that the segment's centroid moves at most max_step px."""
    out = step.reshape(-1, 2, 3).copy()
    out[:, :, 1:] /= norm
    move = np.hypot(out[:, 0, 0], out[:, 1, 0])  # the centroid's displacement
    out[:, :, 0] -= out[:, :, 1] * cx[:, None] + out[:, :, 2] * cy[:, None]
    return out * np.minimum(1.0, max_step / np.maximum(move, 1e-12))[:, None, None]


def _channels(img: np.ndarray, h: int, w: int, grey: bool) -> np.ndarray:
    """uint8 [H, W, 3] or [H, W] -> float32 [H, W, C]: grey levels (C = 1) or the colour channels."""
    a = np.asarray(img, np.float32).reshape(h, w, -1)
    if grey and a.shape[-1] == 3:
        a = a @ np.array([[0.299], [0.587], [0.114]], np.float32)
    return np.ascontiguousarray(a)
