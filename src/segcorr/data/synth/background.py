"""Background canvases: flat colour regions, gradients, and sometimes texture, each region a segment.

The canvas is larger than the frame by ``margin`` on every side so that a pan keeps real content in
view. Cel backgrounds are outdoor (sky, ground, hills, clouds, buildings) or indoor (wall, floor,
window, furniture) layouts; textured backgrounds are photo-like mixtures for flow generalisation.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from segcorr.data.synth import palette, shapes, textures

_SKY = ((120, 180, 240), (200, 230, 250))
_GROUND = {
    "grass": (90, 170, 80),
    "road": (120, 120, 125),
    "sand": (225, 205, 150),
    "floor": (170, 120, 80),
    "snow": (235, 240, 245),
}
_WALL = {"wall": (230, 220, 200), "wallpaper": (200, 180, 210), "brick wall": (170, 90, 70)}


Fill = np.ndarray | Callable[[int, int], np.ndarray]


class _Canvas:
    """Colour canvas plus region ids; ``paint`` fills a polygon with a fill and a new region id."""

    def __init__(self, h: int, w: int) -> None:
        self.h, self.w = h, w
        self.color = np.zeros((h, w, 3), np.uint8)
        self.regions = np.zeros((h, w), np.uint16)
        self.concepts: dict[int, str] = {}

    def paint(self, poly: np.ndarray | None, fill: Fill, concept: str) -> None:
        """Paint ``poly`` (float [N, 2] canvas coords; None = everything) with ``fill``: a colour, or
        a function (h, w) -> uint8 [h, w, 3] called for the polygon's bounding box only (speed)."""
        rid = len(self.concepts) + 1
        if poly is None:
            self.color[:] = fill(self.h, self.w) if callable(fill) else fill
            self.regions[:] = rid
            self.concepts[rid] = concept
            return
        x0 = max(int(np.floor(poly[:, 0].min())), 0)
        y0 = max(int(np.floor(poly[:, 1].min())), 0)
        x1 = min(int(np.ceil(poly[:, 0].max())) + 1, self.w)
        y1 = min(int(np.ceil(poly[:, 1].max())) + 1, self.h)
        if x1 <= x0 or y1 <= y0:
            return
        pts = [np.round((poly - np.asarray([x0, y0], np.float32)) * 16).astype(np.int32)]
        regions = self.regions[y0:y1, x0:x1]
        before = regions.copy()
        # The same polygon and sub-pixel shift rasterise to the same pixels in every call, so the
        # colour and the region id always cover exactly the same area.
        cv2.fillPoly(regions, pts, rid, shift=4)
        if np.array_equal(before, regions):
            return
        color = self.color[y0:y1, x0:x1]
        if callable(fill):
            mask = np.zeros(regions.shape, np.uint8)
            cv2.fillPoly(mask, pts, 1, shift=4)
            np.copyto(color, fill(y1 - y0, x1 - x0), where=mask[..., None].astype(bool))
        else:
            cv2.fillPoly(color, pts, tuple(int(v) for v in fill), shift=4)
        self.concepts[rid] = concept

    def finish(self) -> tuple[np.ndarray, np.ndarray, dict[int, str]]:
        """Renumber so ids are 1..R for regions that survived overpainting."""
        present = np.unique(self.regions)
        present = present[present > 0]
        lut = np.zeros(max(self.concepts) + 1, np.uint16)
        concepts = {}
        for new, old in enumerate(present, start=1):
            lut[old] = new
            concepts[new] = self.concepts[int(old)]
        return self.color, lut[self.regions], concepts


def _maybe_texture(rng: np.random.Generator, rgb: np.ndarray, prob: float, scale: float) -> Fill:
    """Flat colour most of the time; with probability ``prob`` a gentle noise or stripe variant of it."""
    r = rng.random()
    if r >= prob:
        return np.asarray(rgb, np.uint8)
    lo = np.clip(rgb.astype(np.int32) - 35, 0, 255)
    hi = np.clip(rgb.astype(np.int32) + 25, 0, 255)
    if r < prob / 2:
        sub = np.random.default_rng(int(rng.integers(2**31)))
        return lambda h, w: textures.noise_fill(sub, h, w, lo, hi, scale)
    period, angle, soft = scale * rng.uniform(0.3, 0.8), rng.uniform(0, np.pi), bool(rng.random() < 0.5)
    return lambda h, w: textures.stripes(h, w, lo, hi, period, angle, soft=soft)


