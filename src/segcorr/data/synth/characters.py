"""Builders for layers: cel characters (articulated, flat colours, cel shadow, line art) and
textured objects (chair-, polygon- and blob-like rigid things with rich fills, few outlines).

Both return parts in a layer-local frame whose origin is the body (or object) centre; parents come
before their children, as ``Layer.part_matrices`` expects.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from segcorr.data.synth import palette, shapes, textures
from segcorr.data.synth.scene import Part

BLACK = np.array([25, 20, 30], np.uint8)


def _flat(rgb: np.ndarray) -> Callable[[int, int], np.ndarray]:
    return lambda h, w: textures.flat(h, w, rgb)


class _Builder:
    """Collects parts; each ``add`` rasterises one shape and returns its index (or -1 if too small)."""

    def __init__(self, line_px: int, light: tuple[float, float]) -> None:
        self.parts: list[Part] = []
        self.line_px = line_px
        self.light = light

    def add(
        self,
        poly: np.ndarray,
        fill: shapes.FillFn,
        concept: str,
        kind: str,
        parent: int = -1,
        joint: tuple[float, float] = (0.0, 0.0),
        *,
        shade: float | None = 0.22,
        line_px: int | None = None,
        **motion,
    ) -> int:
        if parent < -1:  # the parent was too small to draw; so is its child
            return -2
        size = float(max(np.ptp(poly[:, 0]), np.ptp(poly[:, 1])))
        shadow = None if shade is None else (self.light[0] * size * shade, self.light[1] * size * shade)
        lp = self.line_px if line_px is None else line_px
        sprite = shapes.rasterize(poly, fill, lp, BLACK, shadow)
        if sprite is None:
            return -2
        self.parts.append(Part(sprite=sprite, concept=concept, kind=kind, parent=parent, joint=joint, **motion))
        return len(self.parts) - 1


def build_character(
    rng: np.random.Generator, unit: float, line_px: int, light: tuple[float, float]
) -> tuple[list[Part], str]:
    """An articulated cel character about 7 ``unit`` tall; returns (parts, instance concept).

    The steps below draw from ``rng`` in a fixed order (colours, torso, legs, arms, head and hair, eyes,
    accessory); a given ``rng`` state always gives the same character."""
    u = unit
    b = _Builder(line_px, light)
    hair_name = palette.pick(rng, palette.HAIR)
    hair_rgb = palette.color(rng, hair_name)
    hair_word = palette.HAIR_NAMES.get(hair_name, hair_name)
    skin = palette.jitter(rng, palette.SKIN[palette.pick(rng, tuple(palette.SKIN))], 8)
    top_name = palette.pick(rng, palette.CLOTHES)
    top_rgb = palette.color(rng, top_name)
    top_kind = palette.pick(rng, ("shirt", "jacket", "dress", "sweater"))
    low_name = palette.pick(rng, palette.CLOTHES)
    low_rgb = palette.color(rng, low_name)

    root = b.add(_torso_poly(rng, u, top_kind), _flat(top_rgb), f"{top_name} {top_kind}", top_kind, z=5)
    leg_fill = _flat(skin) if top_kind == "dress" else _flat(low_rgb)
    leg_concept = "leg" if top_kind == "dress" else f"{low_name} pants"
    _add_legs(b, rng, u, root, leg_fill, leg_concept)
    _add_arms(b, rng, u, root, top_name, top_rgb, skin)
    head = _add_head(b, rng, u, root, skin, hair_rgb, hair_word)
    _add_eyes(b, rng, u, head)
    _add_accessory(b, rng, u, root, head)
    return b.parts, f"character with {hair_word} hair"


def _torso_poly(rng: np.random.Generator, u: float, top_kind: str) -> np.ndarray:
    """A trapezoid or a blob from the shoulders (-1.1 u) to the hem (longer for a dress)."""
    hem = 2.0 * u if top_kind == "dress" else 1.2 * u
    if rng.random() < 0.5:
        return np.asarray(
            [
                (-0.8 * u, -1.1 * u),
                (0.8 * u, -1.1 * u),
                (1.0 * u + 0.5 * (hem - 1.2 * u), hem),
                (-1.0 * u - 0.5 * (hem - 1.2 * u), hem),
            ],
            np.float32,
        )
    return shapes.blob_poly(rng, 0, (hem - 1.1 * u) / 2, 0.9 * u, (hem + 1.1 * u) / 2, wobble=0.06)


def _add_legs(
    b: _Builder, rng: np.random.Generator, u: float, root: int, leg_fill: shapes.FillFn, leg_concept: str
) -> None:
    """Two swinging legs under the torso, each with a shoe."""
    shoe_name = palette.pick(rng, ("black", "brown", "white", "red", "blue"))
    shoe_rgb = palette.color(rng, shoe_name)
    for side in (-1, 1):
        leg = b.add(
            shapes.limb_poly(2.3 * u, 0.62 * u, 0.5 * u),
            leg_fill,
            leg_concept,
            "leg",
            root,
            (side * 0.45 * u, 0.9 * u),
            rest_angle=-side * rng.uniform(0.0, 0.15),
            swing=rng.uniform(0.05, 0.3),
            phase=rng.uniform(0, 2 * np.pi),
            z=2,
        )
        b.add(
            shapes.ellipse_poly(-side * 0.12 * u, 0.08 * u, 0.38 * u, 0.22 * u),
            _flat(shoe_rgb),
            f"{shoe_name} shoes",
            "shoe",
            leg,
            (0.0, 2.3 * u),
            shade=0.3,
            z=2.1,
        )


def _add_arms(
    b: _Builder, rng: np.random.Generator, u: float, root: int, top_name: str, top_rgb: np.ndarray, skin: np.ndarray
) -> None:
    """Two swinging arms (sleeved or bare) with hands; the right one (or both) in front of the torso."""
    sleeve = _flat(top_rgb) if rng.random() < 0.7 else _flat(skin)
    front_both = rng.random() < 0.3
    for side in (-1, 1):
        z = 7.0 if (side == 1 or front_both) else 1.0
        arm = b.add(
            shapes.limb_poly(1.9 * u, 0.5 * u, 0.42 * u),
            sleeve,
            f"{top_name} sleeve",
            "arm",
            root,
            (side * 0.85 * u, -0.8 * u),
            rest_angle=-side * rng.uniform(0.1, 0.6),
            swing=rng.uniform(0.1, 0.35),
            phase=rng.uniform(0, 2 * np.pi),
            z=z,
        )
        b.add(
            shapes.ellipse_poly(0, 0.12 * u, 0.27 * u, 0.3 * u),
            _flat(skin),
            "hand",
            "hand",
            arm,
            (0.0, 1.9 * u),
            swing=rng.uniform(0.0, 0.3),
            phase=rng.uniform(0, 2 * np.pi),
            z=z + 0.1,
        )


def _add_head(
    b: _Builder, rng: np.random.Generator, u: float, root: int, skin: np.ndarray, hair_rgb: np.ndarray, hair_word: str
) -> int:
    """The face on the torso, long hair behind it (half the time) and a fringe in front; returns the face."""
    head = b.add(
        shapes.ellipse_poly(0, -0.95 * u, 0.85 * u, 0.95 * u),
        _flat(skin),
        "face",
        "face",
        root,
        (0.0, -1.1 * u),
        rest_angle=rng.uniform(-0.15, 0.15),
        swing=rng.uniform(0.0, 0.12),
        phase=rng.uniform(0, 2 * np.pi),
        z=6,
    )
    if rng.random() < 0.5:
        b.add(
            shapes.blob_poly(rng, 0, -0.3 * u, 1.05 * u, 1.35 * u, wobble=0.1),
            _flat(hair_rgb),
            f"{hair_word} hair",
            "hair",
            head,
            z=0.5,
        )
    b.add(
        shapes.hair_poly(rng, -0.95 * u, 0.85 * u, 0.95 * u, int(rng.integers(2, 6))),
        _flat(hair_rgb),
        f"{hair_word} hair",
        "hair",
        head,
        z=8,
    )
    return head


def _add_eyes(b: _Builder, rng: np.random.Generator, u: float, head: int) -> None:
    eye_name = palette.pick(rng, palette.EYES)
    eye_rgb = palette.color(rng, eye_name)
    for side in (-1, 1):
        b.add(
            shapes.ellipse_poly(0, 0, 0.15 * u, 0.22 * u, n=20),
            _flat(eye_rgb),
            f"{eye_name} eyes",
            "eye",
            head,
            (side * 0.33 * u, -0.72 * u),
            shade=None,
            line_px=1,
            z=9,
        )


def _hat_poly(rng: np.random.Generator, u: float) -> np.ndarray:
    """A top hat or a cap (a dome with a brim to one side), in the head's frame."""
    if rng.random() < 0.5:  # top hat
        return np.asarray(
            [
                (-1.15 * u, -1.55 * u),
                (1.15 * u, -1.55 * u),
                (1.15 * u, -1.75 * u),
                (0.6 * u, -1.75 * u),
                (0.5 * u, -2.5 * u),
                (-0.5 * u, -2.5 * u),
                (-0.6 * u, -1.75 * u),
                (-1.15 * u, -1.75 * u),
            ],
            np.float32,
        )
    dome = shapes.ellipse_poly(0, -1.6 * u, 0.95 * u, 0.6 * u, n=32)
    return np.concatenate(
        [
            dome[dome[:, 1] <= -1.6 * u + 1e-3],
            np.asarray([(1.6 * u, -1.55 * u), (1.6 * u, -1.4 * u)], np.float32),
        ]
    )


