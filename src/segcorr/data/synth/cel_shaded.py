"""The "shaded" cel style: a second look for cel pairs, drawn to differ from the "cel" style the flow model was
trained and tuned on (evaluation that cannot flatter).

What differs from "cel": palettes (pastel, muted, night, sepia, vivid; colours drawn in HSV, not from named
colours), line art (none, 1 px up to 5 px, in black, dark brown or a darker tone of the fill), fills (soft
gradients, low-contrast grain and cloth patterns instead of flat colour with a hard cel shadow), painted
backgrounds (graded skies, textured ground, outlined props), and motion: most layers move little (a quarter under
1 px, a third 1-4 px), the camera pans slowly (often under 1 px) and sometimes zooms. Everything is still rendered
by the same layered world (`segcorr.data.synth.render`), so flow, occlusion and segments stay exact.
"""

from __future__ import annotations

import colorsys
from collections.abc import Callable

import numpy as np

from segcorr.data.synth import shapes, textures
from segcorr.data.synth.background import _Canvas
from segcorr.data.synth.scene import Background, Layer, Motion, Part, Scene

STYLE = "shaded"
PALETTES = ("pastel", "muted", "night", "sepia", "vivid")
# (hue range or None for any, saturation range, value range) per palette
_HSV = {
    "pastel": (None, (0.12, 0.4), (0.82, 1.0)),
    "muted": (None, (0.08, 0.35), (0.35, 0.75)),
    "night": ((0.5, 0.8), (0.2, 0.6), (0.12, 0.5)),
    "sepia": ((0.04, 0.13), (0.2, 0.6), (0.3, 0.92)),
    "vivid": (None, (0.65, 1.0), (0.55, 1.0)),
}
_LINE_WIDTHS = (0, 1, 1, 1, 2, 2, 3, 4, 5)  # px, drawn per character
Fill = Callable[[int, int], np.ndarray]


def colour(rng: np.random.Generator, palette: str) -> np.ndarray:
    """A random colour of `palette`: uint8 [3] RGB."""
    hue, sat, val = _HSV[palette]
    h = rng.uniform(*hue) if hue else rng.uniform(0, 1)
    rgb = colorsys.hsv_to_rgb(h % 1.0, rng.uniform(*sat), rng.uniform(*val))
    return np.clip(np.round(np.asarray(rgb) * 255), 0, 255).astype(np.uint8)


def _shift(rgb: np.ndarray, amount: float) -> np.ndarray:
    return np.clip(rgb.astype(np.float32) + amount, 0, 255).astype(np.uint8)


def fill(rng: np.random.Generator, rgb: np.ndarray, size: float) -> tuple[Fill, str]:
    """A fill around `rgb` for a shape about `size` px: soft gradient (most), flat, grain or a cloth pattern.
    Returns (fill (h, w) -> uint8 [h, w, 3], a word for the concept name)."""
    r = rng.random()
    angle = float(rng.uniform(0, 2 * np.pi))
    if r < 0.45:  # soft shading: lighter towards the light, darker away from it
        amp = rng.uniform(15, 60)
        lo, hi = _shift(rgb, -amp / 2), _shift(rgb, amp / 2)
        return (lambda h, w: textures.gradient(h, w, hi, lo, angle)), "shaded"
    if r < 0.65:
        return (lambda h, w: textures.flat(h, w, rgb)), "plain"
    seed = int(rng.integers(2**31))
    if r < 0.85:  # low-contrast grain, as painted or photographed cels
        amp = rng.uniform(10, 35)
        scale = max(size * rng.uniform(0.05, 0.3), textures.MIN_PERIOD)
        lo, hi = _shift(rgb, -amp / 2), _shift(rgb, amp / 2)
        return (lambda h, w: textures.noise_fill(np.random.default_rng(seed), h, w, lo, hi, scale)), "mottled"
    other = _shift(rgb, rng.choice([-1, 1]) * rng.uniform(30, 70))
    period = max(size * rng.uniform(0.08, 0.25), textures.MIN_PERIOD)
    if rng.random() < 0.5:
        return (lambda h, w: textures.stripes(h, w, rgb, other, period, angle, soft=False)), "striped"
    return (lambda h, w: textures.checker(h, w, rgb, other, period, angle)), "checkered"


