"""Part shapes as polygons in part-local coordinates, and their rasterised sprites.

A part's local frame has its joint (pivot) at the origin, x right, y down, in pixels. Shapes are
polygons (ellipses too, sampled finely) so that one rasteriser serves every shape. A ``Sprite`` is
the part drawn once at rest: colour with cel shadow and line art, and a code map
(0 = outside, 1 = fill, 2 = line). The renderer warps sprites into frames; it never redraws them,
which is what makes frame 1 an exact warp of frame 0 wherever a surface stays visible.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

_SHIFT = 4  # fillPoly sub-pixel bits: vertices are placed to 1/16 px
FillFn = Callable[[int, int], np.ndarray]  # (h, w) -> uint8 [h, w, 3]


@dataclass(frozen=True)
class Sprite:
    """A part at rest. ``color``: uint8 [h, w, 3]; ``code``: uint8 [h, w] (0 out, 1 fill, 2 line);
    ``x0, y0``: local coordinates of sprite pixel (0, 0), so sprite -> local is a translation."""

    color: np.ndarray
    code: np.ndarray
    x0: float
    y0: float


def ellipse_poly(cx: float, cy: float, rx: float, ry: float, n: int = 48) -> np.ndarray:
    """Ellipse outline, ``float32 [n, 2]``."""
    a = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return np.stack([cx + rx * np.cos(a), cy + ry * np.sin(a)], 1).astype(np.float32)


def limb_poly(length: float, w0: float, w1: float, n: int = 10) -> np.ndarray:
    """Rounded limb from the origin down to (0, length); width ``w0`` at the joint, ``w1`` at the end."""
    top = np.linspace(np.pi, 2 * np.pi, n)  # upper half circle around the joint
    bot = np.linspace(0, np.pi, n)  # lower half circle around the end
    pts_top = np.stack([w0 / 2 * np.cos(top), w0 / 2 * np.sin(top)], 1)
    pts_bot = np.stack([w1 / 2 * np.cos(bot), length + w1 / 2 * np.sin(bot)], 1)
    return np.concatenate([pts_top, pts_bot]).astype(np.float32)


def blob_poly(
    rng: np.random.Generator, cx: float, cy: float, rx: float, ry: float, wobble: float = 0.15, n: int = 48
) -> np.ndarray:
    """Smooth random blob: an ellipse whose radius is modulated by a few low harmonics."""
    a = np.linspace(0, 2 * np.pi, n, endpoint=False)
    r = np.ones_like(a)
    for k in range(2, 6):
        r += wobble / (k - 1) * rng.uniform(-1, 1) * np.cos(k * a + rng.uniform(0, 2 * np.pi))
    return np.stack([cx + rx * r * np.cos(a), cy + ry * r * np.sin(a)], 1).astype(np.float32)


def star_poly(rng: np.random.Generator, cx: float, cy: float, r: float, n: int) -> np.ndarray:
    """Random star-shaped polygon (angles sorted, radii jittered): a generic rigid object."""
    a = np.sort(rng.uniform(0, 2 * np.pi, n))
    rad = r * rng.uniform(0.45, 1.0, n)
    return np.stack([cx + rad * np.cos(a), cy + rad * np.sin(a)], 1).astype(np.float32)


def chair_poly(rng: np.random.Generator, size: float) -> np.ndarray:
    """Side-view chair silhouette (back, seat, two legs) centred near the origin; concave on purpose."""
    s = size
    bw = s * rng.uniform(0.08, 0.16)  # back / leg thickness
    seat_y = s * rng.uniform(-0.05, 0.15)
    seat_h = s * rng.uniform(0.08, 0.14)
    half = s * rng.uniform(0.3, 0.45)
    top = -s * rng.uniform(0.45, 0.6)
    bottom = s * rng.uniform(0.45, 0.55)
    pts = [
        (-half, top),
        (-half + bw, top),
        (-half + bw, seat_y),
        (half, seat_y),
        (half, bottom),
        (half - bw, bottom),
        (half - bw, seat_y + seat_h),
        (-half + bw, seat_y + seat_h),
        (-half + bw, bottom),
        (-half, bottom),
    ]
    return np.asarray(pts, np.float32)


def hair_poly(rng: np.random.Generator, cy: float, rx: float, ry: float, bangs: int) -> np.ndarray:
    """Hair cap over a head centred at (0, cy): a dome over the top with ``bangs`` spikes on the brow."""
    a = np.linspace(np.pi * 0.95, np.pi * 2.05, 28)
    dome = np.stack([rx * 1.12 * np.cos(a), cy + ry * 1.12 * np.sin(a)], 1)
    brow_y = cy - ry * rng.uniform(0.05, 0.35)
    xs = np.linspace(rx * 1.1, -rx * 1.1, 2 * bangs + 1)
    ys = np.where(np.arange(xs.size) % 2 == 1, brow_y + ry * rng.uniform(0.25, 0.5, xs.size), brow_y)
    return np.concatenate([dome, np.stack([xs, ys], 1)]).astype(np.float32)


def rect_poly(x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
    return np.asarray([(x0, y0), (x1, y0), (x1, y1), (x0, y1)], np.float32)


def transform_poly(poly: np.ndarray, angle: float = 0.0, dx: float = 0.0, dy: float = 0.0) -> np.ndarray:
    """Rotate about the origin, then translate."""
    c, s = np.cos(angle), np.sin(angle)
    rot = np.asarray([[c, -s], [s, c]], np.float32)
    return (poly @ rot.T + np.asarray([dx, dy], np.float32)).astype(np.float32)


def part_mask(poly: np.ndarray, line_px: int) -> tuple[float, float, np.ndarray] | None:
    """A part's filled polygon on its own canvas with room for its line: (x0, y0, mask uint8 [h, w]), where (x0, y0)
    is the canvas origin in the part's local coords; None when the polygon covers no pixel."""
    pad = line_px + 3
    x0 = float(np.floor(poly[:, 0].min())) - pad
    y0 = float(np.floor(poly[:, 1].min())) - pad
    w = int(np.ceil(poly[:, 0].max() - x0)) + pad + 1
    h = int(np.ceil(poly[:, 1].max() - y0)) + pad + 1
    pts = np.round((poly - np.asarray([x0, y0], np.float32)) * (1 << _SHIFT)).astype(np.int32)
    mask = np.zeros((h, w), np.uint8)
    cv2.fillPoly(mask, [pts], 1, lineType=cv2.LINE_8, shift=_SHIFT)
    return (x0, y0, mask) if mask.any() else None


