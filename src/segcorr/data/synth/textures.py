"""Procedural fills for sprites and backgrounds: flat, gradients, noise, stripes, checker, mixtures.

Every fill is a pure function of its arguments and the generator it is given, and returns
``uint8 [h, w, 3]`` RGB. The renderer samples these canvases in canonical (rest) coordinates, so any
fill keeps the ground truth exact; texture only changes what the flow model gets to see.
"""

from __future__ import annotations

import cv2
import numpy as np

TEXTURE_KINDS = ("noise", "stripes", "checker", "gradient", "photo")
MIN_PERIOD = 8.0  # finest pattern period in pixels: finer patterns alias at frame resolution


def _clip_u8(x: np.ndarray) -> np.ndarray:
    return np.clip(x, 0.0, 255.0).astype(np.uint8)


def flat(h: int, w: int, color: np.ndarray) -> np.ndarray:
    """A canvas of one colour. ``color``: 3 values in 0..255."""
    out = np.empty((h, w, 3), np.uint8)
    out[:] = np.asarray(color, np.uint8)
    return out


def _unit_coords(h: int, w: int, angle: float) -> np.ndarray:
    """Coordinate along direction ``angle`` in pixels, ``float32 [h, w]``."""
    xs = np.arange(w, dtype=np.float32) * np.float32(np.cos(angle))
    ys = np.arange(h, dtype=np.float32) * np.float32(np.sin(angle))
    return ys[:, None] + xs[None, :]


def _blend(t: np.ndarray, c0: np.ndarray, c1: np.ndarray) -> np.ndarray:
    """``c0 + t (c1 - c0)`` per channel for ``t: float32 [h, w]`` in 0..1 -> uint8 [h, w, 3]."""
    c0 = np.asarray(c0, np.float32)
    d = np.asarray(c1, np.float32) - c0
    out = np.empty(t.shape + (3,), np.uint8)
    for c in range(3):
        # One rounding, saturating pass; the absolute value it also takes is a no-op, since
        # c0 + t d lies between c0 and c1 for t in 0..1.
        out[..., c] = cv2.convertScaleAbs(t, alpha=float(d[c]), beta=float(c0[c]))
    return out


def gradient(h: int, w: int, c0: np.ndarray, c1: np.ndarray, angle: float) -> np.ndarray:
    """Linear blend from ``c0`` to ``c1`` along direction ``angle`` (radians)."""
    s = _unit_coords(h, w, angle)
    s -= s.min()
    s /= max(float(s.max()), 1e-6)
    return _blend(s, c0, c1)


def noise(
    rng: np.random.Generator, h: int, w: int, octaves: int = 4, base_cell: float = 48.0, persistence: float = 0.55
) -> np.ndarray:
    """Multi-octave value noise in 0..1, ``float32 [h, w]``.

    Small random grids are upsampled with bicubic interpolation: cheap, and smooth enough that
    bilinear resampling of the result stays accurate (fine octaves carry less weight).
    """
    acc = np.zeros((h, w), np.float32)
    total = 0.0
    cell = max(base_cell, MIN_PERIOD / 2)
    amp = 1.0
    for _ in range(octaves):
        gh = max(2, int(np.ceil(h / cell)) + 1)
        gw = max(2, int(np.ceil(w / cell)) + 1)
        grid = rng.random((gh, gw), dtype=np.float32)
        acc += amp * cv2.resize(grid, (w, h), interpolation=cv2.INTER_CUBIC)
        total += amp
        cell = max(cell / 2.0, MIN_PERIOD / 2)
        amp *= persistence
    return np.clip(acc / total, 0.0, 1.0)


def noise_fill(
    rng: np.random.Generator, h: int, w: int, c0: np.ndarray, c1: np.ndarray, scale: float, persistence: float = 0.55
) -> np.ndarray:
    """Two-colour noise texture with feature size about ``scale`` pixels; higher ``persistence``
    keeps more fine detail."""
    n = noise(rng, h, w, octaves=4, base_cell=scale, persistence=persistence)
    n = (n - n.min()) / max(float(n.max() - n.min()), 1e-6)
    return _blend(n, c0, c1)


def stripes(
    h: int, w: int, c0: np.ndarray, c1: np.ndarray, period: float, angle: float, soft: bool = True
) -> np.ndarray:
    """Stripes of ``period`` (>= 8) pixels along ``angle``; soft stripes are a sine, hard ones a
    square wave with ~1 px ramps (unfiltered steps would alias, and bilinear resampling of aliased
    texture no longer matches the warp of the surface)."""
    period = max(period, MIN_PERIOD)
    s = np.sin(_unit_coords(h, w, angle) * np.float32(2.0 * np.pi / period))
    t = 0.5 + 0.5 * s if soft else np.clip(0.5 + s * np.float32(period / 4.0), 0.0, 1.0)
    return _blend(t, c0, c1)


def checker(h: int, w: int, c0: np.ndarray, c1: np.ndarray, cell: float, angle: float) -> np.ndarray:
    """A (rotated) checkerboard with square cells of ``cell`` (>= 6) pixels."""
    cell = max(cell, MIN_PERIOD * 0.75)
    a = _unit_coords(h, w, angle) / np.float32(cell)
    b = _unit_coords(h, w, angle + np.pi / 2) / np.float32(cell)
    t = ((np.floor(a) + np.floor(b)) % 2).astype(np.float32)
    return _blend(t, c0, c1)


def random_color(rng: np.random.Generator, lo: int = 20, hi: int = 235) -> np.ndarray:
    return rng.integers(lo, hi, size=3).astype(np.uint8)


def random_texture(
    rng: np.random.Generator, h: int, w: int, size_hint: float, kind: str | None = None
) -> tuple[np.ndarray, str]:
    """A random rich texture and its kind name. ``size_hint``: typical feature size in pixels.

    "photo" mixes a colour gradient, noise and a faint pattern, a cheap stand-in for the cluttered,
    shaded surfaces of real photographs (FlyingChairs-like backgrounds).
    """
    kind = kind or str(rng.choice(TEXTURE_KINDS))
    c0, c1 = random_color(rng), random_color(rng)
    angle = float(rng.uniform(0, np.pi))
    if kind == "noise":
        return noise_fill(
            rng, h, w, c0, c1, scale=size_hint * rng.uniform(0.5, 1.5), persistence=rng.uniform(0.5, 0.85)
        ), kind
    if kind == "stripes":
        period = size_hint * rng.uniform(0.2, 0.6)
        return stripes(h, w, c0, c1, period, angle, soft=bool(rng.random() < 0.6)), kind
    if kind == "checker":
        return checker(h, w, c0, c1, size_hint * rng.uniform(0.15, 0.4), angle), kind
    if kind == "gradient":
        return gradient(h, w, c0, c1, angle), kind
    base = gradient(h, w, c0, c1, angle).astype(np.float32)
    n = noise(rng, h, w, octaves=5, base_cell=size_hint * rng.uniform(0.5, 2.0), persistence=rng.uniform(0.55, 0.85))
    pattern = stripes(h, w, random_color(rng), random_color(rng), size_hint * 0.3, angle + 1.0)
    mix = 0.6 * base * (0.55 + 0.9 * n[..., None]) + 0.4 * pattern.astype(np.float32) * float(rng.uniform(0.2, 0.8))
    return _clip_u8(mix + rng.uniform(-30, 30, size=3).astype(np.float32)), "photo"
