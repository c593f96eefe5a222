"""Orientation search: match again with image 1 turned by quarter turns when the first try finds no agreement.

The tiny AS-Mamba model is not rotation invariant: pairs rotated by more than about 45 degrees give matches that
no neighbourhood agrees with; pairs whose scale differs by 2x or more fail the same way. When fewer than
``retry_below`` matches pass the consistency check of
``segcorr.matching.consistency`` (the ``support`` of ``refine_and_filter``), image 1 is turned by each of ``turns``
quarter turns (``np.rot90``: exact, no resampling), and cropped to its corners and centre at ``crop_share`` of each
side (a crop is enlarged to the matching size, so image 1's content grows by 1 / crop_share), and matched again;
the view with the largest support
wins if that support reaches ``retry_below`` itself (else the first try stays); its points are mapped back to
image 1 as given. With ``probe_side`` the views are first matched at that smaller longer side (a fraction of the
cost) and only the one with the largest support there is matched again at full size. A pair the
first try matches costs nothing more; a pair it fails costs one small pass per view and one full one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class OrientationSearch:
    """``enabled=False`` (or empty ``turns`` and ``crop_share`` 0) matches the images only as given. The defaults
    were chosen on validation pairs (photos no training split uses) and ray-cast scenes; figures in the weights
    README, section AS-Mamba."""

    enabled: bool = True
    turns: tuple[int, ...] = (1, 2, 3)  # counter-clockwise quarter turns of image 1 tried, in this order
    retry_below: int = 16
    probe_side: int | None = 320  # views first tried at this longer side; only the best is matched at full size
    crop_share: float = 0.6  # also try crops of image 1 (its four corners and centre, this share of each side)

    def __post_init__(self) -> None:
        if any(t not in (1, 2, 3) for t in self.turns) or self.retry_below < 0 or (self.probe_side or 64) < 64:
            raise ValueError(f"OrientationSearch: turns in 1..3, retry_below >= 0, probe_side >= 64, found {self}")
        if not 0.0 <= self.crop_share < 1.0:
            raise ValueError(f"OrientationSearch: crop_share in [0, 1), found {self.crop_share}")

    def views(self, hw: tuple[int, int]) -> list[tuple[int, tuple[int, int, int, int] | None]]:
        """The views of an image of (height, width) ``hw`` to try: (quarter turns, None) for each turn, then
        (0, (x0, y0, x1, y1)) for each crop (none when ``crop_share`` is 0)."""
        out: list[tuple[int, tuple[int, int, int, int] | None]] = [(t, None) for t in self.turns]
        if self.crop_share > 0:
            h, w = hw
            ch, cw = max(1, round(h * self.crop_share)), max(1, round(w * self.crop_share))
            for x0, y0 in ((0, 0), (w - cw, 0), (0, h - ch), (w - cw, h - ch), ((w - cw) // 2, (h - ch) // 2)):
                out.append((0, (x0, y0, x0 + cw, y0 + ch)))
        return out


def view_image(img: np.ndarray, view: tuple[int, tuple[int, int, int, int] | None]) -> np.ndarray:
    """The image seen through a view of ``OrientationSearch.views`` (turned, or cropped), a contiguous copy."""
    turns, box = view
    if box is not None:
        x0, y0, x1, y1 = box
        return np.ascontiguousarray(img[y0:y1, x0:x1])
    return turn_image(img, turns)


def view_points_back(
    pts: np.ndarray, view: tuple[int, tuple[int, int, int, int] | None], hw: tuple[int, int]
) -> np.ndarray:
    """Points [N, 2] of ``view_image(img, view)`` -> the same points in ``img`` of (height, width) ``hw``."""
    turns, box = view
    if box is not None:
        return (pts + np.array(box[:2], pts.dtype)).astype(pts.dtype)
    return unturn_points(pts, turns, hw)


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