def line_style(rng: np.random.Generator, rgb: np.ndarray) -> tuple[int, np.ndarray]:
    """(line width px, line colour) of one character: no line, thin or thick; black, brown or a dark tone of the
    character's main colour (colour trace)."""
    width = int(rng.choice(_LINE_WIDTHS))
    kind = rng.random()
    if kind < 0.45:
        return width, np.array([20, 18, 25], np.uint8)
    if kind < 0.7:
        return width, np.array([70, 40, 25], np.uint8)
    return width, (rgb.astype(np.float32) * rng.uniform(0.25, 0.5)).astype(np.uint8)


class _Parts:
    """Collects the parts of one layer with one line style."""

    def __init__(self, line_px: int, line_rgb: np.ndarray) -> None:
        self.parts: list[Part] = []
        self.line_px, self.line_rgb = line_px, line_rgb

    def add(self, poly: np.ndarray, fill_: Fill, concept: str, kind: str, parent: int = -1, **kw) -> int:
        """Rasterise one part; returns its index (-2 when it covers no pixel or its parent was not drawn)."""
        if parent < -1:
            return -2
        line_px = kw.pop("line_px", self.line_px)
        sprite = shapes.rasterize(poly, fill_, line_px, self.line_rgb, None)
        if sprite is None:
            return -2
        self.parts.append(Part(sprite=sprite, concept=concept, kind=kind, parent=parent, **kw))
        return len(self.parts) - 1


def character(rng: np.random.Generator, unit: float, palette: str) -> tuple[list[Part], str]:
    """An articulated character about 7 `unit` tall in `palette`; limbs swing gently. Returns (parts, concept)."""
    u = unit
    top, low, hair, skin = (colour(rng, palette) for _ in range(4))
    skin = _shift(np.array([235, 200, 170], np.uint8), rng.uniform(-40, 15)) if rng.random() < 0.7 else skin
    b = _Parts(*line_style(rng, top))

    def f(rgb: np.ndarray, size: float, name: str) -> tuple[Fill, str]:
        fn, word = fill(rng, rgb, size)
        return fn, f"{word} {name}"

    torso = shapes.blob_poly(rng, 0, 0, rng.uniform(0.7, 1.0) * u, rng.uniform(1.0, 1.4) * u, wobble=0.08)
    fn, name = f(top, 2 * u, "top")
    root = b.add(torso, fn, name, "torso", z=5)
    for side in (-1, 1):
        _leg_and_arm(b, rng, u, root, side, f(low, 2 * u, "trousers"), top, skin, f)
    hair_word = _head(b, rng, u, root, f(skin, 2 * u, "face")[0], hair, palette)
    return b.parts, f"character with {hair_word} hair"


def _leg_and_arm(
    b: _Parts,
    rng: np.random.Generator,
    u: float,
    root: int,
    side: int,
    leg: tuple[Fill, str],
    top: np.ndarray,
    skin: np.ndarray,
    f: Callable[[np.ndarray, float, str], tuple[Fill, str]],
) -> None:
    """One side's leg (fill and name given), sleeved arm and hand."""
    b.add(
        shapes.limb_poly(rng.uniform(2.0, 2.6) * u, 0.6 * u, 0.45 * u),
        leg[0],
        leg[1],
        "leg",
        root,
        joint=(side * 0.4 * u, 0.9 * u),
        rest_angle=-side * rng.uniform(0.0, 0.2),
        swing=rng.uniform(0.0, 0.12),
        phase=rng.uniform(0, 2 * np.pi),
        z=2,
    )
    z = 7.0 if side == 1 or rng.random() < 0.3 else 1.0
    fn, name = f(top, u, "sleeve")
    arm = b.add(
        shapes.limb_poly(rng.uniform(1.6, 2.1) * u, 0.45 * u, 0.38 * u),
        fn,
        name,
        "arm",
        root,
        joint=(side * 0.8 * u, -0.8 * u),
        rest_angle=-side * rng.uniform(0.1, 0.7),
        swing=rng.uniform(0.0, 0.15),
        phase=rng.uniform(0, 2 * np.pi),
        z=z,
    )
    b.add(
        shapes.ellipse_poly(0, 0.1 * u, 0.25 * u, 0.28 * u),
        lambda h, w: textures.flat(h, w, skin),
        "hand",
        "hand",
        arm,
        joint=(0.0, 1.9 * u),
        z=z + 0.1,
    )