def _add_accessory(b: _Builder, rng: np.random.Generator, u: float, root: int, head: int) -> None:
    """A hat or a ribbon on the head, a bag on the torso, or nothing."""
    acc_kind = palette.pick(rng, ("hat", "ribbon", "bag", "none"))
    acc_name = palette.pick(rng, palette.CLOTHES)
    acc_fill = _flat(palette.color(rng, acc_name))
    if acc_kind == "hat":
        b.add(_hat_poly(rng, u), acc_fill, f"{acc_name} hat", "hat", head, z=10)
    elif acc_kind == "ribbon":
        bow = np.asarray(
            [(0, 0), (-0.5 * u, -0.3 * u), (-0.5 * u, 0.3 * u), (0, 0), (0.5 * u, -0.3 * u), (0.5 * u, 0.3 * u)],
            np.float32,
        )
        b.add(
            bow,
            acc_fill,
            f"{acc_name} ribbon",
            "ribbon",
            head,
            (rng.uniform(-0.6, 0.6) * u, -1.8 * u),
            rest_angle=rng.uniform(-0.4, 0.4),
            swing=rng.uniform(0.0, 0.2),
            z=10,
        )
    elif acc_kind == "bag":
        b.add(
            shapes.rect_poly(-0.35 * u, 0, 0.35 * u, 0.6 * u),
            acc_fill,
            f"{acc_name} bag",
            "bag",
            root,
            (rng.choice([-1, 1]) * 0.9 * u, 0.2 * u),
            swing=rng.uniform(0.0, 0.25),
            z=6.5,
        )


