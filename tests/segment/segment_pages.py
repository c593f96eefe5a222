"""Small hand-built test images for the segmenter tests (grey manga page, flat-colour cel)."""

from __future__ import annotations

import cv2
import numpy as np


def tone_page(size: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """A grey page: white paper, line art, a flat grey fill, a black fill, a dot tone and a line tone.

    Returns (page uint8 [H, W], ground-truth tone mask bool [H, W]).
    """
    h = w = size
    page = np.full((h, w), 255, np.uint8)
    tone = np.zeros((h, w), bool)
    yy, xx = np.mgrid[0:h, 0:w]
    # dot tone (period 6, dot radius 1.6) in a square
    r0, r1, c0, c1 = 20, 110, 20, 120
    dots = ((yy % 6 - 2.5) ** 2 + (xx % 6 - 2.5) ** 2) <= 1.6**2
    region = (yy >= r0) & (yy < r1) & (xx >= c0) & (xx < c1)
    page[region & dots] = 40
    tone |= region
    # diagonal line tone (period 5) in a disc
    region = (yy - 180) ** 2 + (xx - 70) ** 2 <= 50**2
    page[region & (((xx + yy) % 5) < 2)] = 60
    tone |= region
    # flat grey and solid black: not tone
    page[30:100, 150:230] = 150
    page[130:160, 150:235] = 0
    # line art: outlines, strokes and a few loose parallel strokes
    cv2.rectangle(page, (145, 25), (235, 105), 0, 2)
    cv2.circle(page, (190, 200), 40, 0, 2)
    cv2.line(page, (130, 240), (250, 170), 0, 2)
    for k in range(3):
        cv2.line(page, (150 + 14 * k, 175), (165 + 14 * k, 230), 0, 1)
    return page, tone


def cel_image(h: int = 96, w: int = 128) -> tuple[np.ndarray, np.ndarray]:
    """A flat-colour cel: background, a character (body + head) in dark outline, a small gap in the outline.

    Returns (image uint8 [H, W, 3], parts int32 [H, W]: 0 background, 1 body, 2 head, 3 line art).
    """
    img = np.zeros((h, w, 3), np.uint8)
    img[:] = (120, 180, 230)  # sky
    img[h * 2 // 3 :] = (90, 160, 70)  # grass
    parts = np.zeros((h, w), np.int32)
    body = np.zeros((h, w), np.uint8)
    cv2.rectangle(body, (50, 40), (80, 85), 1, -1)
    head = np.zeros((h, w), np.uint8)
    cv2.circle(head, (65, 25), 13, 1, -1)
    img[body > 0] = (200, 40, 40)
    img[head > 0] = (250, 210, 170)
    parts[body > 0] = 1
    parts[head > 0] = 2
    outline = np.zeros((h, w), np.uint8)
    cv2.rectangle(outline, (50, 40), (80, 85), 1, 1)
    cv2.circle(outline, (65, 25), 13, 1, 1)
    outline[60:63, 50:52] = 0  # a 3-px gap in the body outline
    img[outline > 0] = (20, 20, 20)
    parts[outline > 0] = 3
    return img, parts