def _head(b: _Parts, rng: np.random.Generator, u: float, root: int, face: Fill, hair: np.ndarray, palette: str) -> str:
    """The face (fill given), hair behind (half the time) and in front, two eyes; returns the hair's word."""
    head = b.add(
        shapes.ellipse_poly(0, -0.95 * u, rng.uniform(0.75, 0.95) * u, rng.uniform(0.85, 1.05) * u),
        face,
        "face",
        "face",
        root,
        joint=(0.0, -1.2 * u),
        rest_angle=rng.uniform(-0.1, 0.1),
        swing=rng.uniform(0.0, 0.06),
        phase=rng.uniform(0, 2 * np.pi),
        z=6,
    )
    hair_fill, hair_word = fill(rng, hair, 2 * u)
    if rng.random() < 0.5:
        back = shapes.blob_poly(rng, 0, -0.3 * u, 1.05 * u, 1.4 * u, wobble=0.12)
        b.add(back, hair_fill, "hair", "hair", head, z=0.5)
    fringe = shapes.hair_poly(rng, -0.95 * u, 0.85 * u, 0.95 * u, int(rng.integers(2, 7)))
    b.add(fringe, hair_fill, "hair", "hair", head, z=8)
    eye = colour(rng, palette)
    for side in (-1, 1):
        b.add(
            shapes.ellipse_poly(0, 0, 0.13 * u, 0.2 * u, n=20),
            lambda h, w: textures.flat(h, w, eye),
            "eye",
            "eye",
            head,
            joint=(side * 0.32 * u, -0.75 * u),
            line_px=min(1, b.line_px),
            z=9,
        )
    return hair_word


def prop(rng: np.random.Generator, size: float, palette: str) -> tuple[list[Part], str]:
    """A rigid outlined prop (box, blob or polygon) with a gradient, grain or pattern fill."""
    kind = str(rng.choice(["box", "blob", "polygon"]))
    if kind == "box":
        poly = shapes.rect_poly(-size / 2, -size * 0.3, size / 2, size * 0.3)
    elif kind == "blob":
        poly = shapes.blob_poly(rng, 0, 0, size / 2, size * rng.uniform(0.25, 0.5), wobble=0.25)
    else:
        poly = shapes.star_poly(rng, 0, 0, size / 2, int(rng.integers(3, 8)))
    rgb = colour(rng, palette)
    b = _Parts(*line_style(rng, rgb))
    fn, word = fill(rng, rgb, size)
    b.add(shapes.transform_poly(poly, rng.uniform(-np.pi, np.pi)), fn, f"{word} {kind}", kind)
    return b.parts, f"{word} {kind}"