_TEXTURE_ADJ = {
    "noise": "mottled",
    "stripes": "striped",
    "checker": "checkered",
    "gradient": "shaded",
    "photo": "textured",
}


def build_object(rng: np.random.Generator, size: float, line_px: int) -> tuple[list[Part], str]:
    """A textured rigid object (chair, polygon, blob or ellipse) with 0-2 attached sub-parts that
    swing a little; returns (parts, instance concept)."""
    b = _Builder(line_px, (0.0, 0.0))
    kind = palette.pick(rng, ("chair", "chair", "polygon", "blob", "ellipse"))
    if kind == "chair":
        poly = shapes.chair_poly(rng, size)
    elif kind == "polygon":
        poly = shapes.star_poly(rng, 0, 0, size / 2, int(rng.integers(3, 9)))
    elif kind == "blob":
        poly = shapes.blob_poly(rng, 0, 0, size / 2, size * rng.uniform(0.25, 0.5), wobble=0.3)
    else:
        poly = shapes.ellipse_poly(0, 0, size / 2, size * rng.uniform(0.2, 0.5))
    poly = shapes.transform_poly(poly, rng.uniform(-np.pi, np.pi) if kind != "chair" else 0.0)

    def textured():
        # The kind, seed and scale are drawn now; the canvas is filled when the sprite size is known.
        name = str(rng.choice(textures.TEXTURE_KINDS))
        seed = int(rng.integers(2**31))
        hint = float(size * rng.uniform(0.15, 0.5))

        def fill(h: int, w: int) -> np.ndarray:
            return textures.random_texture(np.random.default_rng(seed), h, w, hint, name)[0]

        return fill, name

    shade = 0.2 if rng.random() < 0.3 else None
    fill, tex = textured()
    root = b.add(poly, fill, f"{_TEXTURE_ADJ[tex]} {kind}", kind, shade=shade)
    for _ in range(int(rng.integers(0, 3))):
        sub = shapes.blob_poly(rng, 0, size * 0.15, size * rng.uniform(0.08, 0.2), size * rng.uniform(0.12, 0.3))
        corner = poly[int(rng.integers(len(poly)))]
        sub_fill, sub_tex = textured()
        b.add(
            sub,
            sub_fill,
            f"{_TEXTURE_ADJ[sub_tex]} knob",
            "knob",
            root,
            (float(corner[0]), float(corner[1])),
            rest_angle=rng.uniform(-np.pi, np.pi),
            swing=rng.uniform(0.0, 0.3),
            phase=rng.uniform(0, 6.3),
            shade=shade,
            z=float(rng.choice([-1.0, 1.0])),
        )
    return b.parts, f"{_TEXTURE_ADJ[tex]} {kind}"
