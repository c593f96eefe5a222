"""Orientation search: match again with image 1 turned and cropped when the first try finds no agreement.

The tiny AS-Mamba model is not rotation invariant: pairs rotated by more than about 30 degrees give matches that
no neighbourhood agrees with; pairs whose scale differs by 2x or more fail the same way. When fewer than
``retry_below`` matches pass the consistency check of ``segcorr.matching.consistency`` (the ``support`` of
``refine_and_filter``), image 1 is turned by each of ``turns`` (in quarter turns: whole ones by ``np.rot90``, exact;
halves, the eighth turns, resampled onto a canvas that holds the whole turned image), and cropped to its corners
and centre at ``crop_share`` of each side (a crop is enlarged to the matching size, so image 1's content grows by
1 / crop_share), and matched again; the view with the largest support wins (the first to reach ``enough`` ends the
search); its points are mapped back to image 1 as given. With ``segcorr.matching.prealign`` on (the default) every
view is matched at the probe's small size and the winner's matches give the homography of the pre-alignment.
Without it, the views are first matched at ``probe_side`` and only the one with the largest support there is
matched again at full size, where it must reach ``retry_below`` itself (else the first try stays). A pair the first
try matches costs nothing more.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TURNS = (0.5, 1, 1.5, 2, 2.5, 3, 3.5)  # quarter turns a view may take; halves are eighth turns (45 degrees)


@dataclass(frozen=True)
class OrientationSearch:
    """``enabled=False`` (or empty ``turns`` and ``crop_share`` 0) matches the images only as given. The defaults
    were chosen on validation pairs (photos no training split uses) and ray-cast scenes; figures in the weights
    README, section AS-Mamba."""

    enabled: bool = True
    # counter-clockwise turns of image 1 tried, in this order, in quarter turns (halves: eighth turns, 45 degrees)
    turns: tuple[float, ...] = (0.5, 1, 1.5, 2, 2.5, 3, 3.5)
    retry_below: int = 16
    probe_side: int | None = 320  # views first tried at this longer side; only the best is matched at full size
    crop_share: float = 0.6  # also try crops of image 1 (its four corners and centre, this share of each side)
    # views are tried in order and the search stops at the first with at least this many consistent matches (a
    # clear winner: a good view has hundreds); None tries every view
    enough: int | None = 64

    def __post_init__(self) -> None:
        if self.enough is not None and self.enough < self.retry_below:
            raise ValueError(f"OrientationSearch: enough must be None or >= retry_below, found {self}")
        if any(t not in TURNS for t in self.turns) or self.retry_below < 0 or (self.probe_side or 64) < 64:
            raise ValueError(f"OrientationSearch: turns in {TURNS}, retry_below >= 0, probe_side >= 64, found {self}")
        if not 0.0 <= self.crop_share < 1.0:
            raise ValueError(f"OrientationSearch: crop_share in [0, 1), found {self.crop_share}")

    def views(self, hw: tuple[int, int]) -> list[tuple[float, tuple[int, int, int, int] | None]]:
        """The views of an image of (height, width) ``hw`` to try: (quarter turns, None) for each turn, then
        (0, (x0, y0, x1, y1)) for each crop (none when ``crop_share`` is 0)."""
        out: list[tuple[int, tuple[int, int, int, int] | None]] = [(t, None) for t in self.turns]
        if self.crop_share > 0:
            h, w = hw
            ch, cw = max(1, round(h * self.crop_share)), max(1, round(w * self.crop_share))
            for x0, y0 in ((0, 0), (w - cw, 0), (0, h - ch), (w - cw, h - ch), ((w - cw) // 2, (h - ch) // 2)):
                out.append((0, (x0, y0, x0 + cw, y0 + ch)))
        return out


def view_image(img: np.ndarray, view: tuple[float, tuple[int, int, int, int] | None]) -> np.ndarray:
    """The image seen through a view of ``OrientationSearch.views`` (turned, or cropped), a contiguous copy."""
    turns, box = view
    if box is not None:
        x0, y0, x1, y1 = box
        return np.ascontiguousarray(img[y0:y1, x0:x1])
    return turn_image(img, turns)


def view_points_back(
    pts: np.ndarray, view: tuple[float, tuple[int, int, int, int] | None], hw: tuple[int, int]
) -> np.ndarray:
    """Points [N, 2] of ``view_image(img, view)`` -> the same points in ``img`` of (height, width) ``hw``."""
    turns, box = view
    if box is not None:
        return (pts + np.array(box[:2], pts.dtype)).astype(pts.dtype)
    return unturn_points(pts, turns, hw)


def turn_image(img: np.ndarray, turns: float) -> np.ndarray:
    """[H, W, ...] -> the image turned counter-clockwise by ``turns`` quarter turns (contiguous copy). Whole turns
    are exact (``np.rot90``); others are resampled (bilinear) onto a canvas that holds the whole turned image, zeros
    around it (``turn_matrix``)."""
    if float(turns).is_integer():
        return np.ascontiguousarray(np.rot90(img, int(turns) % 4))
    import cv2

    M, (w, h) = turn_matrix(turns, img.shape[:2])
    return cv2.warpAffine(np.ascontiguousarray(img), M, (w, h), flags=cv2.INTER_LINEAR)


def turn_matrix(turns: float, hw: tuple[int, int]) -> tuple[np.ndarray, tuple[int, int]]:
    """The affine map [2, 3] (image pixels -> turned pixels) of a counter-clockwise turn by ``turns`` quarter turns
    about the image centre, shifted so the turned image fits, and the canvas (width, height) that holds it."""
    import cv2

    h, w = hw
    angle = 90.0 * turns
    c, s = abs(np.cos(np.radians(angle))), abs(np.sin(np.radians(angle)))
    cw, ch = int(np.ceil(w * c + h * s)), int(np.ceil(w * s + h * c))
    M = cv2.getRotationMatrix2D(((w - 1) / 2.0, (h - 1) / 2.0), angle, 1.0)
    M[:, 2] += ((cw - 1) / 2.0 - (w - 1) / 2.0, (ch - 1) / 2.0 - (h - 1) / 2.0)
    return M, (cw, ch)


def unturn_points(pts: np.ndarray, turns: float, hw: tuple[int, int]) -> np.ndarray:
    """Points [N, 2] (x, y; pixel centres at integers) of ``turn_image(img, turns)`` -> the same points in ``img``,
    whose (height, width) is ``hw``."""
    h, w = hw
    if not float(turns).is_integer():
        M, _ = turn_matrix(turns, hw)
        A, t = M[:, :2], M[:, 2]
        return ((pts.astype(np.float64) - t) @ np.linalg.inv(A).T).astype(pts.dtype)
    x, y = pts[:, 0], pts[:, 1]
    k = int(turns) % 4
    if k == 0:
        return pts.copy()
    if k == 1:
        out = (w - 1 - y, x)
    elif k == 2:
        out = (w - 1 - x, h - 1 - y)
    else:
        out = (y, h - 1 - x)
    return np.stack(out, -1).astype(pts.dtype)
