"""The "film" style: cel pairs that look like frames of TV or film animation, with exact ground truth.

What it adds to the layered world: painted backgrounds split into parallax planes (far sky and scenery, middle
trees, buildings or furniture, the ground, sometimes a foreground bush or post), each moving with its own share of
one camera motion (a pan, often slow or sub-pixel, and in a third of the scenes a zoom about the frame centre, as a
lens zoom (every plane scales alike) or a dolly (nearer planes scale more)); characters painted like digital cels
(soft gradient, cel shadow and highlight shapes inside each part, interior strokes, thin to thick lines in black,
brown or a dark tone of the fill), lit by the scene's light (day, golden hour, overcast, dusk, night); and, once
both frames are rendered, broadcast-like degradation (`segcorr.data.synth.degrade`: grade, blur, grain, JPEG).

Background planes are layers with instance id 0 (background in the instance map, left out of ``depth`` and the
instance concepts); every object in them is its own segment. The renderer is the shared one
(`segcorr.data.synth.render`), so flow, occlusion and segments stay exact; only the degradation noise separates
img0 from img1 warped by the flow.
"""

from __future__ import annotations

import numpy as np

from segcorr.data.synth import film_background as fb
from segcorr.data.synth import film_paint as fp
from segcorr.data.synth import palette, shapes
from segcorr.data.synth.scene import Background, Layer, Motion, Part, Scene

STYLE = "film"
_LINE_WIDTHS = (1, 1, 1, 2, 2, 3, 4)  # px at 512x384, per character
_BLACKISH = (np.array([30, 24, 32], np.uint8), np.array([62, 40, 34], np.uint8))


class _Painter:
    """Paints the parts of one character with one light, one line width and one line colour rule."""

    def __init__(self, rng: np.random.Generator, light: tuple[float, float], line_px: int) -> None:
        self.parts: list[Part] = []
        self.light, self.line_px = light, line_px
        self.trace = rng.random() < 0.35  # colour trace: lines in a dark tone of each fill
        self.line_rgb = _BLACKISH[int(rng.integers(2))]
        self.soft = float(rng.uniform(0.0, 1.2))  # shadow edge softness of this character

    def add(self, poly: np.ndarray, base: np.ndarray, concept: str, kind: str, parent: int = -1, **kw) -> int:
        """Rasterise one part; returns its index (-2 when it covers no pixel or its parent was not drawn)."""
        if parent < -1:
            return -2
        paint = {k: kw.pop(k) for k in ("shade", "gloss", "band", "strokes", "texture", "texture_amount") if k in kw}
        line_px = kw.pop("line_px", self.line_px)
        line_rgb = fp.tone(base, 0.35) if self.trace else self.line_rgb
        sprite = fp.shaded_sprite(poly, base, self.light, line_px, line_rgb, soft=self.soft, **paint)
        if sprite is None:
            return -2
        self.parts.append(Part(sprite=sprite, concept=concept, kind=kind, parent=parent, **kw))
        return len(self.parts) - 1


