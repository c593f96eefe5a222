"""Variational refinement of a dense flow: the last step of the segment-level refinement (`segcorr.flow.refine`).

The fused and polished flow is piecewise affine where the fusion fitted it and the network's own flow where it did
not; both come from coarse estimates. This step minimises, pixel by pixel, OpenCV's variational energy (the one
DIS runs at the end of each of its scales; Brox et al.): a data term on brightness constancy (weight delta) and
gradient constancy (weight gamma) of the grey frames, and a robust smoothness term on the flow (weight alpha), by
fixed-point iterations around the given flow with SOR inner solves. It starts from the given flow and only
linearises around it, so it corrects small errors (sub-pixel to a few px) and does not search. Its smoothness term
does not know where one segment ends, so it blurs the motion boundaries the fusion found: `motion_borders` marks the
pixels where the flow jumps across a segment border, and the refinement keeps its own flow there. Settings:
`RefineConfig.variational_*`; how they were chosen: `src/segcorr/weights/README.md`.
"""

from __future__ import annotations

import numpy as np

from segcorr.flow.checks import check_flow, check_frames


def variational_refine(
    img0: np.ndarray,
    img1: np.ndarray,
    flow: np.ndarray,
    iters: int = 5,
    alpha: float = 10.0,
    delta: float = 5.0,
    gamma: float = 10.0,
    sor_iters: int = 5,
) -> np.ndarray:
    """OpenCV's `VariationalRefinement` started from `flow`.

    img0, img1: uint8 [H, W, 3] RGB or [H, W] grey; flow: float [2, H, W] frame 0 -> 1; iters: fixed-point
    iterations (0: the flow is returned as float32); alpha: smoothness weight; delta: brightness constancy weight;
    gamma: gradient constancy weight; sor_iters: SOR iterations per fixed-point step -> float32 [2, H, W].
    """
    import cv2

    from segcorr.flow.classical import _to_gray

    hw = check_frames(img0, img1)
    check_flow(flow, hw, "flow")
    u = np.array(flow[0], np.float32, order="C")  # calcUV writes into u, v: always copies
    v = np.array(flow[1], np.float32, order="C")
    if iters <= 0:
        return np.stack([u, v])
    vr = cv2.VariationalRefinement_create()
    vr.setFixedPointIterations(int(iters))
    vr.setSorIterations(int(sor_iters))
    vr.setAlpha(float(alpha))
    vr.setDelta(float(delta))
    vr.setGamma(float(gamma))
    u, v = vr.calcUV(_to_gray(img0), _to_gray(img1), u, v)
    return np.stack([u, v]).astype(np.float32, copy=False)


def motion_borders(flow: np.ndarray, labels: np.ndarray, jump: float) -> np.ndarray:
    """bool [H, W]: the pixels on either side of a segment border (4-neighbours with different labels) across which
    flow (float [2, H, W]) changes by more than `jump` px in u or v; labels: int [H, W]."""
    check_flow(flow, labels.shape, "flow")
    out = np.zeros(labels.shape, bool)
    if jump == float("inf"):
        return out
    jx = (labels[:, 1:] != labels[:, :-1]) & (np.abs(flow[:, :, 1:] - flow[:, :, :-1]).max(0) > jump)
    jy = (labels[1:] != labels[:-1]) & (np.abs(flow[:, 1:] - flow[:, :-1]).max(0) > jump)
    out[:, 1:] |= jx
    out[:, :-1] |= jx
    out[1:] |= jy
    out[:-1] |= jy
    return out
