"""A second, independent cel generator for evaluation: flat-colour shapes drawn with OpenCV.

It shares nothing with ``segcorr.data.synth`` (no characters, palette, textures or renderer of that world):
random hues, outlines from 1 to 4 px (anti-aliased or not), overlapping circles, ellipses, rotated boxes,
polygons and stars, some with an inner shape, on a flat, gradient or two-tone background. It exists to measure
a segmenter on cel-like images its training never drew. Ground truth: one segment per visible shape (its outline
included), the background regions as segments of their own.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np


def _hsv_colour(rng: np.random.Generator) -> tuple[int, int, int]:
    hsv = np.uint8([[[rng.integers(0, 180), rng.integers(40, 230), rng.integers(90, 250)]]])
    return tuple(int(c) for c in cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0, 0])


def _shape_points(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    cx, cy = rng.uniform(0.05, 0.95) * w, rng.uniform(0.05, 0.95) * h
    r = rng.uniform(0.04, 0.22) * min(h, w)
    kind = rng.integers(5)
    if kind == 0:  # circle
        t = np.linspace(0, 2 * np.pi, 64, endpoint=False)
        return np.stack([cx + r * np.cos(t), cy + r * np.sin(t)], 1)
    if kind == 1:  # ellipse
        t = np.linspace(0, 2 * np.pi, 64, endpoint=False)
        a, b, th = r, r * rng.uniform(0.3, 0.9), rng.uniform(0, np.pi)
        x, y = a * np.cos(t), b * np.sin(t)
        return np.stack([cx + x * np.cos(th) - y * np.sin(th), cy + x * np.sin(th) + y * np.cos(th)], 1)
    if kind == 2:  # rotated box
        box = cv2.boxPoints(((cx, cy), (2 * r, 2 * r * rng.uniform(0.3, 1.0)), rng.uniform(0, 180)))
        return box.astype(np.float64)
    if kind == 3:  # irregular polygon
        n = int(rng.integers(3, 8))
        t = np.sort(rng.uniform(0, 2 * np.pi, n))
        rr = r * rng.uniform(0.5, 1.0, n)
        return np.stack([cx + rr * np.cos(t), cy + rr * np.sin(t)], 1)
    n = int(rng.integers(4, 7))  # star
    t = np.linspace(0, 2 * np.pi, 2 * n, endpoint=False) + rng.uniform(0, np.pi)
    rr = np.where(np.arange(2 * n) % 2 == 0, r, r * rng.uniform(0.35, 0.6))
    return np.stack([cx + rr * np.cos(t), cy + rr * np.sin(t)], 1)


def make_toon_image(seed: int, height: int = 384, width: int = 512) -> tuple[np.ndarray, np.ndarray]:
    """(image uint8 [H, W, 3] RGB, segments int32 [H, W], 1..S) for ``seed``."""
    rng = np.random.default_rng(seed)
    h, w = height, width
    img = np.zeros((h, w, 3), np.uint8)
    seg = np.zeros((h, w), np.int32)
    style = rng.integers(3)
    c0, c1 = np.array(_hsv_colour(rng)), np.array(_hsv_colour(rng))
    if style == 0:
        img[:] = c0
        seg[:] = 1
    elif style == 1:  # vertical gradient: one region
        a = np.linspace(0, 1, h)[:, None, None]
        img[:] = (c0 * (1 - a) + c1 * a).astype(np.uint8)
        seg[:] = 1
    else:  # two tones split by a horizon line
        y = int(rng.uniform(0.3, 0.7) * h)
        img[:y], img[y:] = c0, c1
        seg[:y], seg[y:] = 1, 2
    nid = int(seg.max()) + 1
    line_w = int(rng.integers(1, 5))
    aa = cv2.LINE_AA if rng.random() < 0.6 else cv2.LINE_8
    ink = tuple(int(v) for v in rng.integers(0, 50, 3))
    for _ in range(int(rng.integers(4, 12))):
        pts = np.round(_shape_points(rng, h, w) * 8).astype(np.int32)  # 3 fractional bits
        layer = np.zeros((h, w), np.uint8)
        cv2.fillPoly(layer, [pts], 255, cv2.LINE_8, shift=3)
        cv2.polylines(layer, [pts], True, 255, line_w, cv2.LINE_8, shift=3)
        if layer.sum() < 255 * 40:
            continue
        cv2.fillPoly(img, [pts], _hsv_colour(rng), aa, shift=3)
        cv2.polylines(img, [pts], True, ink, line_w, aa, shift=3)
        seg[layer > 0] = nid
        nid += 1
        if rng.random() < 0.35:  # an inner detail (eye, button, patch)
            c = pts.reshape(-1, 2).mean(0)
            inner = ((pts.reshape(-1, 2) - c) * rng.uniform(0.25, 0.45) + c).astype(np.int32)
            lay2 = np.zeros((h, w), np.uint8)
            cv2.fillPoly(lay2, [inner], 255, cv2.LINE_8, shift=3)
            if lay2.sum() >= 255 * 40:
                cv2.fillPoly(img, [inner], _hsv_colour(rng), aa, shift=3)
                cv2.polylines(img, [inner], True, ink, max(1, line_w - 1), aa, shift=3)
                seg[lay2 > 0] = nid
                nid += 1
    # ids 1..S without gaps (shapes fully covered by later ones disappear)
    _, inv = np.unique(seg, return_inverse=True)
    return img, (inv.reshape(h, w) + 1).astype(np.int32)


def write_toon_images(out_dir: str | Path, count: int, seed: int = 0, height: int = 384, width: int = 512) -> Path:
    """``count`` images in the segmentation-folder layout: ``NNNNN_img.png`` + ``NNNNN_seg.png`` (16-bit)."""
    from segcorr.io.atomic import atomic_write_text
    from segcorr.io.image import write_image
    from segcorr.io.labelmap import write_labelmap

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        img, seg = make_toon_image(seed + i, height, width)
        write_image(out / f"{i:05d}_img.png", img)
        write_labelmap(out / f"{i:05d}_seg.png", seg)
    atomic_write_text(
        out / "meta.json",
        json.dumps(
            {"generator": "segcorr-toon-shapes/1", "count": count, "seed": seed, "height": height, "width": width},
            indent=1,
        ),
    )
    return out
