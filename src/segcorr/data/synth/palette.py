"""Named colours, so that every synthetic segment gets a concept name such as "red hair"."""

from __future__ import annotations

import numpy as np

COLORS: dict[str, tuple[int, int, int]] = {
    "red": (210, 50, 50),
    "orange": (240, 140, 40),
    "yellow": (240, 215, 60),
    "green": (70, 170, 80),
    "teal": (40, 160, 160),
    "blue": (60, 100, 210),
    "navy": (35, 45, 110),
    "purple": (130, 70, 180),
    "pink": (240, 150, 190),
    "brown": (120, 75, 40),
    "black": (40, 40, 45),
    "white": (240, 240, 235),
    "grey": (140, 140, 145),
    "beige": (225, 205, 165),
}
HAIR = ("black", "brown", "yellow", "red", "pink", "blue", "white", "green", "purple", "orange")
HAIR_NAMES = {"yellow": "blonde", "white": "silver"}
CLOTHES = (
    "red",
    "orange",
    "yellow",
    "green",
    "teal",
    "blue",
    "navy",
    "purple",
    "pink",
    "brown",
    "black",
    "white",
    "grey",
    "beige",
)
EYES = ("blue", "green", "brown", "red", "purple", "black", "teal")
SKIN: dict[str, tuple[int, int, int]] = {
    "fair": (252, 226, 205),
    "light": (240, 200, 165),
    "tan": (205, 150, 105),
    "brown": (140, 90, 60),
}


def pick(rng: np.random.Generator, names: tuple[str, ...]) -> str:
    return names[int(rng.integers(len(names)))]


def jitter(rng: np.random.Generator, rgb: tuple[int, int, int], amount: int = 14) -> np.ndarray:
    """A named colour with a small random offset, so two "red" parts are rarely identical."""
    return np.clip(np.asarray(rgb, np.int32) + rng.integers(-amount, amount + 1, 3), 0, 255).astype(np.uint8)


def color(rng: np.random.Generator, name: str) -> np.ndarray:
    return jitter(rng, COLORS[name])