def cel_background(rng: np.random.Generator, h: int, w: int, tex_prob: float = 0.35):
    """Outdoor or indoor cel layout on an (h, w) canvas; returns (color, regions, concepts)."""
    c = _Canvas(h, w)
    s = min(h, w)
    horizon = h * rng.uniform(0.35, 0.7)
    if rng.random() < 0.6:
        top, bottom = palette.jitter(rng, _SKY[0]), palette.jitter(rng, _SKY[1])
        c.paint(None, lambda hh, ww: textures.gradient(hh, ww, top, bottom, np.pi / 2), "sky")
        for _ in range(int(rng.integers(0, 4))):
            cx, cy = rng.uniform(0, w), rng.uniform(0, horizon * 0.8)
            c.paint(
                shapes.blob_poly(rng, cx, cy, s * rng.uniform(0.06, 0.15), s * rng.uniform(0.03, 0.07), 0.2),
                palette.jitter(rng, (245, 245, 250), 6),
                "cloud",
            )
        for _ in range(int(rng.integers(0, 3))):
            cx, r = rng.uniform(0, w), s * rng.uniform(0.15, 0.4)
            kind = palette.pick(rng, ("hill", "mountain"))
            poly = (
                shapes.blob_poly(rng, cx, horizon, r * 1.5, r * 0.6, 0.15)
                if kind == "hill"
                else np.asarray([(cx - r, horizon + 2), (cx, horizon - r), (cx + r, horizon + 2)], np.float32)
            )
            rgb = palette.jitter(rng, (80, 150, 90) if kind == "hill" else (120, 120, 150))
            c.paint(poly, _maybe_texture(rng, rgb, tex_prob, s * 0.1), kind)
        for _ in range(int(rng.integers(0, 4))):
            bw, bh = s * rng.uniform(0.08, 0.2), s * rng.uniform(0.15, 0.45)
            x0 = rng.uniform(0, w - bw)
            name = palette.pick(rng, ("grey", "beige", "brown", "white", "teal"))
            c.paint(
                shapes.rect_poly(x0, horizon - bh, x0 + bw, horizon + 1),
                _maybe_texture(rng, palette.color(rng, name), tex_prob, s * 0.05),
                f"{name} building",
            )
        ground = palette.pick(rng, tuple(_GROUND))
    else:
        wall = palette.pick(rng, tuple(_WALL))
        c.paint(None, _maybe_texture(rng, palette.jitter(rng, _WALL[wall]), tex_prob * 1.5, s * 0.08), wall)
        wx, wy = rng.uniform(0, w * 0.7), rng.uniform(0, horizon * 0.4)
        ww, wh = s * rng.uniform(0.2, 0.4), s * rng.uniform(0.15, 0.3)
        c.paint(shapes.rect_poly(wx, wy, wx + ww, wy + wh), palette.jitter(rng, _SKY[0]), "window")
        for _ in range(int(rng.integers(0, 3))):
            fw, fh = s * rng.uniform(0.15, 0.4), s * rng.uniform(0.1, 0.3)
            x0 = rng.uniform(0, w - fw)
            name = palette.pick(rng, palette.CLOTHES)
            kind = palette.pick(rng, ("shelf", "table", "sofa", "cabinet"))
            c.paint(
                shapes.rect_poly(x0, horizon - fh, x0 + fw, horizon + fh * 0.2),
                palette.color(rng, name),
                f"{name} {kind}",
            )
        ground = palette.pick(rng, ("floor", "floor", "carpet"))
    ground_rgb = palette.jitter(rng, _GROUND.get(ground, (150, 60, 60)))
    c.paint(shapes.rect_poly(-1, horizon, w + 1, h + 1), _maybe_texture(rng, ground_rgb, tex_prob, s * 0.06), ground)
    return c.finish()


def _texture(rng: np.random.Generator, size_hint: float, kind: str) -> Fill:
    sub = np.random.default_rng(int(rng.integers(2**31)))
    return lambda h, w: textures.random_texture(sub, h, w, size_hint, kind)[0]


def textured_background(rng: np.random.Generator, h: int, w: int):
    """A photo-like textured base with a few large textured regions; returns (color, regions, concepts)."""
    c = _Canvas(h, w)
    s = min(h, w)
    c.paint(None, _texture(rng, s * 0.25, "photo"), "textured background")
    for _ in range(int(rng.integers(1, 4))):
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        poly = (
            shapes.star_poly(rng, cx, cy, s * rng.uniform(0.2, 0.5), int(rng.integers(4, 9)))
            if rng.random() < 0.5
            else shapes.blob_poly(rng, cx, cy, s * rng.uniform(0.15, 0.4), s * rng.uniform(0.1, 0.3), 0.3)
        )
        kind = str(rng.choice(textures.TEXTURE_KINDS))
        c.paint(poly, _texture(rng, s * rng.uniform(0.05, 0.25), kind), f"{kind} region")
    return c.finish()
