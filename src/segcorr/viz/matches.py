"""Match lines: both images side by side, one line per match coloured by confidence (red low, green high)."""

from __future__ import annotations

import numpy as np


def confidence_colors(conf: np.ndarray) -> np.ndarray:
    """``conf [N]`` in 0..1 -> uint8 [N, 3] RGB on a red -> yellow -> green ramp."""
    c = np.clip(np.asarray(conf, np.float64), 0.0, 1.0)
    r = np.where(c < 0.5, 1.0, 2.0 * (1.0 - c))
    g = np.where(c < 0.5, 2.0 * c, 1.0)
    return np.rint(np.stack([r, g, np.zeros_like(c)], axis=1) * 230).astype(np.uint8)


def _rgb(img: np.ndarray) -> np.ndarray:
    img = np.asarray(img)
    if img.dtype != np.uint8:
        img = np.clip(np.rint(img * 255.0), 0, 255).astype(np.uint8)
    if img.ndim == 2:
        img = np.repeat(img[:, :, None], 3, axis=2)
    return np.ascontiguousarray(img[:, :, :3])


def draw_matches(
    img0: np.ndarray,
    img1: np.ndarray,
    mkpts0: np.ndarray,
    mkpts1: np.ndarray,
    mconf: np.ndarray | None = None,
    max_lines: int = 250,
    title: str | None = None,
    legend: str = "colour: confidence (red low, green high)",
) -> np.ndarray:
    """uint8 [max(H0, H1) + header, W0 + gap + W1, 3]: img0 left, img1 right, lines between matches.

    Images are dimmed a little so lines stand out; at most ``max_lines`` lines (spread evenly over the
    confidence ranking) keep dense matchers readable. ``mconf`` None draws every line green. ``legend`` follows the
    title in the header (what the colours mean: pass another when ``mconf`` holds something else, e.g. 0/1 for
    wrong/right); ``title=""`` with an empty legend leaves the header out (a caller that titles the picture itself).
    """
    import cv2

    a, b = (_rgb(img0) * 0.8).astype(np.uint8), (_rgb(img1) * 0.8).astype(np.uint8)
    gap, header = 8, 0 if title == "" and not legend else 22  # no header band when there is nothing to write
    h = max(a.shape[0], b.shape[0])
    canvas = np.full((h + header, a.shape[1] + gap + b.shape[1], 3), 255, np.uint8)
    canvas[header : header + a.shape[0], : a.shape[1]] = a
    canvas[header : header + b.shape[0], a.shape[1] + gap :] = b
    k0 = np.asarray(mkpts0, np.float64).reshape(-1, 2)
    k1 = np.asarray(mkpts1, np.float64).reshape(-1, 2)
    conf = np.ones(len(k0)) if mconf is None else np.asarray(mconf, np.float64).reshape(-1)
    idx = np.arange(len(k0))
    if len(idx) > max_lines:  # evenly spaced in confidence order: the picture shows the whole range
        order = np.argsort(-conf, kind="stable")
        idx = order[np.linspace(0, len(order) - 1, max_lines).round().astype(int)]
    idx = idx[np.argsort(conf[idx], kind="stable")]  # confident lines drawn last, on top
    colors = confidence_colors(conf[idx])
    off = np.array([a.shape[1] + gap, header], np.float64)
    shift = 4  # sub-pixel line positions
    for i, col in zip(idx, colors):
        p = tuple(np.rint((k0[i] + [0, header]) * 2**shift).astype(int))
        q = tuple(np.rint((k1[i] + off) * 2**shift).astype(int))
        c = tuple(int(v) for v in col)
        cv2.line(canvas, p, q, c, 1, cv2.LINE_AA, shift)
        cv2.circle(canvas, p, 2 * 2**shift, c, -1, cv2.LINE_AA, shift)
        cv2.circle(canvas, q, 2 * 2**shift, c, -1, cv2.LINE_AA, shift)
    if not header:
        return canvas
    text = title if title is not None else f"{len(k0)} matches" + (f" ({len(idx)} drawn)" if len(idx) < len(k0) else "")
    cv2.putText(
        canvas,
        f"{text}   {legend}" if legend else text,
        (4, 15),
        cv2.FONT_HERSHEY_SIMPLEX,
        0.45,
        (0, 0, 0),
        1,
        cv2.LINE_AA,
    )
    return canvas
