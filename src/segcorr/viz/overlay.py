"""Masks and label maps drawn over an image in distinct colours."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

_GOLDEN = 0.618033988749895
_MAX_DIRECT_ID = 65535


def label_colors(n: int) -> np.ndarray:
    """n visually distinct colours as uint8 [n, 3] RGB; colour i is for segment id i + 1.

    Hues step by the golden ratio so neighbouring ids never get similar hues; brightness alternates
    so that two ids far apart on the wheel but adjacent on the page still differ.
    """
    import cv2

    i = np.arange(max(n, 0))
    hue = (i * _GOLDEN) % 1.0 * 180.0  # OpenCV 8-bit hue range is 0..179
    sat = np.where(i % 3 == 2, 160, 230)
    val = np.where(i % 2 == 1, 200, 255)
    hsv = np.stack([hue, sat, val], axis=-1).astype(np.uint8)[None]
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0] if n > 0 else np.zeros((0, 3), np.uint8)


def _as_rgb(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.dtype == np.bool_:
        image = image.astype(np.uint8) * 255
    if image.dtype != np.uint8:
        raise ValueError(f"expected a uint8 image, found {image.dtype}")
    if image.ndim == 2:
        return np.repeat(image[:, :, None], 3, axis=2)
    if image.ndim == 3 and image.shape[2] == 1:
        return np.repeat(image, 3, axis=2)
    if image.ndim == 3 and image.shape[2] == 3:
        return image.copy()
    raise ValueError(f"expected an image [H, W] or [H, W, 3], found {image.shape}")


def _as_labels(masks: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """bool [H, W] / [N, H, W] masks or an int label map [H, W] -> int64 label map (later masks on top)."""
    masks = np.asarray(masks)
    if masks.ndim == 2 and masks.dtype != np.bool_ and np.issubdtype(masks.dtype, np.integer):
        labels = masks.astype(np.int64)
        if labels.size and labels.min() < 0:
            raise ValueError("label maps hold ids >= 0")
    elif masks.ndim == 2:
        labels = masks.astype(bool).astype(np.int64)
    elif masks.ndim == 3:
        labels = np.zeros(masks.shape[1:], np.int64)
        for i, m in enumerate(masks.astype(bool)):
            labels[m] = i + 1
    else:
        raise ValueError(f"expected masks [N, H, W] / [H, W] or a label map [H, W], found {masks.shape}")
    if labels.shape != shape:
        raise ValueError(f"masks are {labels.shape}, image is {shape}")
    return labels


def _boundary(labels: np.ndarray) -> np.ndarray:
    """Pixels of a segment (id > 0) with a 4-neighbour of another id (image border not counted)."""
    edge = np.zeros(labels.shape, bool)
    dy = labels[1:, :] != labels[:-1, :]
    dx = labels[:, 1:] != labels[:, :-1]
    edge[1:, :] |= dy
    edge[:-1, :] |= dy
    edge[:, 1:] |= dx
    edge[:, :-1] |= dx
    return edge & (labels > 0)


def overlay_masks(
    image: np.ndarray,
    masks_or_labelmap: np.ndarray,
    alpha: float = 0.5,
    colors: Sequence[Sequence[int]] | np.ndarray | None = None,
    draw_contours: bool = True,
) -> np.ndarray:
    """Tint each segment of `image` with its colour; pixels outside every mask keep their exact value.

    image: uint8 [H, W] grey or [H, W, 3] RGB.
    masks_or_labelmap: bool [N, H, W] (mask i gets id i + 1; later masks drawn on top), bool [H, W]
    (one mask), or an integer label map [H, W] (0 = none).
    colors: RGB per id (row i for id i + 1, cycled when shorter); default `label_colors`.
    draw_contours: outline each segment in a darker shade of its colour.
    Returns uint8 [H, W, 3] RGB.
    """
    out = _as_rgb(image)
    labels = _as_labels(masks_or_labelmap, out.shape[:2])
    n = int(labels.max()) if labels.size else 0
    if n > _MAX_DIRECT_ID:  # sparse huge ids (e.g. hashed instance ids): colour by rank instead of by id
        ids, labels = np.unique(labels, return_inverse=True)
        labels = labels.reshape(out.shape[:2]) + (1 if ids[0] > 0 else 0)
        n = int(labels.max())
    if n == 0:
        return out
    if colors is None:
        palette = label_colors(n)
    else:
        given = np.asarray(colors, dtype=np.int64).reshape(-1, 3)
        if len(given) == 0:
            raise ValueError("colors is empty")
        palette = np.clip(given[np.arange(n) % len(given)], 0, 255).astype(np.uint8)
    lut = np.concatenate([np.zeros((1, 3), np.float32), palette.astype(np.float32)])
    inside = labels > 0
    tint = lut[labels[inside]]
    a = float(np.clip(alpha, 0.0, 1.0))
    out[inside] = np.clip(np.rint(out[inside] * (1.0 - a) + tint * a), 0, 255).astype(np.uint8)
    if draw_contours:
        edge = _boundary(labels)
        out[edge] = (lut[labels[edge]] * 0.6).astype(np.uint8)
    return out
