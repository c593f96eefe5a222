"""Sample a whole scene (background, layers, motion) from a generator; one entry for every style."""

from __future__ import annotations

import numpy as np

from segcorr.data.synth.background import cel_background, textured_background
from segcorr.data.synth.characters import build_character, build_object
from segcorr.data.synth.scene import Background, Layer, Motion, Scene

# "shaded": segcorr.data.synth.cel_shaded; "film": segcorr.data.synth.cel_film (degraded after rendering: cels.py)
STYLES = ("cel", "textured", "mixed", "shaded", "film")
GENERATOR_VERSION = "segcorr-synth-cels/1"


def _motion(
    rng: np.random.Generator,
    pos: tuple[float, float],
    max_shift: float,
    max_rot: float,
    max_scale: float,
    angle0: float = 0.0,
) -> Motion:
    """Per-layer motion; a fifth of the layers barely move, as static characters do in real cuts."""
    mag = rng.uniform(0, 0.05 * max_shift) if rng.random() < 0.2 else rng.uniform(0, max_shift)
    a = rng.uniform(0, 2 * np.pi)
    return Motion(
        pos=pos,
        vel=(mag * np.cos(a), mag * np.sin(a)),
        acc=tuple(rng.normal(0, 0.1 * max_shift, 2)),
        angle0=angle0,
        omega=rng.uniform(-max_rot, max_rot),
        scale_rate=rng.uniform(-max_scale, max_scale),
    )


def resolve_style(rng: np.random.Generator, style: str) -> str:
    if style not in STYLES:
        raise ValueError(f"style must be one of {STYLES}, got {style!r}")
    if style == "mixed":
        return "cel" if rng.random() < 0.5 else "textured"
    return style


def build_scene(rng: np.random.Generator, height: int, width: int, style: str = "cel") -> Scene:
    """A random scene. Motion is per unit time: a pair spans t = 0..1, a clip uses smaller steps.

    At 512x384 layers translate up to about 40 px per unit time, turn up to ~7 degrees (textured
    objects ~11) and scale up to ~8 %; the background pans up to ~30 px. Sizes scale with the frame.
    """
    style = resolve_style(rng, style)
    if style == "shaded":  # a second cel look with its own palettes, lines, fills and slow motion
        from segcorr.data.synth.cel_shaded import build_shaded_scene

        return build_shaded_scene(rng, height, width)
    if style == "film":  # painted parallax planes, a camera, soft-shaded characters
        from segcorr.data.synth.cel_film import build_film_scene

        return build_film_scene(rng, height, width)
    f = min(height / 384.0, width / 512.0)
    margin = int(np.ceil(0.1 * max(height, width))) + 8
    hc, wc = height + 2 * margin, width + 2 * margin
    if style == "cel":
        color, regions, concepts = cel_background(rng, hc, wc)
    else:
        color, regions, concepts = textured_background(rng, hc, wc)
    pan = _motion(rng, (0.0, 0.0), 30 * f, 0.02, 0.03)
    # Canvas -> image: centre the canvas on the frame, then pan / turn / zoom about the frame centre.
    bg_motion = Motion(
        pos=(width / 2, height / 2),
        vel=pan.vel,
        acc=pan.acc,
        omega=pan.omega,
        scale_rate=pan.scale_rate,
        origin=(wc / 2, hc / 2),
    )
    background = Background(color=color, regions=regions, motion=bg_motion, concepts=concepts)

    layers = []
    if style == "cel":
        n = int(rng.integers(1, 5))
        light = rng.uniform(0, 2 * np.pi)
        light_dir = (float(np.cos(light)), float(np.sin(light)))
        ids = rng.permutation(n) + 1
        for i in range(n):
            unit = height * rng.uniform(0.35, 0.9) / 7.0
            line_px = int(np.clip(round(unit / 14 + rng.uniform(-0.5, 0.5)), 1, 3))
            parts, concept = build_character(rng, unit, line_px, light_dir)
            pos = (rng.uniform(-0.05, 1.05) * width, rng.uniform(0.3, 0.8) * height)
            motion = _motion(rng, pos, 40 * f, 0.12, 0.08, angle0=rng.uniform(-0.2, 0.2))
            layers.append(Layer(parts=tuple(parts), motion=motion, instance=int(ids[i]), concept=concept))
    else:
        n = int(rng.integers(3, 8))
        ids = rng.permutation(n) + 1
        for i in range(n):
            size = min(height, width) * rng.uniform(0.15, 0.55)
            parts, concept = build_object(rng, size, 1 if rng.random() < 0.15 else 0)
            pos = (rng.uniform(-0.05, 1.05) * width, rng.uniform(-0.05, 1.05) * height)
            motion = _motion(rng, pos, 40 * f, 0.2, 0.12, angle0=rng.uniform(-0.5, 0.5))
            layers.append(Layer(parts=tuple(parts), motion=motion, instance=int(ids[i]), concept=concept))
    return Scene(height=height, width=width, style=style, background=background, layers=tuple(layers))
