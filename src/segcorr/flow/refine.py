"""Segment-level refinement of a dense flow: robust affine fits per segment, segment-wise fusion of candidate flows,
and a propagation pass between neighbouring segments.

Cel animation moves in pieces: between two frames a flat colour region (and the line art around it) moves close to
an affine map. `refine_flow` in "affine" mode replaces the flow inside every segment by a robust affine fit of it
(`segcorr.flow.segment_fit`); occluded pixels inherit the motion of their segment instead of a guess. In "fuse" mode
it then chooses, per segment, between candidate flows (the network's fit, the fit of a classical method started
from the network's flow, the network's own flow, and the classical flow itself where it stays near the network's:
motion no affine map follows, such as smoke, hair or a turning figure) by photometric error after warping frame 1,
with small penalties against all but the network's fit; the classical candidates are offered only in textured segments
(`textured_segments`): inside a flat cel region its flow is an interpolation from the borders that a photometric
cost cannot check. A propagation pass (`propagate_segments`) then offers every segment the frame's dominant affine
motion and the affine motions of its neighbours: a flat region's own estimate is weak, and the right one is often
next door. The same piecewise-parametric prior is the affine smoothness loss of `segcorr.flow.losses`; here it is
applied at inference. Costs and fits run on sample grids (`RefineConfig`), small and thin segments keep all their
pixels. With `RefineConfig.polish_iters`, every segment's chosen affine map is then polished by direct image
alignment (`segcorr.flow.segment_polish`): the candidates come from coarse estimates, and choosing between them
cannot make the flow more precise than the best of them. In "fuse" mode a variational refinement of the whole
field (`segcorr.flow.variational`, `RefineConfig.variational_iters`) comes last: pixel by pixel, where the pieces
are not quite affine or the network's unfitted flow was kept; the motion borders between segments keep the fused
flow. Label 0 is "no segment" (a SAM-style map's gaps): never
fitted or chosen for, never a neighbour. Settings and how they were chosen: `RefineConfig`,
`src/segcorr/weights/README.md`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from segcorr.flow.checks import check_flow, check_frames, check_labels
from segcorr.flow.refine_config import RefineConfig
from segcorr.flow.segment_fit import SegmentSamples, affine_field, compact_labels, segment_neighbours


def _check_inputs(img0: np.ndarray, img1: np.ndarray, flows: Sequence[np.ndarray], labels: np.ndarray | None) -> None:
    """The one input check of the refinement's entry points (InputError naming what is wrong)."""
    hw = check_frames(img0, img1)
    for k, f in enumerate(flows):
        check_flow(f, hw, "flow" if len(flows) == 1 else f"candidate {k}")
    check_labels(labels, hw)


def _samples(
    img0: np.ndarray, img1: np.ndarray, labels: np.ndarray, cfg: RefineConfig
) -> tuple[SegmentSamples, SegmentSamples]:
    """The fit samples and the cost samples of one label map (one object when the strides agree)."""
    lab, n = compact_labels(labels)
    lab = lab.reshape(labels.shape)
    fits = SegmentSamples(lab, n, cfg.fit_stride, cfg.min_samples, img0, img1)
    if cfg.cost_stride == cfg.fit_stride:
        return fits, fits
    return fits, SegmentSamples(lab, n, cfg.cost_stride, cfg.min_samples, img0, img1)


def fuse_segments(
    img0: np.ndarray,
    img1: np.ndarray,
    labels: np.ndarray,
    candidates: Sequence[np.ndarray],
    penalties: Sequence[float] | None = None,
    cfg: RefineConfig = RefineConfig(),
) -> np.ndarray:
    """Per segment, the candidate flow with the lowest mean photometric error (+ its penalty).

    img0, img1: uint8 [H, W, 3]; labels: int [H, W]; candidates: K flows float32 [2, H, W]; penalties: K
    grey-level offsets (default 0). Ties keep the first. Costs use `cfg.trunc` on the `cfg.cost_stride` grid.
    """
    _check_inputs(img0, img1, candidates, labels)
    s = SegmentSamples.of(labels, cfg.cost_stride, cfg.min_samples, img0, img1)
    pen = np.zeros(len(candidates)) if penalties is None else np.asarray(penalties, np.float64)
    pick, _ = s.choose([s.error(s.take(c), cfg.trunc) for c in candidates], pen)
    pick = pick[s.lab]  # [H, W]
    out = np.array(candidates[0], dtype=np.float32)
    for k in range(1, len(candidates)):
        np.copyto(out, candidates[k], where=(pick == k)[None])
    return out