def rasterize(
    poly: np.ndarray,
    fill: FillFn,
    line_px: int,
    line_color: np.ndarray,
    shadow: tuple[float, float] | None,
    shadow_factor: float = 0.68,
) -> Sprite | None:
    """Draw one part at rest. ``poly``: float [N, 2] local coords. Returns None if it covers no pixel.

    Cel shading: the shadow is the part minus a copy of itself shifted toward the light, a crescent
    with a hard edge in a darker tone. Line art is the outer ``line_px`` ring of the mask. Outside the
    mask the colour is the line colour (if any), so bilinear sampling at the edge fades into the line
    rather than into an unrelated colour.
    """
    placed = part_mask(poly, line_px)
    if placed is None:
        return None
    x0, y0, mask = placed
    h, w = mask.shape
    color = np.ascontiguousarray(fill(h, w))
    if shadow is not None:
        sx, sy = int(round(shadow[0])), int(round(shadow[1]))
        shifted = np.zeros_like(mask)
        ys, yd = (slice(0, h - sy), slice(sy, h)) if sy >= 0 else (slice(-sy, h), slice(0, h + sy))
        xs, xd = (slice(0, w - sx), slice(sx, w)) if sx >= 0 else (slice(-sx, w), slice(0, w + sx))
        shifted[yd, xd] = mask[ys, xs]
        shade = (mask == 1) & (shifted == 0)
        dark = color[shade].astype(np.float32) * np.float32(shadow_factor)
        dark[:, 2] += 12.0  # cool, slightly bluish shadow tone, as in cel painting
        color[shade] = np.clip(dark, 0, 255).astype(np.uint8)
    return Sprite(color=color, code=outline(mask, color, line_px, line_color), x0=x0, y0=y0)


def outline(mask: np.ndarray, color: np.ndarray, line_px: int, line_color: np.ndarray) -> np.ndarray:
    """A part's line art: the outer ``line_px`` ring of ``mask`` (uint8 [h, w], 1 inside) painted ``line_color`` in
    ``color`` (uint8 [h, w, 3], in place), and everything outside the mask too, so bilinear sampling at the edge
    fades into the line. Returns the codes (uint8 [h, w]: 0 outside, 1 fill, 2 line)."""
    code = mask.copy()
    if line_px > 0:
        k = 2 * line_px + 1
        inner = cv2.erode(
            mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)), borderType=cv2.BORDER_CONSTANT, borderValue=0
        )
        line = (mask == 1) & (inner == 0)
        code[line] = 2
        color[line] = line_color
        color[mask == 0] = line_color
    return code
