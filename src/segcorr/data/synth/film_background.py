"""Painted backgrounds of the "film" style, split into parallax planes as a multiplane camera shoots them.

- the far canvas (`Background`): sky with soft clouds, distant mountains or a skyline in aerial perspective, or
  an interior wall with a window;
- middle planes (parts of layers with instance 0): trees with foliage, brick or plaster buildings with windows,
  fences, hedges; furniture indoors;
- the ground plane (grass, road, paving, wooden floor) that characters stand on;
- sometimes a foreground plane (a bush or a post) in front of the characters.

Each plane moves with its own share of the camera motion (`segcorr.data.synth.cel_film`); every object is its own
segment. Middle, ground and foreground objects are built in image coordinates at t = 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from segcorr.data.synth import film_paint as fp
from segcorr.data.synth import palette, shapes
from segcorr.data.synth.background import _Canvas
from segcorr.data.synth.scene import Part

# sky top, sky bottom, cloud colour, light tint (multiplies every object colour), cloud cover range
LIGHTS = {
    "day": ((70, 130, 215), (185, 215, 245), (250, 250, 252), (1.0, 1.0, 1.0), (0.1, 0.45)),
    "golden": ((80, 105, 185), (250, 195, 145), (255, 228, 200), (1.08, 0.95, 0.82), (0.1, 0.4)),
    "overcast": ((140, 150, 165), (205, 208, 212), (228, 230, 234), (0.9, 0.93, 0.98), (0.5, 0.85)),
    "dusk": ((55, 50, 110), (235, 140, 125), (215, 150, 160), (0.88, 0.78, 0.86), (0.1, 0.4)),
    "night": ((12, 18, 45), (45, 60, 105), (70, 80, 115), (0.45, 0.52, 0.78), (0.0, 0.3)),
}
_GROUNDS = {"grass": (95, 150, 70), "road": (115, 115, 120), "paving": (165, 155, 145), "dirt path": (165, 135, 95)}
_BUILDINGS = ("white", "beige", "grey", "brown", "teal")


@dataclass(frozen=True)
class Look:
    """Scene-wide colour decisions: the light ("day", "golden", ...), its sky colours and its tint."""

    light: str
    sky_top: np.ndarray
    sky_bottom: np.ndarray
    cloud: np.ndarray
    tint: tuple[float, float, float]
    cover: tuple[float, float]
    sun: tuple[float, float]  # unit vector towards the light, image axes (y down)

    def lit(self, rgb: np.ndarray | tuple[int, int, int], distance: float = 0.0) -> np.ndarray:
        """``rgb`` under this light, faded towards the sky's haze by ``distance`` (0 near .. 1 gone)."""
        return fp.mix(fp.tone(np.asarray(rgb), 1.0, self.tint), self.sky_bottom, distance)


def sample_look(rng: np.random.Generator) -> Look:
    light = str(rng.choice(list(LIGHTS), p=[0.4, 0.2, 0.15, 0.1, 0.15]))
    top, bottom, cloud, tint, cover = LIGHTS[light]
    a = rng.uniform(np.pi * 0.6, np.pi * 0.9) * rng.choice([-1, 1]) - np.pi / 2  # from above, left or right
    sun = (float(np.cos(a)), float(np.sin(a)))
    sky_top, sky_bottom = palette.jitter(rng, top, 10), palette.jitter(rng, bottom, 10)
    return Look(light, sky_top, sky_bottom, np.asarray(cloud, np.uint8), tint, cover, sun)


