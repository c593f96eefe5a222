"""End-point-error heat maps: where a flow estimate is wrong, and by how much."""

from __future__ import annotations

import numpy as np


def epe_map(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Per-pixel end-point error. pred, gt: [2, H, W]. Returns float32 [H, W] (NaN where either is non-finite)."""
    pred = np.asarray(pred, dtype=np.float64)
    gt = np.asarray(gt, dtype=np.float64)
    if pred.shape != gt.shape or pred.ndim != 3 or pred.shape[0] != 2:
        raise ValueError(f"expected pred and gt of one shape [2, H, W], found {pred.shape} and {gt.shape}")
    with np.errstate(invalid="ignore", over="ignore"):
        return np.hypot(pred[0] - gt[0], pred[1] - gt[1]).astype(np.float32)


def _scale_bar(out: np.ndarray, max_err: float) -> None:
    """Draw a colour ramp labelled 0 .. max_err px into the bottom-left corner, in place (RGB)."""
    import cv2

    h, w = out.shape[:2]
    bar_w, bar_h, m = min(96, w // 3), 8, 3
    label = f"0-{max_err:.3g} px"
    font, fs, th = cv2.FONT_HERSHEY_SIMPLEX, 0.35, 1
    (tw, tx_h), _ = cv2.getTextSize(label, font, fs, th)
    box_h = bar_h + tx_h + 3 * m
    if h < box_h + 2 * m or w < max(bar_w, tw) + 4 * m or bar_w < 16:
        return
    x0, y0 = m, h - m - box_h
    out[y0 : y0 + box_h, x0 : x0 + max(bar_w, tw) + 2 * m] = 255
    ramp = np.linspace(0, 255, bar_w).astype(np.uint8)[None, :].repeat(bar_h, axis=0)
    colored = cv2.applyColorMap(ramp, cv2.COLORMAP_INFERNO)[:, :, ::-1]
    out[y0 + m : y0 + m + bar_h, x0 + m : x0 + m + bar_w] = colored
    cv2.putText(out, label, (x0 + m, y0 + box_h - m), font, fs, (0, 0, 0), th, cv2.LINE_AA)


def error_map(
    pred: np.ndarray,
    gt: np.ndarray,
    max_err: float | None = None,
    valid: np.ndarray | None = None,
    scale_bar: bool = True,
) -> np.ndarray:
    """End-point error as a heat map (inferno: black = 0, yellow-white = `max_err` or more).

    pred, gt: flow [2, H, W]. valid: optional bool [H, W]; invalid or non-finite pixels are drawn grey.
    max_err: error shown at the top of the scale (default the largest valid error).
    Returns uint8 [H, W, 3] RGB, with a labelled scale bar in the bottom-left corner when it fits.
    """
    import cv2

    err = epe_map(pred, gt)
    ok = np.isfinite(err)
    if valid is not None:
        valid = np.asarray(valid, dtype=bool)
        if valid.shape != err.shape:
            raise ValueError(f"expected valid of shape {err.shape}, found {valid.shape}")
        ok &= valid
    if max_err is None or not np.isfinite(max_err) or max_err <= 0:
        max_err = float(err[ok].max()) if ok.any() else 0.0
        max_err = max_err if max_err > 0 else 1.0
    level = np.clip(np.where(ok, err, 0.0) / max_err, 0.0, 1.0)
    gray = np.rint(level * 255).astype(np.uint8)
    out = np.ascontiguousarray(cv2.applyColorMap(gray, cv2.COLORMAP_INFERNO)[:, :, ::-1])
    out[~ok] = 128
    if scale_bar:
        _scale_bar(out, max_err)
    return out


def error_legend(width: int, max_err: float, title: str = "end-point error", scale: float | None = None) -> np.ndarray:
    """A readable key for `error_map`: `title`, the inferno ramp, and ticks 0 .. `max_err` px under it.

    width: legend width in px. scale: text size (default `segcorr.viz.text.READABLE_SCALE`).
    Returns uint8 [H, width, 3] RGB on white.
    """
    import cv2

    from segcorr.viz.text import READABLE_SCALE, draw_lines, line_height, text_width, wrap_text

    scale = READABLE_SCALE if scale is None else scale
    m, bar_h = 6, max(8, round(24 * scale))
    head = wrap_text(title, width - 2 * m, scale)
    top = m + line_height(scale) * len(head)
    out = np.full((top + bar_h + line_height(scale) + m, width, 3), 255, np.uint8)
    draw_lines(out, head, m, m, scale)
    bar_w = width - 2 * m
    ramp = np.linspace(0, 255, bar_w).astype(np.uint8)[None, :].repeat(bar_h, axis=0)
    out[top : top + bar_h, m : m + bar_w] = cv2.applyColorMap(ramp, cv2.COLORMAP_INFERNO)[:, :, ::-1]
    ticks = [(0.0, "0")] + [(f, f"{f * max_err:.3g}") for f in (0.25, 0.5, 0.75)] + [(1.0, f"{max_err:.3g}+ px")]
    for f, label in ticks:
        tw = text_width(label, scale)
        x = min(max(m, round(m + f * bar_w - tw / 2)), width - m - tw)
        draw_lines(out, [label], x, top + bar_h + 3, scale)
    return out
