"""Pictures the agent shows the model: masks drawn with their numbers, one mask, a zoomed crop.

Pure functions on uint8 RGB arrays; sizes are capped so requests stay small whatever the input size.
"""

from __future__ import annotations

import numpy as np

from segcorr.viz.overlay import overlay_masks


def fit_side(image: np.ndarray, side: int) -> np.ndarray:
    """Downscale uint8 [H, W, 3] so its longer side is at most `side` (never upscales)."""
    import cv2

    h, w = image.shape[:2]
    scale = side / max(h, w)
    if scale >= 1.0:
        return image
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def mask_box(mask: np.ndarray) -> list[float]:
    """[x0, y0, x1, y1] of a bool mask [H, W] (pixel edges, exclusive right/bottom); zeros if empty."""
    ys, xs = np.nonzero(mask)
    if len(xs) == 0:
        return [0.0, 0.0, 0.0, 0.0]
    return [float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1)]


def _label_anchor(mask: np.ndarray) -> tuple[int, int]:
    """The mask pixel farthest from its border (x, y): a number drawn there sits inside the mask."""
    import cv2

    dist = cv2.distanceTransform(np.pad(mask, 1).astype(np.uint8), cv2.DIST_L2, 3)[1:-1, 1:-1]
    y, x = np.unravel_index(int(np.argmax(dist)), dist.shape)
    return int(x), int(y)


def numbered_overlay(image: np.ndarray, masks: np.ndarray, side: int) -> np.ndarray:
    """Every mask tinted in its colour with its 1-based number written inside it.

    image: uint8 [H, W, 3]; masks: bool [N, H, W]. Returns uint8 [h, w, 3] with max(h, w) <= side.
    """
    import cv2

    out = overlay_masks(image, masks) if len(masks) else image.copy()
    out = fit_side(out, side)
    scale = out.shape[1] / image.shape[1]
    font_scale = max(0.4, max(out.shape[:2]) / 800)
    thick = max(1, round(font_scale * 2))
    for i, m in enumerate(masks):
        if not m.any():
            continue
        x, y = _label_anchor(m)
        org = (int(x * scale) - 6, int(y * scale) + 6)
        for color, t in (((0, 0, 0), thick + 2), ((255, 255, 255), thick)):
            cv2.putText(out, str(i + 1), org, cv2.FONT_HERSHEY_SIMPLEX, font_scale, color, t, cv2.LINE_AA)
    return out


def zoomed_crop(image: np.ndarray, mask: np.ndarray, side: int, margin: float = 0.25) -> np.ndarray:
    """The mask's box grown by `margin` of its size on each side, outlined, scaled so its longer side is `side`.

    image: uint8 [H, W, 3]; mask: bool [H, W]. Returns uint8 [h, w, 3] (upscaled when the box is small).
    """
    import cv2

    h, w = mask.shape
    x0, y0, x1, y1 = mask_box(mask)
    if x1 <= x0:
        x0, y0, x1, y1 = 0.0, 0.0, float(w), float(h)
    mx, my = max(8.0, (x1 - x0) * margin), max(8.0, (y1 - y0) * margin)
    cx0, cy0 = int(max(0, x0 - mx)), int(max(0, y0 - my))
    cx1, cy1 = int(min(w, x1 + mx)), int(min(h, y1 + my))
    crop = overlay_masks(image[cy0:cy1, cx0:cx1], mask[cy0:cy1, cx0:cx1], alpha=0.25)
    scale = side / max(crop.shape[:2])
    size = (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale)))
    return cv2.resize(crop, size, interpolation=cv2.INTER_LINEAR if scale > 1 else cv2.INTER_AREA)