def far_canvas(rng: np.random.Generator, h: int, w: int, horizon: float, look: Look, indoor: bool):
    """The far plane on an (h, w) canvas; ``horizon`` in canvas rows. Returns (colour, regions, concepts)."""
    c = _Canvas(h, w)
    s = min(h, w)
    if indoor:
        wall = look.lit(palette.jitter(rng, ((225, 215, 195), (200, 185, 205), (185, 200, 185))[rng.integers(3)], 12))
        if rng.random() < 0.3:
            fill = fp.brick(rng, look.lit(palette.jitter(rng, (165, 90, 70), 15)), s * 0.07, s * 0.03)
            name = "brick wall"
        else:
            fill = fp.gradient_fill(wall, fp.tone(wall, 0.8), fp.painted(rng, wall, s * 0.3, 10), 1.0)
            name = "wall"
        c.paint(None, fill, name)
        for _ in range(int(rng.integers(1, 3))):
            ww, wh = s * rng.uniform(0.2, 0.4), s * rng.uniform(0.2, 0.35)
            wx, wy = rng.uniform(0, w - ww), rng.uniform(h * 0.05, max(horizon - wh - s * 0.1, h * 0.06))
            c.paint(
                shapes.rect_poly(wx, wy, wx + ww, wy + wh),
                fp.sky(rng, look.sky_top, look.sky_bottom, look.cloud, 0.3),
                "window",
            )
        c.paint(shapes.rect_poly(-1, horizon, w + 1, h + 1), fp.painted(rng, fp.tone(wall, 0.7), s * 0.2, 8), "wall")
        return c.finish()
    c.paint(None, fp.sky(rng, look.sky_top, look.sky_bottom, look.cloud, rng.uniform(*look.cover)), "sky")
    for i in range(int(rng.integers(0, 3))):
        base = horizon - s * rng.uniform(0.1, 0.4)
        xs = np.linspace(-2, w + 2, 40)
        ridge = base + s * 0.15 * np.cumsum(rng.normal(0, 0.25, xs.size)) / np.sqrt(xs.size)
        poly = np.concatenate([np.stack([xs, ridge], 1), [[w + 2, horizon + 4], [-2, horizon + 4]]]).astype(np.float32)
        rgb = look.lit(palette.jitter(rng, (95, 125, 115), 20), 0.55 - 0.15 * i)
        c.paint(poly, fp.gradient_fill(rgb, fp.tone(rgb, 0.92), fp.painted(rng, rgb, s * 0.15, 12), 1.0), "mountain")
    if rng.random() < 0.5:  # distant skyline
        x = -2.0
        while x < w:
            bw, bh = s * rng.uniform(0.04, 0.12), s * rng.uniform(0.05, 0.3)
            rgb = look.lit(palette.color(rng, str(rng.choice(_BUILDINGS))), rng.uniform(0.35, 0.6))
            c.paint(shapes.rect_poly(x, horizon - bh, x + bw, horizon + 4), fp.painted(rng, rgb, bw, 6), "building")
            x += bw * rng.uniform(0.7, 1.3)
    field = look.lit(palette.jitter(rng, (105, 140, 85), 15), 0.3)
    c.paint(shapes.rect_poly(-1, horizon, w + 1, h + 1), fp.painted(rng, field, s * 0.1, 10, stretch=3.0), "grass")
    return c.finish()


def _tree(rng: np.random.Generator, x: float, base: float, size: float, look: Look, haze: float) -> list[Part]:
    """Trunk and foliage crown standing at (x, base)."""
    tw, th = size * rng.uniform(0.07, 0.12), size * rng.uniform(0.4, 0.7)
    trunk_rgb = look.lit(palette.jitter(rng, (95, 70, 50), 12), haze)
    crown_rgb = look.lit(palette.jitter(rng, ((70, 125, 60), (60, 110, 75), (120, 140, 60))[rng.integers(3)], 15), haze)
    cy = base - th - size * 0.2
    crown = shapes.blob_poly(rng, x, cy, size * rng.uniform(0.35, 0.55), size * rng.uniform(0.3, 0.45), 0.3, n=64)
    parts = []
    trunk = fp.painted_sprite(
        [shapes.rect_poly(x - tw / 2, cy, x + tw / 2, base)], fp.planks(rng, trunk_rgb, tw / 3, True)
    )
    crown_s = fp.painted_sprite([crown], fp.crown(rng, crown_rgb, max(size * 0.02, 2.0), look.sun))
    for sp, name, z in ((trunk, "tree trunk", 0.0), (crown_s, "tree", 0.1)):
        if sp is not None:
            parts.append(Part(sprite=sp, concept=name, kind=name, z=z))
    return parts


