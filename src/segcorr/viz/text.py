"""Text drawn into figures with OpenCV's Hershey font: ASCII only, wrapped to a width, sized to be read.

Scale 0.6 gives capitals about 13 px high, close to a browser's body text at 100 % zoom; 0.45 (the panel
default) is about 10 px and meant for short tile titles.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

FONT = 0  # cv2.FONT_HERSHEY_SIMPLEX, spelled as its value so that cv2 loads only when text is drawn
READABLE_SCALE = 0.6
_BG = 255


def ascii_text(text: str) -> str:
    """`text` with every character the Hershey fonts cannot draw replaced by '?'."""
    return "".join(ch if 32 <= ord(ch) < 127 else "?" for ch in text)


def text_width(text: str, scale: float, thickness: int = 1) -> int:
    """Width in px of `text` drawn at `scale` / `thickness`."""
    import cv2

    return int(cv2.getTextSize(text, FONT, scale, thickness)[0][0])


def line_height(scale: float) -> int:
    """Distance between baselines of consecutive lines at `scale` (capitals plus descenders plus a gap)."""
    return max(1, round(40 * scale))


def fit_text(text: str, width: int, scale: float, thickness: int = 1) -> str:
    """`text` shortened with '..' until it fits `width` px ("" when nothing fits)."""
    while text and text_width(text, scale, thickness) > width:
        text = text[:-3] + ".." if len(text) > 3 else ""
    return text


def wrap_text(text: str, width: int, scale: float, thickness: int = 1) -> list[str]:
    """ASCII `text` broken at spaces into lines of at most `width` px; a word wider than a line is cut."""
    lines: list[str] = []
    for word in ascii_text(text).split():
        joined = f"{lines[-1]} {word}" if lines else word
        if lines and text_width(joined, scale, thickness) <= width:
            lines[-1] = joined
            continue
        while text_width(word, scale, thickness) > width and len(word) > 1:
            cut = len(word) - 1
            while cut > 1 and text_width(word[:cut], scale, thickness) > width:
                cut -= 1
            lines.append(word[:cut])
            word = word[cut:]
        lines.append(word)
    return lines


def draw_lines(
    canvas: np.ndarray,
    lines: Sequence[str],
    x: int,
    top: int,
    scale: float,
    thickness: int = 1,
    color: tuple[int, int, int] = (0, 0, 0),
) -> int:
    """Draw `lines` (ASCII) into `canvas` (uint8 [H, W, 3], in place), the first line's top at `top`.

    Returns the y just below the last line, where the next block can start.
    """
    import cv2

    step = line_height(scale)
    ascent = round(22 * scale)  # cap height of FONT_HERSHEY_SIMPLEX at scale 1 is 22 px
    y = top
    for line in lines:
        cv2.putText(canvas, line, (x, y + ascent), FONT, scale, color, thickness, cv2.LINE_AA)
        y += step
    return y


def text_block(
    paragraphs: Sequence[str],
    width: int,
    scale: float = READABLE_SCALE,
    bold_first: bool = True,
    margin: int = 6,
    height: int | None = None,
) -> np.ndarray:
    """Paragraphs wrapped into a white block `width` px wide; the first one bold and a little larger.

    height: the block's height (text that does not fit is cut off); default just tall enough.
    Returns uint8 [H, width, 3] RGB.
    """
    styles = [(scale * 1.15, 2) if bold_first and i == 0 else (scale, 1) for i in range(len(paragraphs))]
    wrapped = [wrap_text(p, width - 2 * margin, s, t) for p, (s, t) in zip(paragraphs, styles)]
    need = margin + sum(line_height(s) * len(w) for w, (s, _) in zip(wrapped, styles))
    canvas = np.full((height if height is not None else need, width, 3), _BG, np.uint8)
    y = margin
    for lines, (s, t) in zip(wrapped, styles):
        y = draw_lines(canvas, lines, margin, y, s, t)
    return canvas
