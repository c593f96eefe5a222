"""Photometric cost of a flow: the truncated difference between frame 0 and frame 1 warped by it (NumPy/OpenCV;
the differentiable census version for training is `segcorr.flow.losses.photometric`)."""

from __future__ import annotations

import numpy as np

from segcorr.flow.checks import check_flow, check_frames


def photometric_error(img0: np.ndarray, img1: np.ndarray, flow: np.ndarray, trunc: float) -> np.ndarray:
    """Truncated mean absolute RGB difference between frame 0 and frame 1 warped by `flow`: float32 [H, W].

    img0, img1: uint8 [H, W, C] or [H, W]; flow: [2, H, W]. Pixels sent out of the frame cost trunc / 2.
    """
    hw = check_frames(img0, img1)
    check_flow(flow, hw)
    h, w = hw
    mx = (flow[0] + np.arange(w, dtype=np.float32)).astype(np.float32, copy=False)  # [H, W]
    my = (flow[1] + np.arange(h, dtype=np.float32)[:, None]).astype(np.float32, copy=False)
    return warp_error(img0, img1, mx, my, trunc)


def warp_error(ref: np.ndarray, img1: np.ndarray, mx: np.ndarray, my: np.ndarray, trunc: float) -> np.ndarray:
    """Truncated mean absolute difference between `ref` (uint8 [..., C] or [...]) and img1 sampled at (mx, my)
    (float32 maps of ref's leading shape, each side under 32767, an OpenCV limit): float32 of that shape; samples
    out of frame 1 cost trunc / 2."""
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
