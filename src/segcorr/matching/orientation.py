"""Orientation search: match again with image 1 turned by quarter turns when the first try finds no agreement.

The tiny AS-Mamba model is not rotation invariant: pairs rotated by more than about 45 degrees give matches that
no neighbourhood agrees with. When fewer than ``retry_below`` matches pass the consistency check of
``segcorr.matching.consistency`` (the ``support`` of ``refine_and_filter``), image 1 is turned by each of ``turns``
quarter turns (``np.rot90``: exact, no resampling) and matched again; the turned try with the largest support
wins if that support reaches ``retry_below`` itself (else the first try stays); its points are mapped back to
image 1 as given. With ``probe_side`` the turns are first matched at that longer side (about a sixth of the cost
at 320 against 640) and only the one with the largest support there is matched again at full size. A pair the
first try matches costs nothing more; a pair it fails costs ``len(turns)`` small passes and one full one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class OrientationSearch:
    """``enabled=False`` (or empty ``turns``) matches the images only as given. The defaults were chosen on
    validation pairs (photos no training split uses): first tries that succeed have hundreds of consistent
    matches, wrong orientations fewer than 8; the probe at 320 px picked the same turns as full-size tries."""

    enabled: bool = True
    turns: tuple[int, ...] = (1, 2, 3)  # counter-clockwise quarter turns of image 1 tried, in this order
    retry_below: int = 16
    probe_side: int | None = 320  # turns first tried at this longer side; only the best is matched at full size

    def __post_init__(self) -> None:
        if any(t not in (1, 2, 3) for t in self.turns) or self.retry_below < 0 or (self.probe_side or 64) < 64:
            raise ValueError(f"OrientationSearch: turns in 1..3, retry_below >= 0, probe_side >= 64, found {self}")


def turn_image(img: np.ndarray, turns: int) -> np.ndarray:
    """[H, W, ...] -> the image turned counter-clockwise by ``turns`` quarter turns (contiguous copy)."""
    return np.ascontiguousarray(np.rot90(img, turns % 4))


def unturn_points(pts: np.ndarray, turns: int, hw: tuple[int, int]) -> np.ndarray:
    """Points [N, 2] (x, y; pixel centres at integers) of ``turn_image(img, turns)`` -> the same points in ``img``,
    whose (height, width) is ``hw``."""
    h, w = hw
    x, y = pts[:, 0], pts[:, 1]
    k = turns % 4
    if k == 0:
        return pts.copy()
    if k == 1:
        out = (w - 1 - y, x)
    elif k == 2:
        out = (w - 1 - x, h - 1 - y)
    else:
        out = (y, h - 1 - x)
    return np.stack(out, -1).astype(pts.dtype)