def _building(
    rng: np.random.Generator, x: float, base: float, bw: float, bh: float, look: Look, haze: float
) -> Part | None:
    """A brick or plaster building with a grid of lit or dark windows."""
    name = str(rng.choice(_BUILDINGS))
    rgb = look.lit(palette.color(rng, name), haze)
    brickwork = rng.random() < 0.4
    wall = (
        fp.brick(rng, look.lit(palette.jitter(rng, (160, 85, 65), 15), haze), bw * 0.08, bw * 0.035)
        if brickwork
        else (fp.painted(rng, rgb, bw * 0.5, 10))
    )
    glass = (
        look.lit((70, 95, 130), haze) if look.light not in ("night", "dusk") else np.array([250, 215, 140], np.uint8)
    )
    nx, ny = int(rng.integers(2, 6)), int(rng.integers(2, 8))
    frame = fp.tone(rgb, 0.6)

    def fill(h: int, w: int) -> np.ndarray:
        img = wall(h, w).astype(np.float32)
        cw, ch = w / nx, h / ny
        for i in range(nx):
            for j in range(ny):
                x0, y0 = int(i * cw + cw * 0.25), int(j * ch + ch * 0.25)
                x1, y1 = int(i * cw + cw * 0.75), int(j * ch + ch * 0.7)
                if x1 - x0 >= 2 and y1 - y0 >= 2:
                    img[y0 - 1 : y1 + 1, x0 - 1 : x1 + 1] = frame
                    g = np.linspace(1.15, 0.8, y1 - y0, dtype=np.float32)[:, None, None]
                    img[y0:y1, x0:x1] = glass.astype(np.float32) * g
        return fp._u8(fp._smooth(img))

    sp = fp.painted_sprite([shapes.rect_poly(x, base - bh, x + bw, base)], fill, edge_dark=0.1)
    concept = "brick building" if brickwork else f"{name} building"
    return None if sp is None else Part(sprite=sp, concept=concept, kind="building")


def _fence(rng: np.random.Generator, x0: float, x1: float, base: float, hgt: float, look: Look) -> Part | None:
    """A railing: two rails and posts, one segment."""
    rgb = look.lit(palette.jitter(rng, ((90, 150, 110), (200, 200, 195), (110, 80, 60))[rng.integers(3)], 12))
    post_w, gap = max(hgt * 0.08, 2.0), hgt * rng.uniform(0.4, 1.0)
    polys = [
        shapes.rect_poly(x0, base - hgt, x1, base - hgt * 0.88),
        shapes.rect_poly(x0, base - hgt * 0.5, x1, base - hgt * 0.42),
    ]
    x = x0
    while x < x1:
        polys.append(shapes.rect_poly(x, base - hgt, x + post_w, base))
        x += gap
    sp = fp.painted_sprite(polys, fp.gradient_fill(fp.tone(rgb, 1.1), fp.tone(rgb, 0.75)))
    return None if sp is None else Part(sprite=sp, concept="fence", kind="fence")


