"""The resize plan of the matching protocol: images to a given longer side, points and intrinsics with them."""

from __future__ import annotations

import numpy as np


def resize_scale(height: int, width: int, longer_side: int | None) -> tuple[int, int, float, float]:
    """``(new_h, new_w, sx, sy)`` for resizing so the longer side is ``longer_side`` (None = keep size).

    ``sx = new_w / width`` and ``sy = new_h / height``: a point ``(x, y)`` of the original sits at
    ``((x + 0.5) sx - 0.5, (y + 0.5) sy - 0.5)`` in the resized image (pixel centres stay aligned).
    """
    if not longer_side or max(height, width) == longer_side:
        return height, width, 1.0, 1.0
    s = longer_side / max(height, width)
    nh, nw = max(1, int(round(height * s))), max(1, int(round(width * s)))
    return nh, nw, nw / width, nh / height


def resize_longer_side(img: np.ndarray, longer_side: int | None) -> tuple[np.ndarray, float, float]:
    """Resize ``img [H, W(, C)]`` so its longer side is ``longer_side``; returns ``(img, sx, sy)``.

    Area interpolation when shrinking (no aliasing), linear when growing.
    """
    import cv2

    h, w = img.shape[:2]
    nh, nw, sx, sy = resize_scale(h, w, longer_side)
    if (nh, nw) == (h, w):
        return img, 1.0, 1.0
    interp = cv2.INTER_AREA if nh * nw < h * w else cv2.INTER_LINEAR
    return cv2.resize(img, (nw, nh), interpolation=interp), sx, sy


def points_to_original(pts: np.ndarray, sx: float, sy: float) -> np.ndarray:
    """Points ``[N, 2]`` in a resized image back to the original's pixel coordinates (float32)."""
    pts = np.asarray(pts, np.float64).reshape(-1, 2)
    return np.stack([(pts[:, 0] + 0.5) / sx - 0.5, (pts[:, 1] + 0.5) / sy - 0.5], axis=1).astype(np.float32)


def scale_intrinsics(K: np.ndarray, sx: float, sy: float) -> np.ndarray:
    """Intrinsics of an image resized by ``(sx, sy)`` (pixel-centre convention of ``resize_scale``)."""
    K = np.asarray(K, np.float64).copy()
    K[0, 0] *= sx
    K[1, 1] *= sy
    K[0, 2] = (K[0, 2] + 0.5) * sx - 0.5
    K[1, 2] = (K[1, 2] + 0.5) * sy - 0.5
    return K
