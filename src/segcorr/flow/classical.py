"""Classical optical flow from OpenCV: the baselines every learned model is compared against.

All methods run on grey frames with OpenCV's default settings, so the numbers are comparable with the
published OpenCV references (the reference figures of the benchmark data's README).
"""

from __future__ import annotations

import numpy as np

from segcorr.errors import InputError
from segcorr.flow.checks import check_flow, check_frames

METHODS = ("zero", "farneback", "dis-ultrafast", "dis-fast", "dis-medium")

# The usual Farneback settings (OpenCV sample / docs): pyr_scale, levels, winsize, iterations,
# poly_n, poly_sigma, flags.
FARNEBACK_ARGS = (0.5, 3, 15, 3, 5, 1.2, 0)


def _to_gray(img: np.ndarray) -> np.ndarray:
    """uint8 [H, W] or [H, W, 3] RGB (checked) -> uint8 [H, W] contiguous."""
    import cv2

    a = np.asarray(img)
    if a.ndim == 2:
        return np.ascontiguousarray(a)
    return cv2.cvtColor(np.ascontiguousarray(a), cv2.COLOR_RGB2GRAY)


def _dis_preset(method: str) -> int:
    import cv2

    return {
        "dis-ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST,
        "dis-fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
        "dis-medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM,
    }[method]


DIS_MIN_SIDE = 32  # px: OpenCV's DIS crashes the process on smaller frames (e.g. 8x8, 24x100)


def _dis(g0: np.ndarray, g1: np.ndarray, start: np.ndarray | None, preset: int) -> np.ndarray:
    """DIS flow [H, W, 2] of grey frames; frames with a side under `DIS_MIN_SIDE` are padded (edge pixels
    repeated) to that size for OpenCV, and the flow is cropped back."""
    import cv2

    h, w = g0.shape
    ph, pw = max(0, DIS_MIN_SIDE - h), max(0, DIS_MIN_SIDE - w)
    if ph or pw:
        pad = ((0, ph), (0, pw))
        g0, g1 = np.pad(g0, pad, mode="edge"), np.pad(g1, pad, mode="edge")
        start = None if start is None else np.pad(start, pad + ((0, 0),), mode="edge")
    return cv2.DISOpticalFlow_create(preset).calc(g0, g1, start)[:h, :w]


def estimate_flow(
    img0: np.ndarray, img1: np.ndarray, method: str = "dis-medium", init: np.ndarray | None = None
) -> np.ndarray:
    """Flow from img0 to img1 with a classical method.

    Arguments:
        img0, img1: uint8 [H, W, 3] RGB or [H, W] grey, same size.
        method: one of ``METHODS``.
        init: optional starting flow float [2, H, W] that DIS and Farneback refine instead of starting from
            zero (DIS: its coarsest scale starts from it; Farneback: ``OPTFLOW_USE_INITIAL_FLOW``); "zero"
            ignores it.
    Returns:
        flow: float32 [2, H, W], (u, v) in pixels, frame0 -> frame1.
    """
    if method not in METHODS:
        raise InputError(f"unknown classical flow method {method!r}; known: {', '.join(METHODS)}")
    h, w = check_frames(img0, img1)
    if method == "zero":
        return np.zeros((2, h, w), np.float32)

    import cv2

    g0, g1 = _to_gray(img0), _to_gray(img1)
    start = None
    if init is not None:
        check_flow(init, (h, w), "init flow")
        start = np.ascontiguousarray(np.asarray(init, np.float32).transpose(1, 2, 0))  # [H, W, 2]
    if method == "farneback":
        *args, flags = FARNEBACK_ARGS
        flags |= cv2.OPTFLOW_USE_INITIAL_FLOW if start is not None else 0
        hw2 = cv2.calcOpticalFlowFarneback(g0, g1, start, *args, flags)
    else:
        hw2 = _dis(g0, g1, start, _dis_preset(method))
    # OpenCV gives [H, W, 2]; the package convention is [2, H, W].
    return np.ascontiguousarray(hw2.transpose(2, 0, 1), dtype=np.float32)
