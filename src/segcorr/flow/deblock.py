"""Taking the 1/8-cell blocks out of the network's flow: guided filtering along the frame's grey levels.

The shipped convex upsampler (`segcorr.flow.upsample`) gives the 64 sub-pixels of a coarse cell nearly the same
weights, so its flow is made of 8x8 blocks of the working scale: on validation frames the flow changes 6-7 times
more across cell borders than inside cells. The guided filter (He, Sun, Tang, "Guided image filtering") makes the
output a local linear function of the frame's grey levels: smooth where the frame is flat, with steps kept where
the frame has an edge. Pure NumPy/OpenCV (a few ms at the working size); how the radius was chosen:
`src/segcorr/weights/README.md`.
"""

from __future__ import annotations

import numpy as np


def _box_mean(x: np.ndarray, radius: int) -> np.ndarray:
    """Mean over the (2 radius + 1)^2 window around each pixel, border replicated. x: float32 [H, W]."""
    import cv2

    k = 2 * radius + 1
    return cv2.boxFilter(x, -1, (k, k), normalize=True, borderType=cv2.BORDER_REPLICATE)


def guided_filter(src: np.ndarray, guide: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """Edge-preserving smoothing of src along guide.

    src: float [C, H, W]; guide: float [H, W] in 0..1; radius: window radius in px; eps: regularisation in guide
    units squared (an edge weaker than about sqrt(eps) is smoothed over) -> float32 [C, H, W].
    """
    g = np.ascontiguousarray(guide, np.float32)
    mean_g = _box_mean(g, radius)
    var_g = _box_mean(g * g, radius) - mean_g * mean_g + np.float32(eps)
    out = np.empty(src.shape, np.float32)
    for c, chan in enumerate(np.asarray(src, np.float32)):  # channels one by one: planar arrays are fastest
        p = np.ascontiguousarray(chan)
        mean_p = _box_mean(p, radius)
        a = (_box_mean(g * p, radius) - mean_g * mean_p) / var_g
        out[c] = _box_mean(a, radius) * g + _box_mean(mean_p - a * mean_g, radius)
    return out


def deblock_flow(flow: np.ndarray, image: np.ndarray, radius: int = 4, eps: float = 1e-3) -> np.ndarray:
    """flow: float32 [2, H, W], the network's flow at its working size; image: uint8 [H, W, 3] (frame 0 at that
    size); radius: px (0: the flow itself is returned); eps: see `guided_filter` -> float32 [2, H, W]."""
    import cv2

    if radius <= 0:
        return flow
    # the plain channel mean (the guide the radius was chosen with), in 0..1; cv2.transform is ~50x numpy's mean
    grey = cv2.transform(np.asarray(image, np.float32), np.full((1, 3), 1.0 / 765.0, np.float32))
    return guided_filter(flow, grey, radius, eps)
