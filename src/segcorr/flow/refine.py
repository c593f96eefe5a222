"""Segment-level refinement of a dense flow: robust affine fits per segment and segment-wise fusion.

Cel animation moves in pieces: between two frames a flat colour region (and the line art around it) moves
close to an affine map. `segment_affine` replaces the flow inside every segment by a robust affine fit of
it (iteratively reweighted least squares, all segments at once through summed normal equations);
occluded pixels inherit the motion of their segment instead of a guess. `fuse_segments` then chooses, per
segment, between candidate flows (the network's fit, a classical method's fit, the network's own flow) by
photometric error after warping frame 1, with small penalties against the classical candidate (its own
optimiser makes its photometric error look better than its flow is) and the unfitted flow. A propagation
pass (`propagate_segments`) then offers every segment the frame's dominant affine motion and the affine
motions of its neighbours: a flat region's own estimate is weak, and the right one is often next door. The same
piecewise-parametric prior is the homography/affine smoothness loss of `segcorr.flow.losses`; here it is
applied at inference.

Validation figures (seeds 500100.., 512x384, shipped V3 of stage 2, network flow -> fused): EPE 6.72 -> 5.29
on cel pairs with their own segments, 4.91 -> 2.59 on textured pairs with the flat segmenter (full-size
segments). With the propagation pass (cel pairs: stage-3 network; others: stage-2 network, flat segmenter):
cel pairs with their own segments 5.16 -> 4.75, textured 2.59 -> 2.08, 256x192 2.40 -> 2.21, 1280x768
10.30 -> 10.03, cel pairs with the flat segmenter even (6.02 -> 6.02).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

REFINE_MODES = ("none", "affine", "fuse")


@dataclass(frozen=True)
class RefineConfig:
    """Options of `refine_flow`.

    mode: "none" (network flow as is), "affine" (per-segment robust affine fit of it), "fuse" (per segment, the
        best by photometric error of: the fit of the network flow, the fit of `classical`'s flow, the network flow).
    classical: OpenCV method that supplies the second candidate in "fuse" mode.
    tau: px, floor of the robust scale (Cauchy weights 1 / (1 + (r / c)^2), c = max(tau, 1.5 x mean residual)).
    iters: reweighting rounds of the affine fit.
    penalty: grey levels (0..255) added to the classical candidate's mean segment error.
    raw_penalty: the same for the third candidate, the network's flow without the fit (a way out for segments
        whose motion is not affine: bending, deforming; neutral on affine validation pairs).
    trunc: grey levels, truncation of the per-pixel photometric error, so a segment's cost is close to its share
        of mismatched pixels and occluded parts cannot dominate it (validation: 40 -> 10 took cel pairs 5.67 ->
        5.29, textured 2.81 -> 2.59).
    neighbours: "fuse" mode, candidates of the propagation pass (0: no pass): the dominant motion and the affine
        motions of this many neighbouring segments (longest shared borders first).
    neighbour_penalty: grey levels added to a neighbour's candidate (validation: 0.5 better than 0.25 and 1.0).
    """

    mode: str = "fuse"
    classical: str = "dis-medium"
    tau: float = 2.0
    iters: int = 3
    penalty: float = 0.125
    raw_penalty: float = 0.25
    trunc: float = 10.0
    neighbours: int = 3
    neighbour_penalty: float = 0.5


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


def fit_segment_affine(flow: np.ndarray, labels: np.ndarray, tau: float = 2.0, iters: int = 3,
                       stride: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Robust affine fit of `flow` inside every segment.

    flow: float32 [2, H, W]; labels: int [H, W] (any ids, 0 included). Returns (lab [H, W] int64 compact ids
    0..n-1, params float64 [n, 2, 3]): segment k's flow is u = p[k,0] . (1, x, y), v = p[k,1] . (1, x, y) in
    pixel coordinates. Segments too thin for an affine map (a line, a single pixel) fall back to a translation
    through a small ridge on the linear terms.
    stride: fit on every stride-th pixel in x and y (all pixels of segments under 64 px).
    """
    h, w = labels.shape
    lab_all, n = compact_labels(labels)
    lab2d = lab_all.reshape(h, w)
    norm = float(max(h, w))
    gx = np.arange(w, dtype=np.float64) / norm  # [W] coordinates scaled to ~unit range
    gy = np.arange(h, dtype=np.float64) / norm  # [H]
    cnt_all = np.bincount(lab_all, minlength=n).astype(np.float64)
    cx = np.bincount(lab_all, np.broadcast_to(gx, (h, w)).ravel(), n) / cnt_all
    cy = np.bincount(lab_all, np.broadcast_to(gy[:, None], (h, w)).ravel(), n) / cnt_all
    pick = (cnt_all < 64)[lab2d]  # [H, W] fit pixels
    pick[::stride, ::stride] = True
    order = np.argsort(lab2d[pick], kind="stable")  # fit pixels grouped by segment: sums are reduceat calls
    lab = lab2d[pick][order]  # [N]
    cnt = np.bincount(lab, minlength=n)
    present = cnt > 0
    starts = (np.cumsum(cnt) - cnt)[present]
    u, v = flow[0][pick][order].astype(np.float64), flow[1][pick][order].astype(np.float64)
    # coordinates centred per segment for conditioning
    x = np.broadcast_to(gx, (h, w))[pick][order] - cx[lab]
    y = np.broadcast_to(gy[:, None], (h, w))[pick][order] - cy[lab]
    # per-pixel products of the normal equations: 1, x, y, xx, xy, yy | u, xu, yu | v, xv, yv
    prod = np.stack([np.ones_like(x), x, y, x * x, x * y, y * y, u, x * u, y * u, v, x * v, y * v], 1)  # [N, 12]
    sym = np.array([[0, 1, 2], [1, 3, 4], [2, 4, 5]])
    ridge = np.diag([0.0, 1e-6, 1e-6])  # per-pixel weight units; keeps thin segments solvable
    wgt = np.ones_like(x)
    pu = np.zeros((n, 3))
    pv = np.zeros((n, 3))
    rounds = max(1, iters)
    for it in range(rounds):
        sums = np.add.reduceat(prod * wgt[:, None], starts, axis=0)  # [n_present, 12]
        ata = sums[:, sym]  # [n_present, 3, 3]
        ata += ridge * np.maximum(sums[:, 0], 1.0)[:, None, None]
        ata[:, 0, 0] += 1e-9
        pu[present] = np.linalg.solve(ata, sums[:, 6:9, None])[..., 0]
        pv[present] = np.linalg.solve(ata, sums[:, 9:12, None])[..., 0]
        if it == rounds - 1:
            break
        fu = pu[lab, 0] + pu[lab, 1] * x + pu[lab, 2] * y
        fv = pv[lab, 0] + pv[lab, 1] * x + pv[lab, 2] * y
        r = np.hypot(fu - u, fv - v)
        c = np.maximum(tau, 1.5 * np.add.reduceat(r, starts) / cnt[present])
        wgt = 1.0 / (1.0 + (r / np.repeat(c, cnt[present])) ** 2)
    params = np.empty((n, 2, 3))
    for k, p in enumerate((pu, pv)):  # centred, scaled -> absolute pixel coordinates
        params[:, k, 0] = p[:, 0] - p[:, 1] * cx - p[:, 2] * cy
        params[:, k, 1:] = p[:, 1:] / norm
    return lab2d, params