def textured_segments(img: np.ndarray, lab: np.ndarray, n: int, cfg: RefineConfig = RefineConfig()) -> np.ndarray:
    """bool [n]: segments of lab (int [H, W], ids 0..n-1) with texture in img (uint8 [H, W, 3] or [H, W]):
    more than `cfg.textured_share` of their interior pixels (all four neighbours in the segment) have a Sobel
    gradient above `cfg.flat_grad` grey levels per px; segments with fewer than `cfg.min_interior` interior pixels
    (lines, small parts) count too."""
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
    busy = np.bincount(lab[inner & (mag > cfg.flat_grad)], minlength=n)
    return (total < cfg.min_interior) | (busy > cfg.textured_share * total)


def refine_flow(
    img0: np.ndarray,
    img1: np.ndarray,
    flow: np.ndarray,
    labels: np.ndarray | None,
    cfg: RefineConfig = RefineConfig(),
    raw_flow: np.ndarray | None = None,
) -> np.ndarray:
    """Apply `cfg.mode` to a network flow. img0/img1 uint8 [H, W, 3]; flow float32 [2, H, W]; labels int [H, W]
    -> float32 [2, H, W].

    raw_flow (float32 [2, H, W], default `flow`): what the output holds where the network's own flow is kept
    (segments where the unfitted flow wins, label-0 pixels in "affine" mode, every pixel without labels), e.g. the
    flow without its 1/8-cell blocks (`segcorr.flow.deblock`); the fits, the choices and the classical
    method's start read `flow`, except the fourth candidate (`cfg.own_penalty`), which falls back to raw_flow where
    the classical flow strays more than `cfg.own_max_dev` from it (against the blocky flow the fallback's outline
    would follow the 1/8 cells). Without labels (a model run without segments and
    no segmenter) raw_flow is returned. Label 0
    means "no segment" (the gaps a SAM-style label map leaves): those pixels are not fitted, take no part in the
    choices and are no one's neighbour; in "fuse" mode they take the classical flow started from `flow` pixel by
    pixel, in "affine" mode they keep raw_flow. In "fuse" mode the whole field then goes through the variational
    refinement of `cfg.variational_iters` (label 0 included), except the pixels where the field jumps by more than
    `cfg.variational_keep_jump` across a segment border.
    """
    _check_inputs(img0, img1, [flow], labels)
    if raw_flow is None:
        raw_flow = flow
    else:
        check_flow(raw_flow, flow.shape[1:], "raw flow")
    if cfg.mode == "none" or labels is None:
        return raw_flow
    fits, s = _samples(img0, img1, labels, cfg)
    unlabelled = np.zeros(s.n, bool)
    if (labels == 0).any():
        unlabelled[0] = True  # compact ids keep the order of the labels: label 0 is id 0
    p_net = fits.fit(flow, cfg.tau, cfg.iters, cfg.scale_mult)  # [n, 2, 3]
    free = raw_flow  # the flow of label-0 pixels
    own, own_flow = np.zeros(s.n, bool), None  # segments that keep the classical flow itself, and that flow
    if cfg.mode == "affine":
        params, raw = p_net, unlabelled.copy()
    else:
        params, raw, own, free, own_flow = _fused_params(img0, img1, flow, fits, s, p_net, unlabelled, cfg, raw_flow)
    if cfg.polish_iters > 0:
        params = _polish(img0, img1, s, params, ~raw & ~own, cfg)
    out = _fused_field(s.lab, params, raw, raw_flow)  # the full field is built once, after every choice
    if own.any():
        np.copyto(out, own_flow, where=own[s.lab][None])
    if unlabelled[0] and free is not raw_flow:
        np.copyto(out, free, where=(s.lab == 0)[None])
    if cfg.mode == "fuse" and cfg.variational_iters > 0:
        out = _variational(img0, img1, out, s.lab, cfg)
    return out


def _variational(img0: np.ndarray, img1: np.ndarray, flow: np.ndarray, lab: np.ndarray, cfg: RefineConfig):
    """The variational refinement of the whole field flow (float32 [2, H, W]), with flow itself kept on the
    motion borders between the segments of lab (int [H, W]) -> float32 [2, H, W]."""
    from segcorr.flow.variational import motion_borders, variational_refine

    its, a, d, g = cfg.variational_iters, cfg.variational_alpha, cfg.variational_delta, cfg.variational_gamma
    out = variational_refine(img0, img1, flow, its, a, d, g)
    np.copyto(out, flow, where=motion_borders(flow, lab, cfg.variational_keep_jump)[None])
    return out


