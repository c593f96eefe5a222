"""The colour check of colour phrases ("red hair", "blue shoes"): does a query's mask have that colour?

The concept model tells some colours apart poorly (the presence of "blue hair" beside red hair is often as high as
that of "red hair"), but the image itself says which colour a mask covers. Each pixel of the image, resized to the
detector's stride-4 grid, gets the nearest of the named colours of the synthetic vocabulary
(``data.synth.palette.COLORS``; "blonde" is yellow, "silver" white) in CIE Lab with lightness weighted by
``LIGHTNESS_WEIGHT`` (cel shadows are darker tones of the same colour); a query's colour share is the fraction of
its stride-4 mask pixels whose nearest named colour is the phrase's colour. ``concept_refine`` turns the shares into
evidence for the presence and into a bonus of each query's score.
"""

from __future__ import annotations

import numpy as np

LIGHTNESS_WEIGHT = 0.5  # Lab L (0..100) counts half against a and b when naming a pixel's colour


def _named_colours() -> tuple[tuple[str, ...], np.ndarray]:
    from segcorr.data.synth import palette

    names = tuple(palette.COLORS)
    return names, _lab(np.array([palette.COLORS[n] for n in names], np.uint8))


def _lab(rgb: np.ndarray) -> np.ndarray:
    """uint8 [..., 3] RGB -> float32 [..., 3] Lab (L 0..100, a and b around 0), L weighted by LIGHTNESS_WEIGHT."""
    import cv2

    shape = rgb.shape
    lab = cv2.cvtColor(np.ascontiguousarray(rgb, np.uint8).reshape(1, -1, 3), cv2.COLOR_RGB2LAB).reshape(shape)
    lab = lab.astype(np.float32) - np.array([0.0, 128.0, 128.0], np.float32)
    return lab * np.array([100.0 / 255.0 * LIGHTNESS_WEIGHT, 1.0, 1.0], np.float32)


def phrase_colour(text: str) -> str | None:
    """The named colour of a two-word colour phrase, or None: "red hair" -> "red", "blonde hair" -> "yellow",
    "hair" / "striped chair" / "character in navy" -> None. Whole-character phrases ("character with red hair",
    "character in blue") get no colour check: a character is many colours, so the share of the asked one in its
    mask says little (on validation the check dropped every such instance)."""
    from segcorr.data.synth import palette

    words = text.lower().split()
    if len(words) != 2:
        return None
    aliases = {v: k for k, v in palette.HAIR_NAMES.items()}  # blonde -> yellow, silver -> white
    word = aliases.get(words[0], words[0])
    return word if word in palette.COLORS else None


def colour_index(image: np.ndarray, scaled_hw: tuple[int, int], grid_hw: tuple[int, int]) -> np.ndarray:
    """uint8 [H, W, 3] image -> int64 [gh, gw]: the index (in ``palette.COLORS`` order) of the nearest named colour of
    each cell of the detector's stride-4 grid (the image resized to ``scaled_hw`` = (sh, sw) fills the top-left
    of a ``4 * grid_hw`` input, as the model sees it; cells of the padding get -1)."""
    import cv2

    sh, sw = scaled_hw
    gh, gw = grid_hw
    _, named = _named_colours()
    small = cv2.resize(np.ascontiguousarray(image[..., :3]), (sw, sh), interpolation=cv2.INTER_AREA)
    vh, vw = min(gh, -(-sh // 4)), min(gw, -(-sw // 4))
    cells = cv2.resize(small, (vw, vh), interpolation=cv2.INTER_AREA)
    d = ((_lab(cells)[:, :, None, :] - named[None, None]) ** 2).sum(-1)
    out = np.full((gh, gw), -1, np.int64)
    out[:vh, :vw] = d.argmin(-1)
    return out


def colour_shares(mask_logits: np.ndarray, index: np.ndarray, colour: str) -> np.ndarray:
    """mask_logits float [Q, gh, gw] (stride-4 query masks), index int [gh, gw] (``colour_index``), a named colour
    -> float64 [Q]: the share of each query's mask cells (logit > 0) whose nearest named colour is ``colour``
    (0 for an empty mask)."""
    names, _ = _named_colours()
    hit = (index == names.index(colour)).reshape(-1).astype(np.float64)
    m = (np.asarray(mask_logits) > 0).reshape(len(mask_logits), -1).astype(np.float64)
    area = m.sum(1)
    return np.where(area > 0, m @ hit / np.maximum(area, 1.0), 0.0)