def affine_field(lab: np.ndarray, params: np.ndarray) -> np.ndarray:
    """Piecewise-affine flow: lab int [H, W] ids 0..n-1, params [n, 2, 3] (see `fit_segment_affine`) ->
    float32 [2, H, W]."""
    h, w = lab.shape
    gx = np.arange(w, dtype=np.float32)
    gy = np.arange(h, dtype=np.float32)[:, None]
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
    a = np.concatenate([lab[:, :-1].ravel(), lab[:-1].ravel()])
    b = np.concatenate([lab[:, 1:].ravel(), lab[1:].ravel()])
    cut = a != b
    a, b = a[cut], b[cut]
    pair, border = np.unique(np.concatenate([a * n + b, b * n + a]), return_counts=True)
    src, dst = pair // n, pair % n
    order = np.lexsort((-border, src))  # by segment, longest border first
    src, dst = src[order], dst[order]
    rank = np.arange(src.size) - np.searchsorted(src, src)  # position within the segment's list
    out = np.repeat(np.arange(n)[:, None], k, 1)
    keep = rank < k
    out[src[keep], rank[keep]] = dst[keep]
    return out


def photometric_error(img0: np.ndarray, img1: np.ndarray, flow: np.ndarray, trunc: float = 10.0) -> np.ndarray:
    """Truncated mean absolute RGB difference between frame 0 and frame 1 warped by `flow`: float32 [H, W].

    img0, img1: uint8 [H, W, C]; flow: [2, H, W]. Pixels sent out of the frame cost trunc / 2.
    """
    import cv2

    h, w = flow.shape[1:]
    mx = (flow[0] + np.arange(w, dtype=np.float32)).astype(np.float32, copy=False)  # [H, W]
    my = (flow[1] + np.arange(h, dtype=np.float32)[:, None]).astype(np.float32, copy=False)
    warped = cv2.remap(img1, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    diff = cv2.absdiff(warped, img0)  # uint8, exact |a - b|
    if diff.ndim == 3:
        err = diff.sum(-1, dtype=np.uint16).astype(np.float32) / diff.shape[-1]
    else:
        err = diff.astype(np.float32)
    np.minimum(err, trunc, out=err)
    err[(mx < 0) | (mx > w - 1) | (my < 0) | (my > h - 1)] = trunc / 2
    return err


def fuse_segments(img0: np.ndarray, img1: np.ndarray, labels: np.ndarray, candidates: Sequence[np.ndarray],
                  penalties: Sequence[float] | None = None, trunc: float = 10.0) -> np.ndarray:
    """Per segment, the candidate flow with the lowest mean photometric error (+ its penalty).

    candidates: K flows float32 [2, H, W]; penalties: K grey-level offsets (default 0). Ties keep the first.
    """
    return _fuse(img0, img1, labels, candidates, penalties, trunc)[0]


def _fuse(img0: np.ndarray, img1: np.ndarray, labels: np.ndarray, candidates: Sequence[np.ndarray],
          penalties: Sequence[float] | np.ndarray | None = None, trunc: float = 10.0,
          errors: Sequence[np.ndarray | None] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """`fuse_segments`, also returning the photometric error [H, W] of the result; `errors`: known error maps of
    some candidates (None where unknown), so a later pass need not warp the same flow again; penalties may also
    be per candidate and segment ([K, n], segments in `compact_labels` order)."""
    lab, n = compact_labels(labels)
    cnt = np.maximum(np.bincount(lab, minlength=n), 1)
    known = list(errors or []) + [None] * (len(candidates) - len(errors or []))
    errs = [e if e is not None else photometric_error(img0, img1, c, trunc) for c, e in zip(candidates, known)]
    cost = np.stack([np.bincount(lab, e.ravel(), n) / cnt for e in errs])  # [K, n]
    if penalties is not None:
        pen = np.asarray(penalties, np.float64)
        cost += pen[:, None] if pen.ndim == 1 else pen
    pick = cost.argmin(0)[lab].reshape(labels.shape)  # [H, W]
    out = np.array(candidates[0], dtype=np.float32)
    err = np.array(errs[0], dtype=np.float32)
    for k in range(1, len(candidates)):
        np.copyto(out, candidates[k], where=(pick == k)[None])
        np.copyto(err, errs[k], where=pick == k)
    return out, err


def refine_flow(img0: np.ndarray, img1: np.ndarray, flow: np.ndarray, labels: np.ndarray | None,
                cfg: RefineConfig = RefineConfig()) -> np.ndarray:
    """Apply `cfg.mode` to a network flow. img0/img1 uint8 [H, W, 3]; flow [2, H, W]; labels int [H, W].

    Without labels (a model run without segments and no segmenter) the flow is returned unchanged.
    """
    if cfg.mode not in REFINE_MODES:
        raise ValueError(f"unknown refine mode {cfg.mode!r}; known: {', '.join(REFINE_MODES)}")
    if cfg.mode == "none" or labels is None:
        return flow
    fitted = segment_affine(flow, labels, cfg.tau, cfg.iters)
    if cfg.mode == "affine":
        return fitted
    from segcorr.flow.classical import estimate_flow

    other = segment_affine(estimate_flow(img0, img1, cfg.classical), labels, cfg.tau, cfg.iters)
    fused, err = _fuse(img0, img1, labels, [fitted, other, flow], [0.0, cfg.penalty, cfg.raw_penalty], cfg.trunc)
    if cfg.neighbours <= 0:
        return fused
    return propagate_segments(img0, img1, fused, labels, cfg, err)


def propagate_segments(img0: np.ndarray, img1: np.ndarray, flow: np.ndarray, labels: np.ndarray,
                       cfg: RefineConfig = RefineConfig(), error: np.ndarray | None = None) -> np.ndarray:
    """One segment-level propagation pass: each segment keeps its flow or takes the affine motion of the frame's
    dominant motion or of one of its `cfg.neighbours` neighbours (longest shared borders), by photometric error.

    A flat region has no texture to match inside: only its border tells its motion, and a wrong estimate there is
    often the right motion of the region next to it (a background plate pans as one piece; a sleeve moves with
    its arm). flow: float32 [2, H, W], usually the output of `fuse_segments`; labels: int [H, W]; error: the
    photometric error [H, W] of `flow` when already known.
    """
    lab, params = fit_segment_affine(flow, labels, cfg.tau, cfg.iters)
    k, n = cfg.neighbours, len(params)
    nb = segment_neighbours(lab, n, k)
    # dominant motion: one robust affine fit over the whole frame (tight scale, more rounds)
    whole = np.zeros(lab.shape, np.int64)  # the frame as one segment
    _, dominant = fit_segment_affine(flow, whole, 1.0, 8, stride=4)
    cands = [flow, affine_field(whole, dominant)]
    cands += [affine_field(lab, params[nb[:, j]]) for j in range(k)]
    pen = np.zeros((len(cands), n))
    pen[2:] = cfg.neighbour_penalty
    # A neighbour's affine map extrapolated over a large segment can reach motions seen nowhere in the frame; such
    # a candidate may still look cheap by sending the segment out of the frame. Allow at most 1.25x the frame's
    # 99th-percentile speed (+ 4 px).
    bound = 1.25 * float(np.percentile(np.hypot(flow[0], flow[1]), 99)) + 4.0
    flat = lab.ravel()
    for j in range(1, len(cands)):
        wild = np.bincount(flat, (np.hypot(cands[j][0], cands[j][1]) > bound).ravel(), n) > 0
        pen[j, wild] = np.inf
    return _fuse(img0, img1, labels, cands, pen, cfg.trunc, [error])[0]
