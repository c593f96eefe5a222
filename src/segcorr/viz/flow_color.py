"""Optical flow as colour, in the Middlebury convention (Baker et al., 2011).

Hue encodes direction on a 55-step colour wheel (red -> yellow -> green -> cyan -> blue -> magenta
-> red, with 15, 6, 4, 11, 13, 6 steps: more steps where the eye separates hues better), saturation
encodes magnitude relative to `max_mag`: zero motion is white, motion of `max_mag` is the pure hue.
Vectors longer than `max_mag` are drawn darker so that clipping is visible. Flow pointing right
(u > 0, v = 0) is red, down (v > 0, image axes) yellow, left cyan, up blue-violet.
"""

from __future__ import annotations

import numpy as np

# Steps between consecutive anchor hues, in wheel order.
_SEGMENTS = (15, 6, 4, 11, 13, 6)
_ANCHORS = np.array(
    [[255, 0, 0], [255, 255, 0], [0, 255, 0], [0, 255, 255], [0, 0, 255], [255, 0, 255], [255, 0, 0]], dtype=np.float64
)
# Middlebury files mark unknown flow with values around 1e9.
_UNKNOWN = 1e9
_DARKEN = 0.75


def colorwheel() -> np.ndarray:
    """The wheel as float64 [55, 3] RGB in 0..255; row 0 is red, rows run through the hues in order."""
    rows = []
    for (start, end), steps in zip(zip(_ANCHORS[:-1], _ANCHORS[1:]), _SEGMENTS):
        t = np.arange(steps, dtype=np.float64)[:, None] / steps
        rows.append(start + (end - start) * t)
    return np.concatenate(rows, axis=0)


def _known(flow: np.ndarray) -> np.ndarray:
    return np.isfinite(flow).all(axis=0) & (np.abs(flow) < _UNKNOWN).all(axis=0)


def flow_to_color(flow: np.ndarray, max_mag: float | None = None) -> np.ndarray:
    """Colour-code flow.

    flow: [2, H, W] (u, v) in pixels. max_mag: magnitude shown fully saturated; default the largest
    finite magnitude in `flow` (NaN, inf and Middlebury's 1e9 "unknown" are ignored and drawn black).
    Returns uint8 [H, W, 3] RGB.
    """
    flow = np.asarray(flow, dtype=np.float64)
    if flow.ndim != 3 or flow.shape[0] != 2:
        raise ValueError(f"expected flow of shape [2, H, W], found {flow.shape}")
    known = _known(flow)
    u = np.where(known, flow[0], 0.0)
    v = np.where(known, flow[1], 0.0)
    mag = np.hypot(u, v)
    if max_mag is None or not np.isfinite(max_mag) or max_mag <= 0:
        max_mag = float(mag.max()) if mag.size else 0.0
    scale = max_mag if max_mag > 0 else 1.0

    wheel = colorwheel() / 255.0
    n = len(wheel)
    # Angle measured so that (u > 0, v = 0) lands at the end of the wheel, i.e. back on red.
    pos = (np.arctan2(-v, -u) / np.pi + 1.0) / 2.0 * (n - 1)
    k0 = np.floor(pos).astype(np.int64) % n
    k1 = (k0 + 1) % n
    frac = (pos - np.floor(pos))[..., None]
    hue = (1.0 - frac) * wheel[k0] + frac * wheel[k1]

    rad = (mag / scale)[..., None]
    inside = rad <= 1.0
    color = np.where(inside, 1.0 - rad * (1.0 - hue), hue * _DARKEN)
    color = np.where(known[..., None], color, 0.0)
    return np.floor(255.0 * np.clip(color, 0.0, 1.0)).astype(np.uint8)


def colorwheel_legend(size: int = 128) -> np.ndarray:
    """A disc showing the colour of every direction and magnitude up to the rim. Returns uint8 [size, size, 3].

    Outside the disc is white; thin grey axes mark u = 0 and v = 0 (image axes: v grows downward).
    """
    if size < 3:
        raise ValueError(f"legend size must be at least 3, got {size}")
    c = (size - 1) / 2.0
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float64)
    flow = np.stack([(xs - c) / c, (ys - c) / c])
    out = flow_to_color(flow, max_mag=1.0)
    outside = np.hypot(flow[0], flow[1]) > 1.0
    out[outside] = 255
    mid = size // 2
    axis = ~outside
    out[mid, axis[mid]] = (out[mid, axis[mid]] * 0.6).astype(np.uint8)
    out[axis[:, mid], mid] = (out[axis[:, mid], mid] * 0.6).astype(np.uint8)
    return out


def add_legend(image: np.ndarray, size: int | None = None, corner: str = "br", margin: int = 4) -> np.ndarray:
    """Copy of `image` (uint8 [H, W, 3] RGB) with the colour-wheel legend pasted into a corner.

    corner: "tl", "tr", "bl" or "br". size: legend side in pixels (default a quarter of the shorter side).
    Images too small to hold a legend of at least 16 px are returned unchanged (as a copy).
    """
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"expected uint8 [H, W, 3], found {image.dtype} {image.shape}")
    if corner not in ("tl", "tr", "bl", "br"):
        raise ValueError(f"corner must be tl, tr, bl or br, got {corner!r}")
    out = image.copy()
    h, w = image.shape[:2]
    room = min(h, w) - 2 * margin
    size = min(size if size is not None else min(h, w) // 4, room)
    if size < 16:
        return out
    y = margin if corner[0] == "t" else h - margin - size
    x = margin if corner[1] == "l" else w - margin - size
    out[y : y + size, x : x + size] = colorwheel_legend(size)
    return out


def flow_legend(
    width: int, text: str = "flow colour: hue = direction, saturation = speed", scale: float | None = None
) -> np.ndarray:
    """The colour wheel beside `text`, wrapped, as a readable key for a column of flow pictures.

    width: legend width in px. scale: text size (default `segcorr.viz.text.READABLE_SCALE`).
    Returns uint8 [H, width, 3] RGB on white.
    """
    from segcorr.viz.text import READABLE_SCALE, text_block

    scale = READABLE_SCALE if scale is None else scale
    size, m = max(16, round(110 * scale)), 6
    words = text_block([text], max(1, width - size - 2 * m), scale, bold_first=False)
    out = np.full((max(size + 2 * m, words.shape[0]), width, 3), 255, np.uint8)
    out[m : m + size, m : m + size] = colorwheel_legend(size)
    out[: words.shape[0], size + 2 * m : size + 2 * m + words.shape[1]] = words[:, : width - size - 2 * m]
    return out
