"""Synthetic homography pairs: one source picture seen through two random homographies.

Both views are rendered from a larger canvas (``MARGIN`` times the view on each side), so image 1 shows
content beyond image 0's borders. ``H`` maps image-0 pixels to image-1 pixels exactly; the correspondence
fields are ``H`` (or its inverse) applied to the pixel grid, valid where the partner point lies inside the
other view and inside the canvas (real content, not border fill).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from segcorr.geometry.homography import warp_grid

MARGIN = 0.5
MIN_OVERLAP = 0.2


def _similarity(scale: float, angle: float, tx: float, ty: float, cx: float, cy: float) -> np.ndarray:
    """Scale and rotate about (cx, cy), then translate by (tx, ty): [3, 3]."""
    c, s = np.cos(angle) * scale, np.sin(angle) * scale
    return np.array([[c, -s, cx - c * cx + s * cy + tx], [s, c, cy - s * cx - c * cy + ty], [0, 0, 1]])


def random_view(rng: np.random.Generator, h: int, w: int, strength: float) -> np.ndarray:
    """A random homography from view pixels to canvas pixels (the canvas is the view grown by MARGIN).

    strength 0..1: rotation up to ±35° x s (±180° in 10 % of strong views), log-scale ±0.5 s, corner
    perturbation up to 0.3 s of the side (perspective: strong viewpoint changes at s = 1).
    """
    import cv2

    ox, oy = MARGIN * w, MARGIN * h
    corners = np.array([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]], np.float64)
    jitter = rng.uniform(-1, 1, (4, 2)) * 0.3 * strength * np.array([w, h])
    persp = cv2.getPerspectiveTransform(corners.astype(np.float32), (corners + jitter).astype(np.float32))
    angle = np.deg2rad(rng.uniform(-35, 35) * strength)
    if strength > 0.7 and rng.random() < 0.1:
        angle = np.deg2rad(rng.uniform(-180, 180))
    scale = float(np.exp(rng.uniform(-0.5, 0.5) * strength))
    shift = rng.uniform(-0.15, 0.15, 2) * strength * np.array([w, h])
    sim = _similarity(scale, angle, shift[0] + ox, shift[1] + oy, (w - 1) / 2, (h - 1) / 2)
    return sim @ persp


def correspondence(
    H: np.ndarray, h0: int, w0: int, h1: int, w1: int, canvas_from_view: np.ndarray, canvas_hw: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """``corr [2, h0, w0]`` float32 = H applied to view-0's pixel grid, ``valid [h0, w0]`` bool = inside view 1
    and inside the canvas."""
    corr = warp_grid(H, h0, w0)
    src = warp_grid(canvas_from_view, h0, w0)
    ch, cw = canvas_hw
    valid = (
        (corr[0] >= 0)
        & (corr[0] <= w1 - 1)
        & (corr[1] >= 0)
        & (corr[1] <= h1 - 1)
        & (src[0] >= 0)
        & (src[0] <= cw - 1)
        & (src[1] >= 0)
        & (src[1] <= ch - 1)
    )
    return corr.astype(np.float32), valid


def homography_pair(
    rng: np.random.Generator, source: np.ndarray, h: int, w: int, strength: float = 1.0
) -> dict[str, Any]:
    """Two views ``[h, w, 3]`` uint8 of ``source`` (a canvas, any size; resized to the canvas) and exact fields.

    Returns ``image0``, ``image1`` (uint8 [h, w, 3]), ``H`` (float64 [3, 3], image0 -> image1), ``corr01``,
    ``corr10`` (float32 [2, h, w]), ``valid01``, ``valid10`` (bool [h, w]).
    """
    import cv2

    ch, cw = int(round(h * (1 + 2 * MARGIN))), int(round(w * (1 + 2 * MARGIN)))
    canvas = source if source.shape[:2] == (ch, cw) else cv2.resize(source, (cw, ch), interpolation=cv2.INTER_AREA)
    G0 = random_view(rng, h, w, 0.3 * strength)  # view 0 mildly off the canvas axes
    for attempt in range(8):  # strong views may leave little overlap: redraw, a little milder each time
        G1 = random_view(rng, h, w, strength * 0.85**attempt)
        H = np.linalg.inv(G1) @ G0
        H /= H[2, 2]
        corr01, valid01 = correspondence(H, h, w, h, w, G0, (ch, cw))
        if valid01.mean() >= MIN_OVERLAP:
            break
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    img0 = cv2.warpPerspective(canvas, G0, (w, h), flags=flags, borderMode=cv2.BORDER_REFLECT)
    img1 = cv2.warpPerspective(canvas, G1, (w, h), flags=flags, borderMode=cv2.BORDER_REFLECT)
    corr10, valid10 = correspondence(np.linalg.inv(H), h, w, h, w, G1, (ch, cw))
    return {
        "image0": img0,
        "image1": img1,
        "H": H,
        "corr01": corr01,
        "valid01": valid01,
        "corr10": corr10,
        "valid10": valid10,
    }