def background(rng: np.random.Generator, h: int, w: int, palette: str):
    """A painted backdrop on an (h, w) canvas: graded sky or wall, textured ground, hills and outlined buildings.
    Returns (colour uint8 [h, w, 3], regions uint16 [h, w], concepts)."""
    c = _Canvas(h, w)
    s = min(h, w)
    horizon = h * rng.uniform(0.3, 0.75)
    top, bottom = colour(rng, palette), colour(rng, palette)
    c.paint(None, lambda hh, ww: textures.gradient(hh, ww, top, bottom, np.pi / 2), "sky")
    for _ in range(int(rng.integers(0, 4))):
        cx, r = rng.uniform(0, w), s * rng.uniform(0.12, 0.4)
        fn, word = fill(rng, colour(rng, palette), r)
        c.paint(shapes.blob_poly(rng, cx, horizon, r * 1.6, r * 0.6, 0.2), fn, f"{word} hill")
    for _ in range(int(rng.integers(0, 5))):
        bw, bh = s * rng.uniform(0.06, 0.2), s * rng.uniform(0.1, 0.5)
        x0 = rng.uniform(0, w - bw)
        fn, word = fill(rng, colour(rng, palette), bw)
        c.paint(shapes.rect_poly(x0, horizon - bh, x0 + bw, horizon + 1), fn, f"{word} building")
    ground = colour(rng, palette)
    sub = np.random.default_rng(int(rng.integers(2**31)))
    lo, hi = _shift(ground, -20), _shift(ground, 20)
    c.paint(
        shapes.rect_poly(-1, horizon, w + 1, h + 1),
        lambda hh, ww: textures.noise_fill(sub, hh, ww, lo, hi, s * 0.08),
        "ground",
    )
    return c.finish()


def layer_motion(rng: np.random.Generator, pos: tuple[float, float], f: float) -> Motion:
    """Per-layer motion at frame scale f (1 at 512x384): a quarter under 1 px, a third 1-4 px, the rest 4-16 px;
    small turns and zooms."""
    r = rng.random()
    mag = rng.uniform(0, 1) if r < 0.25 else (rng.uniform(1, 4) if r < 0.6 else rng.uniform(4, 16)) * f
    a = rng.uniform(0, 2 * np.pi)
    return Motion(
        pos=pos,
        vel=(mag * np.cos(a), mag * np.sin(a)),
        acc=tuple(rng.normal(0, 0.05 * max(mag, 0.5), 2)),
        angle0=rng.uniform(-0.15, 0.15),
        omega=rng.uniform(-0.03, 0.03),
        scale_rate=rng.uniform(-0.02, 0.02),
    )


def build_shaded_scene(rng: np.random.Generator, height: int, width: int) -> Scene:
    """A random scene of the "shaded" style (see the module docstring). Motion per unit time, as `build_scene`."""
    f = min(height / 384.0, width / 512.0)
    palette = str(rng.choice(PALETTES))
    margin = int(np.ceil(0.1 * max(height, width))) + 8
    hc, wc = height + 2 * margin, width + 2 * margin
    color, regions, concepts = background(rng, hc, wc, palette)
    r = rng.random()
    pan = rng.uniform(0, 1) if r < 0.5 else (rng.uniform(1, 4) if r < 0.8 else rng.uniform(4, 10)) * f
    a = rng.uniform(0, 2 * np.pi)
    zoom = rng.uniform(-0.03, 0.03) if rng.random() < 0.25 else 0.0
    bg_motion = Motion(
        pos=(width / 2, height / 2),
        vel=(pan * np.cos(a), pan * np.sin(a)),
        scale_rate=zoom,
        origin=(wc / 2, hc / 2),
    )
    bg = Background(color=color, regions=regions, motion=bg_motion, concepts=concepts)
    n_char, n_prop = int(rng.integers(1, 5)), int(rng.integers(0, 3))
    ids = rng.permutation(n_char + n_prop) + 1
    layers = []
    for i in range(n_char + n_prop):
        if i < n_char:
            parts, concept = character(rng, height * rng.uniform(0.3, 0.95) / 7.0, palette)
            pos = (rng.uniform(-0.05, 1.05) * width, rng.uniform(0.25, 0.85) * height)
        else:
            parts, concept = prop(rng, min(height, width) * rng.uniform(0.1, 0.35), palette)
            pos = (rng.uniform(0, 1) * width, rng.uniform(0, 1) * height)
        if parts:
            layers.append(Layer(tuple(parts), layer_motion(rng, pos, f), int(ids[i]), concept))
    layers.sort(key=lambda la: rng.random())  # drawing order independent of kind: props in front sometimes
    return Scene(height=height, width=width, style=STYLE, background=bg, layers=tuple(layers))
