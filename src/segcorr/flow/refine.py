"""Segment-level refinement of a dense flow: robust affine fits per segment and segment-wise fusion.

Cel animation moves in pieces: between two frames a flat colour region (and the line art around it) moves
close to an affine map. `segment_affine` replaces the flow inside every segment by a robust affine fit of
it (iteratively reweighted least squares, all segments at once through summed normal equations);
occluded pixels inherit the motion of their segment instead of a guess. `fuse_segments` then chooses, per
segment, between candidate flows (the network's fit, the fit of a classical method started from the network's
flow, the network's own flow) by
photometric error after warping frame 1, with small penalties against the classical candidate (its own
optimiser makes its photometric error look better than its flow is) and the unfitted flow; the classical
candidate is offered only in textured segments (`textured_segments`): inside a flat cel region its flow is an
interpolation from the borders that a photometric cost cannot check. A propagation
pass (`propagate_segments`) then offers every segment the frame's dominant affine motion and the affine
motions of its neighbours: a flat region's own estimate is weak, and the right one is often next door. The same
piecewise-parametric prior is the homography/affine smoothness loss of `segcorr.flow.losses`; here it is
applied at inference.

Validation figures (seeds 500100.., 512x384, shipped V3 of stage 2, network flow -> fused): EPE 6.72 -> 5.29
on cel pairs with their own segments, 4.91 -> 2.59 on textured pairs with the flat segmenter (full-size
segments). With the propagation pass (cel pairs: stage-3 network; others: stage-2 network, flat segmenter):
cel pairs with their own segments 5.16 -> 4.75, textured 2.59 -> 2.08, 256x192 2.40 -> 2.21, 1280x768
10.30 -> 10.03, cel pairs with the flat segmenter even (6.02 -> 6.02).

Speed: segment costs are averaged over a stride-2 pixel grid (`RefineConfig.cost_stride`; small and thin segments
keep all their pixels), the affine fits share their geometry, and the propagation reuses the fusion's fits. At
512x384 that halves the refinement's time (one core under load: 150 -> 75 ms, best of 9; 60 ms in
`benchmarks/flow_model_latency.py` on an idle machine) for a small change on the same validation pairs
(every pixel -> stride 2): cels with their own segments 4.754 -> 4.791, textured 2.080 -> 2.069, cels with the
flat segmenter 6.021 -> 6.071, 256x192 2.203 -> 2.213, 1280x768 10.027 -> 10.034. With the stage-5 network,
cels with their own segments 4.575 -> 4.574, textured 2.076 -> 2.073. Costs and fits on a stride-3 grid and the
dominant motion on every 8th pixel (see `RefineConfig`) cut it again by about 40 % for no change on validation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from segcorr.flow.segment_fit import (SegmentAffineFits, affine_field, compact_labels,  # noqa: F401 (re-exported)
                                      fit_segment_affine, sample_mask, segment_affine, segment_neighbours)

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
        motions of up to this many neighbouring segments (longest shared borders first). More is not better: on
        validation, 3 -> 12 gained 2 % on cels with their own segments with the stage-3 network, but with the
        stage-5 network it lost 5 % on textured pairs and 1 % at 1280x768 (gaining < 1 % elsewhere).
    neighbour_penalty: grey levels added to a neighbour's candidate (validation: 0.5 better than 0.25 and 1.0).
    cost_stride: a segment's photometric cost is the mean over every cost_stride-th pixel in x and y (and all
        pixels of small and thin segments); 1: every pixel.
    fit_stride: the affine fits use every fit_stride-th pixel in x and y (and all pixels of small and thin
        segments).
    dominant_step: the frame's dominant motion (propagation pass) is fitted on every dominant_step-th pixel.
        Strides 2, 2 and step 4 -> 3, 3 and 8 (validation, stage-7 network: cels with their own segments 3.868 ->
        3.868, cels with the flat segmenter 4.962 -> 4.950, textured 2.140 -> 2.138, 256x192 1.723 -> 1.707,
        1280x768 8.547 -> 8.548) took the refinement at 512x384 from about 80 to 45 ms on this machine (medians
        of 15 runs, same process). Strides 4, 4 saved about 9 ms more but lost about 1 % on three of the five
        sets.
    flat_grad, textured_share: the classical candidate is offered only in textured segments: more than
        `textured_share` of the segment's interior pixels (all four neighbours in the segment) have a gradient
        above `flat_grad` grey levels per px, or fewer than 16 interior pixels (lines, small parts). In a flat
        cel region DIS's flow is an interpolation from the borders that the photometric cost cannot check
        (validation, stage-6 network, classical candidate everywhere -> textured segments only: cels with their
        own segments 4.806 -> 4.179, cels with the flat segmenter 6.105 -> 5.477, 256x192 2.067 -> 1.807,
        1280x768 8.813 -> 8.855, textured pairs 2.021 -> 2.295). textured_share < 0: everywhere.
    classical_init: the classical method starts from the network's flow instead of from zero, so its candidate
        is the network's motion corrected by image matching rather than an independent guess (validation,
        stage-7 network, from zero -> from the network: cels with their own segments 3.903 -> 3.868 (line pixels
        5.595 -> 5.228), cels with the flat segmenter 5.242 -> 4.962, textured 2.288 -> 2.140, 256x192 1.755 ->
        1.723, 1280x768 8.567 -> 8.547; the same DIS run, no extra time).
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
    cost_stride: int = 3
    flat_grad: float = 1.0
    textured_share: float = 0.3
    classical_init: bool = True
    fit_stride: int = 3
    dominant_step: int = 8


def photometric_error(img0: np.ndarray, img1: np.ndarray, flow: np.ndarray, trunc: float = 10.0) -> np.ndarray:
    """Truncated mean absolute RGB difference between frame 0 and frame 1 warped by `flow`: float32 [H, W].

    img0, img1: uint8 [H, W, C]; flow: [2, H, W]. Pixels sent out of the frame cost trunc / 2.
    """
    h, w = flow.shape[1:]
    mx = (flow[0] + np.arange(w, dtype=np.float32)).astype(np.float32, copy=False)  # [H, W]
    my = (flow[1] + np.arange(h, dtype=np.float32)[:, None]).astype(np.float32, copy=False)
    return _warp_error(img0, img1, mx, my, trunc)


def _warp_error(ref: np.ndarray, img1: np.ndarray, mx: np.ndarray, my: np.ndarray, trunc: float) -> np.ndarray:
    """Truncated mean absolute difference between `ref` (uint8 [..., C] or [...]) and img1 sampled at (mx, my)
    (float32 maps of ref's leading shape, each side under 32767): float32 of that shape; out of frame: trunc / 2."""
    import cv2

    h, w = img1.shape[:2]
    warped = cv2.remap(img1, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    diff = cv2.absdiff(warped.reshape(ref.shape), ref)  # uint8, exact |a - b|
    if diff.ndim > mx.ndim:
        err = diff.sum(-1, dtype=np.uint16).astype(np.float32) / diff.shape[-1]
    else:
        err = diff.astype(np.float32)
    np.minimum(err, trunc, out=err)
    err[(mx < 0) | (mx > w - 1) | (my < 0) | (my > h - 1)] = trunc / 2
    return err


class _Samples:
    """The pixels that stand for each segment in photometric costs (see `sample_mask`).
    lab: int64 [H, W] compact ids 0..n-1."""

    def __init__(self, img0: np.ndarray, img1: np.ndarray, lab: np.ndarray, n: int, stride: int = 2):
        h, w = lab.shape
        mask = sample_mask(lab, n, stride)
        self.full = bool(mask.all())  # every pixel: whole-frame operations, no gathers
        self.index = np.arange(h * w) if self.full else np.flatnonzero(mask)  # [N]
        yy, xx = np.divmod(self.index, w)
        self.x, self.y = xx.astype(np.float32), yy.astype(np.float32)
        self.lab, self.seg = lab, lab.ravel()[self.index]  # [H, W], [N]
        self.n, self.h, self.w = n, h, w
        self.count = np.maximum(np.bincount(self.seg, minlength=n), 1)
        self.ref = img0.reshape(h * w, -1)[self.index]  # [N, C]
        self.img0, self.img1 = img0, img1

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

    def error(self, flow: np.ndarray, trunc: float, sel: np.ndarray | None = None) -> np.ndarray:
        """Photometric error (see `photometric_error`) of a sampled flow [2, N] -> float32 [N]; with `sel` (int
        [M]), of a flow [2, M] at those samples only -> float32 [M]."""
        if self.full and sel is None:
            return photometric_error(self.img0, self.img1, flow.reshape(2, self.h, self.w), trunc).ravel()
        x, y, ref = (self.x, self.y, self.ref) if sel is None else (self.x[sel], self.y[sel], self.ref[sel])
        n = x.size
        cols = 1024  # OpenCV maps must stay under 32767 px a side: fold the samples into rows
        pad = -n % cols
        mx = np.concatenate([flow[0] + x, np.zeros(pad, np.float32)]).reshape(-1, cols)
        my = np.concatenate([flow[1] + y, np.zeros(pad, np.float32)]).reshape(-1, cols)
        ref = np.concatenate([ref, np.zeros((pad, *ref.shape[1:]), ref.dtype)]).reshape(*mx.shape, *ref.shape[1:])
        return _warp_error(ref, self.img1, mx, my, trunc).ravel()[:n]

    def choose(self, errors: Sequence[np.ndarray], penalties: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per segment, the candidate with the lowest mean error + penalty (ties keep the first).

        errors: K float32 [N]; penalties: [K] or [K, n] -> (pick int64 [n], error of the picks float32 [N])."""
        cost = np.stack([np.bincount(self.seg, e, self.n) / self.count for e in errors])  # [K, n]
        pen = np.asarray(penalties, np.float64)
        cost += pen[:, None] if pen.ndim == 1 else pen
        pick = cost.argmin(0)
        err = np.stack(errors)[pick[self.seg], np.arange(self.seg.size)]
        return pick, err


def fuse_segments(img0: np.ndarray, img1: np.ndarray, labels: np.ndarray, candidates: Sequence[np.ndarray],
                  penalties: Sequence[float] | None = None, trunc: float = 10.0, stride: int = 1) -> np.ndarray:
    """Per segment, the candidate flow with the lowest mean photometric error (+ its penalty).

    candidates: K flows float32 [2, H, W]; penalties: K grey-level offsets (default 0). Ties keep the first.
    stride: the error is averaged over every stride-th pixel in x and y (and all pixels of small and thin segments).
    """
    lab, n = compact_labels(labels)
    lab = lab.reshape(labels.shape)
    s = _Samples(img0, img1, lab, n, stride)
    pen = np.zeros(len(candidates)) if penalties is None else np.asarray(penalties, np.float64)
    pick, _ = s.choose([s.error(s.take(c), trunc) for c in candidates], pen)
    pick = pick[lab]  # [H, W]
    out = np.array(candidates[0], dtype=np.float32)
    for k in range(1, len(candidates)):
        np.copyto(out, candidates[k], where=(pick == k)[None])
    return out


def textured_segments(img: np.ndarray, lab: np.ndarray, n: int, flat_grad: float = 1.0,
                      share: float = 0.3) -> np.ndarray:
    """bool [n]: segments of lab (int [H, W], ids 0..n-1) with texture in img (uint8 [H, W, 3] or [H, W]):
    more than `share` of their interior pixels (all four neighbours in the segment) have a Sobel gradient above
    `flat_grad` grey levels per px; segments with fewer than 16 interior pixels (lines, small parts) count too."""
    import cv2

    grey = (cv2.cvtColor(img, cv2.COLOR_RGB2GRAY) if img.ndim == 3 else img).astype(np.float32)
    mag = np.hypot(cv2.Sobel(grey, cv2.CV_32F, 1, 0), cv2.Sobel(grey, cv2.CV_32F, 0, 1)) / 8  # grey levels / px
    inner = np.ones(lab.shape, bool)
    same_x, same_y = lab[:, 1:] == lab[:, :-1], lab[1:] == lab[:-1]
    inner[:, 1:] &= same_x
    inner[:, :-1] &= same_x
    inner[1:] &= same_y
    inner[:-1] &= same_y
    total = np.bincount(lab[inner], minlength=n)
    busy = np.bincount(lab[inner & (mag > flat_grad)], minlength=n)
    return (total < 16) | (busy > share * total)


def refine_flow(img0: np.ndarray, img1: np.ndarray, flow: np.ndarray, labels: np.ndarray | None,
                cfg: RefineConfig = RefineConfig()) -> np.ndarray:
    """Apply `cfg.mode` to a network flow. img0/img1 uint8 [H, W, 3]; flow [2, H, W]; labels int [H, W].

    Without labels (a model run without segments and no segmenter) the flow is returned unchanged.
    """
    if cfg.mode not in REFINE_MODES:
        raise ValueError(f"unknown refine mode {cfg.mode!r}; known: {', '.join(REFINE_MODES)}")
    if cfg.mode == "none" or labels is None:
        return flow
    fits = SegmentAffineFits(labels, cfg.fit_stride)
    p_net = fits.fit(flow, cfg.tau, cfg.iters)  # [n, 2, 3]
    if cfg.mode == "affine":
        return affine_field(fits.lab, p_net)
    from segcorr.flow.classical import estimate_flow

    start = flow if cfg.classical_init else None
    p_dis = fits.fit(estimate_flow(img0, img1, cfg.classical, init=start), cfg.tau, cfg.iters)
    s = _Samples(img0, img1, fits.lab, fits.n, cfg.cost_stride)
    cands = [s.affine(p_net), s.affine(p_dis), s.take(flow)]
    pen = np.array([0.0, cfg.penalty, cfg.raw_penalty])[:, None] + np.zeros((1, fits.n))
    if cfg.textured_share >= 0:  # the classical candidate only where the frame has texture to match
        pen[1, ~textured_segments(img0, fits.lab, fits.n, cfg.flat_grad, cfg.textured_share)] = np.inf
    pick, err = s.choose([s.error(c, cfg.trunc) for c in cands], pen)
    params = np.where((pick == 1)[:, None, None], p_dis, p_net)  # the raw flow's own fit is p_net
    raw = pick == 2  # [n] segments that keep the network's flow as is
    if cfg.neighbours > 0:
        fused = np.stack(cands)[pick[s.seg], :, np.arange(s.seg.size)].T  # [2, N] the fused flow at the samples
        sub = _fused_field(fits.lab, params, raw, flow, cfg.dominant_step)  # and on the dominant motion's grid
        moved, chosen = _propagation_choice(s, fused, sub, params, err, cfg)
        params = np.where(moved[:, None, None], chosen, params)
        raw &= ~moved
    return _fused_field(fits.lab, params, raw, flow)  # the full field is built once, after every choice


def _fused_field(lab: np.ndarray, params: np.ndarray, raw: np.ndarray, flow: np.ndarray, step: int = 1) -> np.ndarray:
    """The piecewise-affine field of params [n, 2, 3] on every step-th pixel of lab (int [H, W]), with the flow
    [2, H, W] itself in the segments marked by raw (bool [n]) -> float32 [2, H', W']."""
    grid = lab[::step, ::step]
    out = affine_field(grid, params, step)
    np.copyto(out, flow[:, ::step, ::step], where=raw[grid][None])
    return out


def propagate_segments(img0: np.ndarray, img1: np.ndarray, flow: np.ndarray, labels: np.ndarray,
                       cfg: RefineConfig = RefineConfig()) -> np.ndarray:
    """One segment-level propagation pass: each segment keeps its flow or takes the affine motion of the frame's
    dominant motion or of one of its `cfg.neighbours` neighbours (longest shared borders), by photometric error.

    A flat region has no texture to match inside: only its border tells its motion, and a wrong estimate there is
    often the right motion of the region next to it (a background plate pans as one piece; a sleeve moves with
    its arm). flow: float32 [2, H, W], usually the output of the fusion; labels: int [H, W].
    """
    fits = SegmentAffineFits(labels, cfg.fit_stride)
    s = _Samples(img0, img1, fits.lab, fits.n, cfg.cost_stride)
    sampled, st = s.take(flow), cfg.dominant_step
    moved, chosen = _propagation_choice(s, sampled, flow[:, ::st, ::st], fits.fit(flow, cfg.tau, cfg.iters),
                                        s.error(sampled, cfg.trunc), cfg)
    return _fused_field(fits.lab, chosen, ~moved, flow)


def _propagation_choice(s: _Samples, flow: np.ndarray, sub: np.ndarray, params: np.ndarray, error: np.ndarray,
                        cfg: RefineConfig) -> tuple[np.ndarray, np.ndarray]:
    """The choices of the propagation pass. flow: float32 [2, N] at the samples; sub: the same flow on every
    `cfg.dominant_step`-th pixel [2, H', W']; params: the segments' affine maps [n, 2, 3]; error: the sampled
    error [N] of flow -> (moved bool [n], chosen affine maps [n, 2, 3]: for moved segments, the motion that
    replaces their flow)."""
    k, n, lab = cfg.neighbours, s.n, s.seg
    nb = segment_neighbours(s.lab, n, k)
    # dominant motion: one robust affine fit over the whole frame (tight scale, more rounds) on a sparse grid
    st = cfg.dominant_step
    sub = np.ascontiguousarray(sub, dtype=np.float32)
    _, dominant = fit_segment_affine(sub, np.zeros(sub.shape[1:], np.int64), 1.0, 8, stride=1)
    dominant[:, :, 1:] /= st  # sub-grid -> full-grid pixel coordinates
    options = [params, np.broadcast_to(dominant, params.shape)] + [params[nb[:, j]] for j in range(k)]
    fu, fv = flow
    speed = np.sqrt(fu * fu + fv * fv)
    # A neighbour's affine map extrapolated over a large segment can reach motions seen nowhere in the frame; such
    # a candidate may still look cheap by sending the segment out of the frame. Allow at most 1.25x the frame's
    # 99th-percentile speed (+ 4 px).
    bound = 1.25 * float(np.percentile(speed, 99)) + 4.0
    pen = np.zeros((len(options), n))
    pen[2:] = cfg.neighbour_penalty
    errors = [error]
    for j in range(1, len(options)):
        # a segment with fewer than j - 1 neighbours has itself in that place: nothing new to cost there
        real = np.ones(n, bool) if j == 1 else nb[:, j - 2] != np.arange(n)
        pen[j, ~real] = np.inf
        err = np.zeros_like(error)
        if real.any():
            sel = np.flatnonzero(real[lab])
            cand = s.affine(options[j], sel)  # [2, M]
            fast = cand[0] * cand[0] + cand[1] * cand[1] > bound * bound
            pen[j, np.bincount(lab[sel], fast, n) > 0] = np.inf
            err[sel] = s.error(cand, cfg.trunc, sel)
        errors.append(err)
    pick, _ = s.choose(errors, pen)
    return pick > 0, np.stack(options)[pick, np.arange(n)]  # [n], [n, 2, 3]