def _books(rng: np.random.Generator, wood: np.ndarray, look: Look):
    """Shelf fill: a wooden case with three or four boards and rows of book spines in assorted colours."""
    seed = int(rng.integers(2**31))
    rows = int(rng.integers(3, 5))
    names = [n for n in palette.CLOTHES if n not in ("black", "white")]

    def fill(h: int, w: int) -> np.ndarray:
        r = np.random.default_rng(seed)
        img = np.empty((h, w, 3), np.float32)
        img[:] = fp.tone(wood, 0.55)
        board = max(2, h // 30)
        for i in range(rows):
            y0, y1 = int(i * h / rows), int((i + 1) * h / rows)
            x = board + 1
            while x < w - board - 2:
                bw = max(2, int(r.uniform(0.02, 0.06) * w))
                top = y1 - board - int((y1 - y0 - 2 * board) * r.uniform(0.6, 0.95))
                col = look.lit(palette.color(r, str(r.choice(names)))).astype(np.float32) * r.uniform(0.7, 1.0)
                img[max(top, y0 + board) : y1 - board, x : min(x + bw, w - board)] = col
                x += bw + int(r.integers(0, 2))
            img[max(y1 - board, 0) : y1, :] = fp.tone(wood, 1.0)
        img[:, :board] = img[:, w - board :] = img[:board] = fp.tone(wood, 1.0)
        return fp._u8(fp._smooth(img))

    return fill


def _furniture(
    rng: np.random.Generator, kind: str, x: float, base: float, fw: float, fh: float, look: Look
) -> Part | None:
    """A shelf of books, a cabinet with doors, a sofa with cushions or a table on legs, standing at ``base``."""
    rgb = look.lit(palette.color(rng, str(rng.choice(("brown", "beige", "white", "teal", "red")))))
    top = base - fh
    if kind == "shelf":
        polys, fill = [shapes.rect_poly(x, top - fh * 0.6, x + fw * 0.6, base)], _books(rng, rgb, look)
    elif kind == "cabinet":
        polys = [shapes.rect_poly(x, top, x + fw, base)]
        wood = fp.planks(rng, rgb, fh / rng.integers(3, 6), vertical=True)
        doors = int(rng.integers(2, 4))

        def fill(h: int, w: int) -> np.ndarray:
            img = wood(h, w).astype(np.float32)
            for i in range(1, doors):
                img[:, int(i * w / doors) : int(i * w / doors) + 2] *= 0.55
            for i in range(doors):
                kx, ky = int((i + 0.5) * w / doors), h // 2
                img[ky - 2 : ky + 2, kx - 2 : kx + 2] = 230.0
            return fp._u8(fp._smooth(img))

    elif kind == "sofa":
        arm = fw * 0.12
        polys = [
            shapes.rect_poly(x, top, x + fw, base - fh * 0.1),
            shapes.rect_poly(x - arm * 0.2, top + fh * 0.35, x + arm, base),
            shapes.rect_poly(x + fw - arm, top + fh * 0.35, x + fw + arm * 0.2, base),
        ]
        cloth = fp.painted(rng, rgb, fw * 0.3, 12)
        seats = int(rng.integers(2, 4))

        def fill(h: int, w: int) -> np.ndarray:
            img = cloth(h, w).astype(np.float32)
            img[int(h * 0.55) :] *= 0.85  # seat front in shade
            for i in range(1, seats):
                img[: int(h * 0.9), int(i * w / seats)] *= 0.6
            return fp._u8(fp._smooth(img))

    else:  # table
        leg = max(fw * 0.05, 2.0)
        th = fh * 0.15
        polys = [
            shapes.rect_poly(x, top, x + fw, top + th),
            shapes.rect_poly(x + leg, top, x + 2 * leg, base),
            shapes.rect_poly(x + fw - 2 * leg, top, x + fw - leg, base),
        ]
        fill = fp.gradient_fill(fp.tone(rgb, 1.1), fp.tone(rgb, 0.7), fp.planks(rng, rgb, th / 2), 0.5)
    sp = fp.painted_sprite(polys, fill, 0.1)
    return None if sp is None else Part(sprite=sp, concept=kind, kind=kind)


def middle_plane(
    rng: np.random.Generator,
    height: int,
    width: int,
    margin: int,
    horizon: float,
    look: Look,
    indoor: bool,
    haze: float,
) -> list[Part]:
    """Objects standing on the horizon, spanning the frame plus ``margin`` on each side (image coords at t=0)."""
    s = min(height, width)
    parts: list[Part] = []
    x, x_end = -margin, width + margin
    if indoor:
        while x < x_end:
            fw, fh = s * rng.uniform(0.25, 0.55), s * rng.uniform(0.15, 0.5)
            kind = str(rng.choice(["shelf", "cabinet", "sofa", "table"]))
            p = _furniture(rng, kind, x, horizon + s * 0.04, fw, fh, look)
            parts += [p] if p is not None else []
            x += fw + s * rng.uniform(0.05, 0.4)
        return parts
    kinds = str(rng.choice(["trees", "town", "mixed"]))
    while x < x_end:
        r = rng.random()
        if kinds == "trees" or (kinds == "mixed" and r < 0.5):
            size = s * rng.uniform(0.4, 0.95)
            parts += _tree(rng, x + size * 0.3, horizon + s * 0.02, size, look, haze)
            x += size * rng.uniform(0.35, 0.8)
        else:
            bw, bh = s * rng.uniform(0.15, 0.4), s * rng.uniform(0.3, 0.9)
            p = _building(rng, x, horizon + s * 0.02, bw, bh, look, haze)
            parts += [p] if p is not None else []
            x += bw + s * rng.uniform(0.0, 0.15)
    if rng.random() < 0.4:
        p = _fence(rng, -margin, width + margin, horizon + s * 0.05, s * rng.uniform(0.06, 0.12), look)
        parts += [p] if p is not None else []
    for i, p in enumerate(parts):  # later objects in front
        parts[i] = Part(sprite=p.sprite, concept=p.concept, kind=p.kind, z=float(i) + p.z)
    return parts


def ground_plane(
    rng: np.random.Generator, height: int, width: int, margin: int, horizon: float, look: Look, indoor: bool
) -> Part:
    """The ground from ``horizon`` down past the frame's bottom edge."""
    s = min(height, width)
    poly = shapes.rect_poly(-margin, horizon, width + margin, height + margin)
    if indoor:
        rgb = look.lit(palette.jitter(rng, (165, 115, 75), 15))
        fill, name = fp.planks(rng, rgb, s * rng.uniform(0.05, 0.1), perspective=0.2), "floor"
    else:
        name = str(rng.choice(list(_GROUNDS)))
        rgb = look.lit(palette.jitter(rng, _GROUNDS[name], 12))
        if name == "grass":
            fill = fp.gradient_fill(fp.tone(rgb, 0.9), fp.tone(rgb, 1.08), fp.foliage(rng, rgb, s * 0.006 + 1.5), 0.6)
        elif name == "paving":
            fill = fp.brick(rng, rgb, s * 0.12, s * 0.06, perspective=0.2)
        else:
            fill = fp.painted(rng, rgb, s * 0.15, 14, stretch=4.0)
    near = fp.tone(rgb, rng.uniform(0.75, 0.95))
    sp = fp.painted_sprite([poly], fp.gradient_fill(fp.mix(rgb, look.sky_bottom, 0.15), near, fill, 1.0))
    assert sp is not None
    return Part(sprite=sp, concept=name, kind="ground", z=-1.0)


def foreground_plane(rng: np.random.Generator, height: int, width: int, look: Look) -> list[Part]:
    """A bush or a post near one side of the frame, in front of everything."""
    s = min(height, width)
    left = rng.random() < 0.5
    if rng.random() < 0.6:
        r = s * rng.uniform(0.2, 0.4)
        cx = (-r * 0.3) if left else width + r * 0.3
        poly = shapes.blob_poly(rng, cx, height + r * 0.2, r * 1.3, r, 0.35, n=64)
        rgb = look.lit(palette.jitter(rng, (55, 100, 50), 15), 0.0)
        sp, name = fp.painted_sprite([poly], fp.crown(rng, fp.tone(rgb, 0.8), max(s * 0.02, 2.5), look.sun)), "bush"
    else:
        pw = s * rng.uniform(0.05, 0.12)
        x = rng.uniform(-pw * 0.5, width * 0.2) if left else rng.uniform(width * 0.8, width - pw * 0.5)
        rgb = look.lit(palette.jitter(rng, (80, 80, 85), 15))
        sp = fp.painted_sprite(
            [shapes.rect_poly(x, -height * 0.2, x + pw, height * 1.2)], fp.planks(rng, rgb, pw / 2, True)
        )
        name = "pole"
    return [] if sp is None else [Part(sprite=sp, concept=name, kind=name)]
