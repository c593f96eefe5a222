"""Several images in one picture, each under an optional title."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

_BG = 255
_FONT_SCALE = 0.45
_TITLE_H = 18
# A report page (`segcorr.viz.report`) shows 1200 px of content: figures this wide appear at 100 %, so text
# drawn at `segcorr.viz.text.READABLE_SCALE` is read at that size. benchmarks/report_check.py fails > 1600 px.
FIGURE_WIDTH = 1180


def to_rgb8(image: np.ndarray) -> np.ndarray:
    """Any displayable array -> uint8 [H, W, 3] RGB.

    bool -> 0/255; float -> 0..1 scaled to 0..255 (values outside clipped; NaN black); uint16 -> scaled;
    grey [H, W] or [H, W, 1] -> repeated; RGBA -> alpha dropped.
    """
    a = np.asarray(image)
    if a.dtype == np.bool_:
        a = a.astype(np.uint8) * 255
    elif np.issubdtype(a.dtype, np.floating):
        a = np.rint(np.clip(np.nan_to_num(a, nan=0.0), 0.0, 1.0) * 255).astype(np.uint8)
    elif a.dtype == np.uint16:
        a = ((a.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)
    elif a.dtype != np.uint8:
        a = np.clip(a, 0, 255).astype(np.uint8)
    if a.ndim == 2:
        a = a[:, :, None]
    if a.ndim != 3 or a.shape[2] not in (1, 3, 4) or a.shape[0] == 0 or a.shape[1] == 0:
        raise ValueError(f"expected an image [H, W], [H, W, 1], [H, W, 3] or [H, W, 4], found {a.shape}")
    if a.shape[2] == 1:
        return np.repeat(a, 3, axis=2)
    return np.ascontiguousarray(a[:, :, :3])


def _resize_to_height(img: np.ndarray, height: int) -> np.ndarray:
    import cv2

    h, w = img.shape[:2]
    if h == height:
        return img
    width = max(1, int(round(w * height / h)))
    # Nearest when enlarging keeps masks, label maps and flow colours crisp.
    interp = cv2.INTER_AREA if height < h else cv2.INTER_NEAREST
    return cv2.resize(img, (width, height), interpolation=interp)


def _title_bar(title: str | None, width: int, scale: float, lines: int) -> np.ndarray:
    """A white bar `lines` title lines high holding `title` (ASCII), wrapped when `lines` > 1, else shortened."""
    import cv2

    from segcorr.viz.text import FONT, ascii_text, fit_text, wrap_text

    step = round(_TITLE_H * scale / _FONT_SCALE)
    descent = round(5 * scale / _FONT_SCALE)
    bar = np.full((step * lines, width, 3), _BG, np.uint8)
    text = ascii_text(title or "")
    rows = wrap_text(text, width - 4, scale) if lines > 1 else [text]
    if len(rows) > lines:
        rows = rows[: lines - 1] + [" ".join(rows[lines - 1 :])]
    for i, row in enumerate(rows):
        row = fit_text(row, width - 4, scale)
        if row:
            cv2.putText(bar, row, (2, step * (i + 1) - descent), FONT, scale, (0, 0, 0), 1, cv2.LINE_AA)
    return bar


def _stack(tiles: list[np.ndarray], pad: int, axis: int) -> np.ndarray:
    """Concatenate RGB tiles along `axis` (1 = a row, 0 = a column) with `pad` px of background between them,
    filling each tile's other side with background up to the largest."""
    other = 1 - axis
    size = max(t.shape[other] for t in tiles)
    parts = []
    for i, t in enumerate(tiles):
        if i:
            gap = [0, 0, 3]
            gap[axis], gap[other] = pad, size
            parts.append(np.full(gap, _BG, np.uint8))
        if t.shape[other] < size:
            fill = list(t.shape)
            fill[other] = size - t.shape[other]
            t = np.concatenate([t, np.full(fill, _BG, np.uint8)], axis=other)
        parts.append(t)
    return np.concatenate(parts, axis=axis)


def side_by_side(
    images: Sequence[np.ndarray],
    titles: Sequence[str | None] | None = None,
    pad: int = 4,
    height: int | None = None,
    max_cols: int | None = None,
    font_scale: float = _FONT_SCALE,
    title_lines: int = 1,
) -> np.ndarray:
    """Images in a row (or rows of `max_cols`), scaled to one height, each under its title.

    images: any mix of grey / RGB / RGBA / bool / float arrays and sizes (see `to_rgb8`).
    titles: one per image (None or "" for none); no title bar at all when `titles` is None.
    height: common image height (default the tallest input). Returns uint8 [H', W', 3] RGB on white.
    font_scale: title size (0.45: about 10 px capitals; `segcorr.viz.text.READABLE_SCALE` for figures read
    at 100 % zoom). title_lines: lines a title may wrap onto (every bar gets that many when one needs them);
    whatever still does not fit is shortened with '..'.
    """
    if len(images) == 0:
        raise ValueError("side_by_side needs at least one image")
    if titles is not None and len(titles) != len(images):
        raise ValueError(f"got {len(images)} images but {len(titles)} titles")
    rgb = [to_rgb8(im) for im in images]
    target = int(height) if height else max(im.shape[0] for im in rgb)
    tiles = [_resize_to_height(im, target) for im in rgb]
    if titles is not None:
        from segcorr.viz.text import ascii_text, wrap_text

        lines = 1
        if title_lines > 1:
            wrapped = [len(wrap_text(ascii_text(s or ""), t.shape[1] - 4, font_scale)) for t, s in zip(tiles, titles)]
            lines = max(1, min(int(title_lines), max(wrapped)))
        tiles = [
            np.concatenate([_title_bar(s, t.shape[1], font_scale, lines), t], axis=0) for t, s in zip(tiles, titles)
        ]
    pad = max(0, int(pad))
    cols = len(tiles) if not max_cols or max_cols <= 0 else int(max_cols)
    rows = [_stack(tiles[i : i + cols], pad, axis=1) for i in range(0, len(tiles), cols)]
    return _stack(rows, pad, axis=0)


def page_panel(
    images: Sequence[np.ndarray],
    titles: Sequence[str | None],
    cols: int,
    width: int = FIGURE_WIDTH,
    pad: int = 4,
) -> np.ndarray:
    """`side_by_side` for a report page: rows of `cols` tiles, at most `width` px wide, titles readable.

    Tiles share one height, chosen so that the widest-aspect image still fits its column (never enlarged);
    titles are drawn at `segcorr.viz.text.READABLE_SCALE` and wrap onto two lines.
    """
    from segcorr.viz.text import READABLE_SCALE

    if len(images) == 0:
        raise ValueError("page_panel needs at least one image")
    cols = max(1, min(int(cols), len(images)))
    tile_w = (width - (cols - 1) * pad) // cols
    shapes = [np.asarray(im).shape[:2] for im in images]
    aspect = max(w / h for h, w in shapes)
    height = max(1, min(max(h for h, _ in shapes), int(tile_w / aspect)))
    return side_by_side(images, titles, pad=pad, height=height, max_cols=cols, font_scale=READABLE_SCALE, title_lines=2)
