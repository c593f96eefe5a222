"""A labelled grid: one row per item (a method, a frame), a text cell on the left, then its pictures.

Made for figures read in a browser at 100 % zoom: tiles are scaled to one width so the whole grid stays
narrow (a report page is about 1200 px), and labels are drawn at a readable size instead of squeezed over
each tile.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from segcorr.viz.panel import to_rgb8
from segcorr.viz.text import READABLE_SCALE, text_block

_BG = 255
_FRAME = 190  # a thin grey line around each picture: white flow (no motion) must not melt into the page


def _to_width(img: np.ndarray, width: int) -> np.ndarray:
    import cv2

    h, w = img.shape[:2]
    if w == width:
        return img
    height = max(1, round(h * width / w))
    # Nearest when enlarging keeps masks, label maps and flow colours crisp.
    interp = cv2.INTER_AREA if width < w else cv2.INTER_NEAREST
    return cv2.resize(img, (width, height), interpolation=interp)


def _framed(img: np.ndarray) -> np.ndarray:
    return np.pad(img, ((1, 1), (1, 1), (0, 0)), constant_values=_FRAME)


def _cell(img: np.ndarray, width: int, height: int) -> np.ndarray:
    """`img` at the top-left of a white cell [height, width, 3] (cropped if larger)."""
    out = np.full((height, width, 3), _BG, np.uint8)
    h, w = min(height, img.shape[0]), min(width, img.shape[1])
    out[:h, :w] = img[:h, :w]
    return out


def _join(cells: Sequence[np.ndarray], pad: int, axis: int) -> np.ndarray:
    parts: list[np.ndarray] = []
    for i, c in enumerate(cells):
        if i:
            gap = list(c.shape)
            gap[axis] = pad
            parts.append(np.full(gap, _BG, np.uint8))
        parts.append(c)
    return np.concatenate(parts, axis=axis)


def labelled_grid(
    rows: Sequence[Sequence[np.ndarray]],
    labels: Sequence[Sequence[str]],
    header: Sequence[str | np.ndarray] | None = None,
    tile_width: int = 416,
    label_width: int = 280,
    pad: int = 6,
    font_scale: float = READABLE_SCALE,
) -> np.ndarray:
    """Rows of pictures, each row introduced by a text cell.

    rows: per row, its pictures (anything `to_rgb8` takes, any sizes); every picture is scaled to
    `tile_width` px wide, keeping its aspect ratio, and framed by a 1 px grey line. Rows may have different
    numbers of pictures.
    labels: per row, paragraphs of its text cell (the first drawn bold), wrapped to `label_width`.
    header: optional first row over the picture columns: per column a text (wrapped) or a picture
    (placed as is, cropped to the column).
    Returns uint8 [H, label_width + n_cols * (tile_width + 2 + pad), 3] RGB on white.
    """
    if len(rows) == 0:
        raise ValueError("labelled_grid needs at least one row")
    if len(labels) != len(rows):
        raise ValueError(f"got {len(rows)} rows but {len(labels)} labels")
    n_cols = max(len(r) for r in rows)
    if header is not None:
        n_cols = max(n_cols, len(header))
    col_w = tile_width + 2  # the frame
    lines = []
    if header is not None:
        heads = [
            text_block([h], tile_width, font_scale, bold_first=False) if isinstance(h, str) else to_rgb8(h)
            for h in header
        ]
        height = max(h.shape[0] for h in heads)
        cells = [np.full((height, label_width, 3), _BG, np.uint8)]
        cells += [_cell(h, col_w, height) for h in heads]
        cells += [np.full((height, col_w, 3), _BG, np.uint8)] * (n_cols - len(heads))
        lines.append(_join(cells, pad, axis=1))
    for pictures, text in zip(rows, labels):
        tiles = [_framed(_to_width(to_rgb8(p), tile_width)) for p in pictures]
        label = text_block(list(text), label_width, font_scale)
        height = max([label.shape[0]] + [t.shape[0] for t in tiles])
        cells = [_cell(label, label_width, height)] + [_cell(t, col_w, height) for t in tiles]
        cells += [np.full((height, col_w, 3), _BG, np.uint8)] * (n_cols - len(tiles))
        lines.append(_join(cells, pad, axis=1))
    return _join(lines, pad, axis=0)