def _fused_params(
    img0: np.ndarray,
    img1: np.ndarray,
    flow: np.ndarray,
    fits: SegmentSamples,
    s: SegmentSamples,
    p_net: np.ndarray,
    unlabelled: np.ndarray,
    cfg: RefineConfig,
    smooth: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The "fuse" mode's choices: (params [n, 2, 3], raw bool [n]: segments that keep the network's flow, own bool
    [n]: segments that keep the classical flow itself, the classical flow float32 [2, H, W], and the flow the own
    segments take: the classical flow held to `cfg.own_max_dev` of smooth (the deblocked network flow [2, H, W];
    default flow) by `_near`)."""
    from segcorr.flow.classical import estimate_flow

    start = flow if cfg.classical_init else None
    classical = estimate_flow(img0, img1, cfg.classical, init=start)
    p_dis = fits.fit(classical, cfg.tau, cfg.iters, cfg.scale_mult)
    cands = [s.affine(p_net), s.affine(p_dis), s.take(flow)]
    pen = [0.0, cfg.penalty, cfg.raw_penalty]
    own_flow = classical
    if cfg.own_penalty != float("inf"):  # the classical flow itself, near the network's: non-affine motion
        own_flow = _near(classical, flow if smooth is None else smooth, cfg.own_max_dev)
        cands.append(s.take(own_flow))
        pen.append(cfg.own_penalty)
    pen = np.array(pen)[:, None] + np.zeros((1, s.n))
    if cfg.textured_share >= 0:  # the classical candidates only where the frame has texture to match
        pen[1, ~textured_segments(img0, s.lab, s.n, cfg)] = np.inf
    if len(cands) > 3:  # its own flow only in textured segments with an interior, never in lines or small parts
        inner = replace(cfg, min_interior=0, textured_share=max(cfg.textured_share, 0.0))
        pen[3, ~textured_segments(img0, s.lab, s.n, inner)] = np.inf
    pick, err = s.choose([s.error(c, cfg.trunc) for c in cands], pen)
    params = np.where((pick == 1)[:, None, None] | (pick == 3)[:, None, None], p_dis, p_net)  # raw: its own fit
    raw = (pick == 2) | unlabelled  # [n] segments that keep the network's flow as is
    own = pick == 3
    if cfg.neighbours > 0:
        fused = np.stack(cands)[pick[s.seg], :, np.arange(s.seg.size)].T  # [2, N] the fused flow at the samples
        sub = _fused_field(s.lab, params, raw, flow, cfg.dominant_step)  # and on the dominant motion's grid
        if own.any():
            st = cfg.dominant_step
            np.copyto(sub, own_flow[:, ::st, ::st], where=own[s.lab[::st, ::st]][None])
        moved, chosen = _propagation_choice(s, fused, sub, params, err, cfg, unlabelled)
        params = np.where(moved[:, None, None], chosen, params)
        raw &= ~moved
        own &= ~moved
    return params, raw, own, classical, own_flow


def _near(classical: np.ndarray, flow: np.ndarray, max_dev: float) -> np.ndarray:
    """classical (float32 [2, H, W]) where it differs from flow ([2, H, W], e.g. the deblocked network flow) by at
    most max_dev px in u and v, flow elsewhere -> float32 [2, H, W] (classical itself when max_dev is inf)."""
    if max_dev == float("inf"):
        return classical
    far = np.abs(classical - flow).max(0) > max_dev
    return np.where(far[None], flow, classical).astype(np.float32)


def _polish(img0: np.ndarray, img1: np.ndarray, s: SegmentSamples, params: np.ndarray, active: np.ndarray, cfg):
    """`segment_polish.polish_affines` of the active segments' maps, kept per segment where it lowers the mean
    truncated photometric error on the cost grid."""
    from segcorr.flow.segment_polish import polish_affines

    new = polish_affines(img0, img1, s.lab, params, active, cfg.polish_sigmas, cfg.polish_iters, cfg.polish_scale)
    pick, _ = s.choose([s.error(s.affine(params), cfg.trunc), s.error(s.affine(new), cfg.trunc)], np.zeros(2))
    return np.where((pick == 1)[:, None, None], new, params)


def _fused_field(lab: np.ndarray, params: np.ndarray, raw: np.ndarray, flow: np.ndarray, step: int = 1) -> np.ndarray:
    """The piecewise-affine field of params [n, 2, 3] on every step-th pixel of lab (int [H, W]), with the flow
    [2, H, W] itself in the segments marked by raw (bool [n]) -> float32 [2, H', W']."""
    grid = lab[::step, ::step]
    out = affine_field(grid, params, step)
    np.copyto(out, flow[:, ::step, ::step], where=raw[grid][None])
    return out


def propagate_segments(
    img0: np.ndarray, img1: np.ndarray, flow: np.ndarray, labels: np.ndarray, cfg: RefineConfig = RefineConfig()
) -> np.ndarray:
    """One segment-level propagation pass: each segment keeps its flow or takes the frame's dominant motion or the
    affine motion of one of its `cfg.neighbours` neighbours (longest shared borders), by photometric error.

    A flat region has no texture to match inside: only its border tells its motion, and a wrong estimate there is
    often the right motion of the region next to it (a background plate pans as one piece; a sleeve moves with
    its arm). img0, img1: uint8 [H, W, 3]; flow: float32 [2, H, W], usually the output of the fusion;
    labels: int [H, W] -> float32 [2, H, W].
    """
    _check_inputs(img0, img1, [flow], labels)
    fits, s = _samples(img0, img1, labels, cfg)
    sampled, st = s.take(flow), cfg.dominant_step
    params = fits.fit(flow, cfg.tau, cfg.iters, cfg.scale_mult)
    unlabelled = np.zeros(s.n, bool)
    unlabelled[0] = bool((labels == 0).any())
    err = s.error(sampled, cfg.trunc)
    moved, chosen = _propagation_choice(s, sampled, flow[:, ::st, ::st], params, err, cfg, unlabelled)
    return _fused_field(s.lab, chosen, ~moved, flow)


def _dominant_motion(sub: np.ndarray, cfg: RefineConfig) -> np.ndarray:
    """One robust affine fit over the whole frame's flow on the sparse grid sub (float32 [2, H', W'], every
    `cfg.dominant_step`-th pixel) -> params [1, 2, 3] in full-grid pixel coordinates."""
    sub = np.ascontiguousarray(sub, dtype=np.float32)
    whole = SegmentSamples(np.zeros(sub.shape[1:], np.int64), 1, 1, cfg.min_samples)
    dominant = whole.fit(sub, cfg.dominant_tau, cfg.dominant_iters, cfg.scale_mult)
    dominant[:, :, 1:] /= cfg.dominant_step  # sub-grid -> full-grid pixel coordinates
    return dominant


def _propagation_choice(
    s: SegmentSamples,
    flow: np.ndarray,
    sub: np.ndarray,
    params: np.ndarray,
    error: np.ndarray,
    cfg: RefineConfig,
    unlabelled: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The choices of the propagation pass. flow: float32 [2, N] at the samples; sub: the same flow on every
    `cfg.dominant_step`-th pixel [2, H', W']; params: the segments' affine maps [n, 2, 3]; error: the sampled
    error [N] of flow; unlabelled: bool [n], the pseudo-segment of label 0 (never moved, never a neighbour) ->
    (moved bool [n], chosen affine maps [n, 2, 3]: for moved segments, the motion that replaces their flow)."""
    k, n, lab = cfg.neighbours, s.n, s.seg
    nb = segment_neighbours(s.lab, n, k)
    options = [params, np.broadcast_to(_dominant_motion(sub, cfg), params.shape)] + [params[nb[:, j]] for j in range(k)]
    fu, fv = flow
    speed = np.sqrt(fu * fu + fv * fv)
    bound = cfg.speed_margin * float(np.percentile(speed, cfg.speed_quantile)) + cfg.speed_slack
    pen = np.zeros((len(options), n))
    pen[2:] = cfg.neighbour_penalty
    errors = [error]
    for j in range(1, len(options)):
        # a segment with fewer than j - 1 neighbours has itself in that place: nothing new to cost there
        real = np.ones(n, bool) if j == 1 else nb[:, j - 2] != np.arange(n)
        if unlabelled is not None and j > 1:
            real &= ~unlabelled[nb[:, j - 2]]
        pen[j, ~real] = np.inf
        err = np.zeros_like(error)
        if real.any():
            sel = np.flatnonzero(real[lab])
            cand = s.affine(options[j], sel)  # [2, M]
            fast = cand[0] * cand[0] + cand[1] * cand[1] > bound * bound
            pen[j, np.bincount(lab[sel], fast, n) > 0] = np.inf
            err[sel] = s.error(cand, cfg.trunc, sel)
        errors.append(err)
    if unlabelled is not None:
        pen[1:, unlabelled] = np.inf
    pick, _ = s.choose(errors, pen)
    return pick > 0, np.stack(options)[pick, np.arange(n)]  # [n], [n, 2, 3]