def _eye_texture(iris: np.ndarray):
    """Iris: dark upper lid shadow, lighter bottom, a white catch light up and to one side."""

    def fill(h: int, w: int) -> np.ndarray:
        y = np.linspace(-1, 1, h, dtype=np.float32)[:, None, None]
        img = np.asarray(iris, np.float32)[None, None] * (0.75 + 0.35 * (y + 1) / 2) * np.ones((1, w, 1), np.float32)
        img[: max(1, h // 4)] *= 0.45
        cy, cx, r = h * 0.38, w * 0.34, max(1.0, min(h, w) * 0.16)
        yy, xx = np.mgrid[0:h, 0:w]
        img[(yy - cy) ** 2 + (xx - cx) ** 2 <= r * r] = 250.0
        return np.clip(img, 0, 255).astype(np.uint8)

    return fill


def _torso_poly(rng: np.random.Generator, u: float, top_kind: str) -> np.ndarray:
    """Rounded shoulders, a waist and a hem (wider and lower for a dress), from y = -1.2 u to the hem."""
    sh, waist = rng.uniform(0.75, 0.95) * u, rng.uniform(0.55, 0.7) * u
    hem_y, hem_x = (2.0 * u, 1.1 * u) if top_kind == "dress" else (1.2 * u, rng.uniform(0.65, 0.8) * u)
    a = np.linspace(np.pi, 1.5 * np.pi, 6)
    r = 0.3 * u
    left = np.stack([-sh + r + r * np.cos(a), -1.2 * u + r + r * np.sin(a)], 1)
    right = np.stack([sh - r - r * np.cos(a[::-1]), -1.2 * u + r + r * np.sin(a[::-1])], 1)
    body = [[sh, -0.6 * u], [waist, 0.5 * u], [hem_x, hem_y], [-hem_x, hem_y], [-waist, 0.5 * u], [-sh, -0.6 * u]]
    return np.concatenate([left, right, np.asarray(body, np.float64)]).astype(np.float32)


def _limbs(
    p: _Painter,
    rng: np.random.Generator,
    u: float,
    root: int,
    side: int,
    look: fb.Look,
    colours: tuple[np.ndarray, np.ndarray, np.ndarray],
    names: tuple[str, str, str],
) -> None:
    """One side's leg with its shoe and arm with its hand (side -1: left, 1: right), hung on ``root``.
    colours: (skin, top, lower garment); names: (top kind, top colour name, lower colour name)."""
    skin, top, low = colours
    top_kind, top_name, low_name = names
    leg = p.add(
        shapes.limb_poly(rng.uniform(2.0, 2.5) * u, 0.6 * u, 0.45 * u),
        skin if top_kind == "dress" else low,
        "leg" if top_kind == "dress" else f"{low_name} pants",
        "leg",
        root,
        joint=(side * 0.4 * u, 0.9 * u),
        rest_angle=-side * rng.uniform(0.0, 0.15),
        swing=rng.uniform(0.0, 0.15),
        phase=rng.uniform(0, 2 * np.pi),
        z=2,
    )
    shoe_name = palette.pick(rng, ("black", "brown", "white", "red"))
    p.add(
        shapes.ellipse_poly(-side * 0.1 * u, 0.05 * u, 0.36 * u, 0.2 * u),
        look.lit(palette.color(rng, shoe_name)),
        f"{shoe_name} shoes",
        "shoe",
        leg,
        joint=(0.0, 2.2 * u),
        z=2.1,
        gloss=0.4,
    )
    z = 7.0 if side == 1 or rng.random() < 0.3 else 1.0
    arm = p.add(
        shapes.limb_poly(rng.uniform(1.6, 2.0) * u, 0.46 * u, 0.38 * u),
        top,
        f"{top_name} sleeve",
        "arm",
        root,
        joint=(side * 0.8 * u, -0.8 * u),
        rest_angle=-side * rng.uniform(0.1, 0.6),
        swing=rng.uniform(0.0, 0.18),
        phase=rng.uniform(0, 2 * np.pi),
        z=z,
    )
    p.add(
        shapes.ellipse_poly(0, 0.1 * u, 0.24 * u, 0.28 * u),
        skin,
        "hand",
        "hand",
        arm,
        joint=(0.0, 1.8 * u),
        z=z + 0.1,
    )


def character(
    rng: np.random.Generator, unit: float, look: fb.Look, light: tuple[float, float], line_px: int
) -> tuple[list[Part], str]:
    """An articulated character about 7 ``unit`` tall, painted like a digital cel. Returns (parts, concept)."""
    u = unit
    p = _Painter(rng, light, line_px)
    hair_name = palette.pick(rng, palette.HAIR)
    hair_word = palette.HAIR_NAMES.get(hair_name, hair_name)
    hair = look.lit(palette.color(rng, hair_name))
    skin = look.lit(palette.jitter(rng, palette.SKIN[palette.pick(rng, tuple(palette.SKIN))], 8))
    top_name, low_name = palette.pick(rng, palette.CLOTHES), palette.pick(rng, palette.CLOTHES)
    top_kind = palette.pick(rng, ("shirt", "jacket", "sweater", "dress"))
    top, low = look.lit(palette.color(rng, top_name)), look.lit(palette.color(rng, low_name))

    torso = _torso_poly(rng, u, top_kind)
    folds = [
        np.float32([[-0.3 * u, 0.2 * u], [-0.1 * u, 0.7 * u]]),
        np.float32([[-0.25 * u, -1.0 * u], [0, -0.7 * u], [0.25 * u, -1.0 * u]]),
    ]
    root = p.add(torso, top, f"{top_name} {top_kind}", top_kind, z=5, strokes=folds)
    for side in (-1, 1):
        _limbs(p, rng, u, root, side, look, (skin, top, low), (top_kind, top_name, low_name))
    neck = shapes.rect_poly(-0.22 * u, -1.55 * u, 0.22 * u, -1.05 * u)
    p.add(neck, skin, "neck", "neck", root, z=4, shade=0.35)
    _head(p, rng, u, root, skin, hair, hair_word, look)
    return p.parts, f"character with {hair_word} hair"


def _head(
    p: _Painter,
    rng: np.random.Generator,
    u: float,
    root: int,
    skin: np.ndarray,
    hair: np.ndarray,
    hair_word: str,
    look: fb.Look,
) -> None:
    """Face (mouth stroke), hair behind (half the time) and fringe with a highlight band and strands, two eyes."""
    rx, ry = rng.uniform(0.8, 0.95) * u, rng.uniform(0.9, 1.05) * u
    mouth = np.float32([[-0.14 * u, -0.32 * u], [0, -0.28 * u], [0.14 * u, -0.32 * u]])
    head = p.add(
        shapes.ellipse_poly(0, -0.95 * u, rx, ry),
        skin,
        "face",
        "face",
        root,
        joint=(0.0, -1.2 * u),
        rest_angle=rng.uniform(-0.1, 0.1),
        swing=rng.uniform(0.0, 0.06),
        phase=rng.uniform(0, 2 * np.pi),
        z=6,
        shade=0.15,
        strokes=[mouth],
        line_px=max(1, p.line_px - 1) if p.line_px > 1 else p.line_px,
    )
    if rng.random() < 0.5:
        back = shapes.blob_poly(rng, 0, -0.3 * u, 1.05 * u, 1.45 * u, wobble=0.12)
        p.add(back, fp.tone(hair, 0.85), f"{hair_word} hair", "hair", head, z=0.5, shade=0.12)
    fringe = shapes.hair_poly(rng, -0.95 * u, rx, ry, int(rng.integers(2, 7)))
    strands = [np.float32([[x * u, -1.95 * u], [x * 1.1 * u, -1.35 * u]]) for x in rng.uniform(-0.6, 0.6, 2)]
    p.add(fringe, hair, f"{hair_word} hair", "hair", head, z=8, band=0.6, strokes=strands, shade=0.25)
    eye_name = palette.pick(rng, palette.EYES)
    iris = look.lit(palette.color(rng, eye_name))
    for side in (-1, 1):
        p.add(
            shapes.ellipse_poly(0, 0, 0.15 * u, 0.23 * u, n=24),
            iris,
            f"{eye_name} eyes",
            "eye",
            head,
            joint=(side * 0.33 * u, -0.72 * u),
            line_px=max(1, p.line_px),
            z=9,
            shade=0.0,
            texture=_eye_texture(iris),
            texture_amount=1.0,
        )


def _speed(rng: np.random.Generator, f: float, slow: float, mid: float, fast: float) -> float:
    """A speed (px per unit time at frame scale f): under 1 px with probability ``slow``, 1-4 px with ``mid``, up
    to ``fast`` px otherwise."""
    r = rng.random()
    if r < slow:
        return float(rng.uniform(0, 1))
    return float((rng.uniform(1, 4) if r < slow + mid else rng.uniform(4, fast)) * f)


def _direction(rng: np.random.Generator) -> float:
    """Camera pan direction: mostly horizontal, sometimes vertical, sometimes any."""
    r = rng.random()
    if r < 0.6:
        return float(rng.choice([0.0, np.pi]) + rng.normal(0, 0.08))
    if r < 0.8:
        return float(rng.choice([np.pi / 2, -np.pi / 2]) + rng.normal(0, 0.08))
    return float(rng.uniform(0, 2 * np.pi))


def _characters(
    rng: np.random.Generator,
    height: int,
    width: int,
    f: float,
    horizon: float,
    look: fb.Look,
    pan: np.ndarray,
    zoom: float,
    c: tuple[float, float],
) -> list[Layer]:
    """The scene's characters (one close-up, or 1-3 standing on the ground below ``horizon``), each moving with
    its own motion plus the camera's ``pan`` and ``zoom`` about ``c``; back to front (lower feet are nearer)."""
    light = look.sun
    closeup = rng.random() < 0.25
    n_char = 1 if closeup else int(rng.integers(1, 4))
    ids = rng.permutation(n_char) + 1
    chars = []
    for i in range(n_char):
        unit = height * (rng.uniform(1.1, 1.8) if closeup else rng.uniform(0.35, 0.95)) / 7.0
        line_px = max(1, int(round(int(rng.choice(_LINE_WIDTHS)) * f)))
        parts, concept = character(rng, unit, look, light, line_px)
        if closeup:
            pos = (rng.uniform(0.3, 0.7) * width, height * rng.uniform(0.3, 0.45) + 1.9 * unit)
        else:
            pos = (rng.uniform(0.05, 0.95) * width, min(horizon + rng.uniform(0.0, 0.3) * height, height) - 3.3 * unit)
        speed, d = _speed(rng, f, 0.3, 0.35, 14.0), rng.uniform(0, 2 * np.pi)
        own = np.array([np.cos(d), np.sin(d)]) * speed
        vel = own + pan + zoom * (np.asarray(pos) - np.asarray(c))
        motion = Motion(
            pos=pos,
            vel=tuple(vel),
            acc=tuple(rng.normal(0, 0.05 * max(speed, 0.5), 2)),
            angle0=rng.uniform(-0.08, 0.08),
            omega=rng.uniform(-0.02, 0.02),
            scale_rate=zoom + rng.uniform(-0.01, 0.01),
        )
        chars.append((pos[1] + 3.3 * unit, Layer(tuple(parts), motion, int(ids[i]), concept)))
    return [la for _, la in sorted(chars, key=lambda t: t[0])]  # lower feet = nearer


def build_film_scene(rng: np.random.Generator, height: int, width: int) -> Scene:
    """A random scene of the "film" style (module docstring). Motion per unit time, as `build_scene`."""
    f = min(height / 384.0, width / 512.0)
    c = (width / 2.0, height / 2.0)
    margin = int(np.ceil(0.1 * max(height, width))) + 8
    look = fb.sample_look(rng)
    indoor = rng.random() < 0.3
    horizon = height * rng.uniform(0.45, 0.75)

    pan_speed, pan_dir = _speed(rng, f, 0.35, 0.35, 12.0), _direction(rng)
    pan = np.array([np.cos(pan_dir), np.sin(pan_dir)]) * pan_speed
    zoom = float(rng.choice([-1, 1]) * rng.uniform(0.005, 0.04)) if rng.random() < 0.3 else 0.0
    dolly = rng.random() < 0.5

    def plane_motion(share: float) -> Motion:
        z = zoom * share if dolly else zoom
        return Motion(pos=c, vel=tuple(pan * share), scale_rate=z, origin=c)

    hc, wc = height + 2 * margin, width + 2 * margin
    far_share = float(rng.uniform(0.1, 0.45)) if not indoor else float(rng.uniform(0.7, 0.9))
    color, regions, concepts = fb.far_canvas(rng, hc, wc, horizon + margin, look, indoor)
    far = plane_motion(far_share)
    bg = Background(
        color=color,
        regions=regions,
        motion=Motion(pos=c, vel=far.vel, scale_rate=far.scale_rate, origin=(wc / 2, hc / 2)),
        concepts=concepts,
    )
    layers: list[Layer] = []
    mid_share = float(rng.uniform(0.5, 0.85)) if not indoor else float(rng.uniform(0.85, 0.97))
    haze = 0.15 if not indoor else 0.0
    mid = fb.middle_plane(rng, height, width, margin, horizon, look, indoor, haze)
    if mid:
        layers.append(Layer(tuple(mid), plane_motion(mid_share), 0, "scenery"))
    layers.append(
        Layer((fb.ground_plane(rng, height, width, margin, horizon, look, indoor),), plane_motion(1.0), 0, "scenery")
    )

    layers += _characters(rng, height, width, f, horizon, look, pan, zoom, c)
    if rng.random() < 0.35:
        fg = fb.foreground_plane(rng, height, width, look)
        if fg:
            layers.append(Layer(tuple(fg), plane_motion(float(rng.uniform(1.3, 2.0))), 0, "scenery"))
    return Scene(height=height, width=width, style=STYLE, background=bg, layers=tuple(layers))
