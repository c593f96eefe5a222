"""Crop-and-zoom refinement of point and box answers (SAM-style), used by ``Sam3Predictor.predict``.

The model sees the whole image at ``image_size`` pixels on the longer side (256 for ``sam3_tiny``) and answers at
stride 4, so a part of a few hundred pixels at 512x384 is a few cells wide. After the first answer, a window
around the prompt is cut from the full-size image, resized to the model's input size, embedded again, and the
prompt (mapped into the window) answered there; the window's answer is pasted back into the image frame.

Windows (original pixels, ``x0, y0, x1, y1``):
- box prompt: the box grown by ``box_margin`` of its longer side on every side;
- point prompt: the first answer's box grown by ``point_margin`` of its longer side (the click's own cell when the
  first answer is empty), or a fixed share of the image's longer side around the click when ``point_share`` > 0;
every window is then widened to an aspect of at most ``max_aspect``, to at least ``min_side`` pixels, and shifted
inside the image. With ``point_windows="all"`` a click gets a window from each of the whole image's four outputs
(single and multimask), and the window answer with the highest predicted IoU wins, pasted on the output its
window came from; the windows are taken in order of their output's predicted IoU, one that overlaps an earlier
window by at least ``window_overlap`` (IoU) is skipped, and once a window answers with a predicted IoU of at least
``point_enough`` the rest are skipped (up to four image embeddings per click instead of one).
With several ``scales`` each window is also tried that many times larger (same centre), and the answer with the
highest predicted IoU wins (the first answer competes when ``keep_first``).

Where a window's embedding comes from (``point_source`` for clicks, ``box_source`` for boxes): "embed" cuts the
window from the full-size image and embeds it at the model's input size (one more image embedding per window);
"crop" embeds the whole image once more at ``crop_zoom`` x the model's input size (on the first such window of an
image, then kept) and cuts each window's cells out of that embedding (the window grown to whole stride-16 cells; the
decoder sees the crop with its own position code): no embedding per prompt, but no more zoom than ``crop_zoom`` and
features that saw the whole image; "auto" crops where the fine embedding's scale is at least ``crop_ratio`` x the
window's own (large windows) and embeds the others.

Which of the decoder's outputs answers in the window (``point_bonus`` for clicks, ``box_bonus`` for boxes): None
keeps the decoder's own rule (the single-mask output when it is stable, else the multimask output of highest
predicted IoU); a number takes the output of highest predicted IoU among all four (single and three multimask) after
adding the bonus to the single output's (``choose_output``): 0 is the plain highest predicted IoU, 1 or more always
the single output. For a box, ``box_fit`` > 0 lets the four window outputs and the whole image's four outputs
compete: each scores its predicted IoU (the single outputs' raised by ``box_bonus``) plus ``box_fit`` x the fit of
its snapped mask to the box (the IoU of the mask's bounding box with the box: a box is drawn around its object),
at the cost of snapping all eight.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from segcorr.segment.zoom_features import window_features

POINT_WINDOWS = ("first", "all")
WINDOW_SOURCES = ("embed", "crop", "auto")


@dataclass(frozen=True)
class ZoomConfig:
    """``enabled``: refine point and box answers in a zoomed window (one more image embedding per window).
    See the module docstring for the window rules."""

    enabled: bool = True
    box_margin: float = 0.15
    point_margin: float = 0.15
    point_share: float = 0.0
    min_side: int = 64
    max_aspect: float = 1.5
    scales: tuple[float, ...] = (1.0,)
    mask_prompt: bool = False
    keep_first: bool = False
    # Which output answers (module docstring): the output of highest predicted IoU, the single output's raised by
    # the bonus (None: the decoder's stability rule); for boxes plus box_fit x the fit of the snapped mask to the box,
    # among the window's and the whole image's outputs. point_bonus, box_bonus, box_fit and point_windows were chosen
    # on validation images (seeds 500 000+, cel, textured and toon styles, every click and box prompt of
    # `segcorr eval segment`); the figures are in the weights README, section sam3_tiny.
    point_bonus: float | None = 0.0
    box_bonus: float | None = 0.0
    point_windows: str = "all"  # "all": a window from each output; "first": one window, from the first answer
    box_fit: float = 10.0  # the weight of a box answer's fit to its box in the choice of output (0: off)
    # a click window overlapping an earlier one (those of outputs of higher predicted IoU come first) by at least
    # this IoU is skipped, its answers being about those of the earlier window (1: only equal windows; chosen on
    # validation, figures in the weights README)
    window_overlap: float = 0.7
    # a click's windows stop once one answers with at least this predicted IoU (the later windows, of outputs the
    # model trusts less, rarely beat it; > 1: every window; chosen on validation, figures in the weights README)
    point_enough: float = 0.7
    # where a window's image embedding comes from, for clicks and for boxes (module docstring): "embed" (the window
    # embedded anew), "crop" (cut from one finer embedding of the whole image) or "auto" (crop where that loses no
    # resolution); crop_zoom: the finer embedding's longer side in multiples of the model's image_size; crop_ratio:
    # "auto" crops where the finer embedding's scale is at least this x the window's own. Chosen on validation for
    # speed at a small cost (figures in the weights README): clicks lose much without their own window embedding,
    # boxes little
    point_source: str = "embed"
    box_source: str = "crop"
    crop_zoom: float = 2.0
    crop_ratio: float = 1.0

    def __post_init__(self) -> None:
        if self.point_windows not in POINT_WINDOWS:
            raise ValueError(f"expected point_windows in {POINT_WINDOWS}, found {self.point_windows!r}")
        for name in ("point_source", "box_source"):
            if getattr(self, name) not in WINDOW_SOURCES:
                raise ValueError(f"expected {name} in {WINDOW_SOURCES}, found {getattr(self, name)!r}")


def grow_window(
    box: np.ndarray, margin: float, hw: tuple[int, int], min_side: int, max_aspect: float, scale: float = 1.0
) -> tuple[int, int, int, int]:
    """box float [4] (x0, y0, x1, y1) -> integer window (x0, y0, x1, y1), end-exclusive, inside an image of
    ``hw`` = (height, width): the box grown by ``margin`` x its longer side on every side, times ``scale`` about
    its centre, its shorter side widened to at least longer / ``max_aspect``, both sides to at least
    ``min_side`` (at most the image's), then shifted (not shrunk) to lie inside the image."""
    h, w = hw
    x0, y0, x1, y1 = (float(v) for v in np.asarray(box, np.float64).reshape(4))
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    bw, bh = max(x1 - x0, 1.0), max(y1 - y0, 1.0)
    pad = margin * max(bw, bh)
    bw, bh = (bw + 2 * pad) * scale, (bh + 2 * pad) * scale
    long = max(bw, bh)
    bw, bh = max(bw, long / max_aspect, min_side), max(bh, long / max_aspect, min_side)
    bw, bh = min(bw, w), min(bh, h)
    wx0 = int(round(min(max(cx - bw / 2, 0.0), w - bw)))
    wy0 = int(round(min(max(cy - bh / 2, 0.0), h - bh)))
    return wx0, wy0, min(w, wx0 + int(round(bw))), min(h, wy0 + int(round(bh)))


def choose_output(iou: np.ndarray, single_bonus: float) -> int:
    """iou float [4] predicted IoU of the decoder's outputs (0: the single-mask output, 1..3: the multimask ones)
    -> the index of the output with the highest score, where the single output's score is its predicted IoU plus
    ``single_bonus`` (ties: the lower index)."""
    score = np.asarray(iou, np.float64).reshape(-1).copy()
    score[0] += single_bonus
    return int(np.argmax(score))


def mask_box(mask: np.ndarray) -> np.ndarray | None:
    """bool [H, W] -> float [4] (x0, y0, x1, y1) of its pixels (end-exclusive), None when empty."""
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    if not len(rows):
        return None
    return np.array([cols[0], rows[0], cols[-1] + 1, rows[-1] + 1], np.float64)


def point_window_box(
    points: np.ndarray, first: np.ndarray, hw: tuple[int, int], share: float
) -> tuple[np.ndarray, bool]:
    """The box a point prompt's window grows from: ``share`` > 0: a square of ``share`` x the image's longer
    side around the positive clicks' centre (returned with False: no margin); else the first answer's box (bool
    [H, W] ``first``) joined with the positive clicks (True: grow by the margin)."""
    h, w = hw
    pts = np.asarray(points, np.float64).reshape(-1, 2)
    if share > 0:
        c = pts.mean(0)
        r = share * max(h, w) / 2
        return np.array([c[0] - r, c[1] - r, c[0] + r, c[1] + r]), False
    b = mask_box(first)
    lo, hi = pts.min(0), pts.max(0) + 1
    if b is None:
        return np.array([lo[0], lo[1], hi[0], hi[1]]), True
    return np.array([min(b[0], lo[0]), min(b[1], lo[1]), max(b[2], hi[0]), max(b[3], hi[1])]), True


def window_mask_logits(prob: np.ndarray, scaled_hw: tuple[int, int], grid_hw: tuple[int, int]) -> np.ndarray:
    """The first answer's probabilities inside a window (float [h, w]) -> a mask prompt for the window's embedding:
    logits float32 [h4, w4] on the stride-4 grid of its padded input (image part ``scaled_hw``), clipped to +-8."""
    import cv2

    sh, sw = scaled_hw
    h4, w4 = grid_hw
    grid = np.zeros((h4 * 4, w4 * 4), np.float32)
    grid[:sh, :sw] = cv2.resize(prob.astype(np.float32), (sw, sh), interpolation=cv2.INTER_AREA)
    p = grid.reshape(h4, 4, w4, 4).mean(axis=(1, 3)).clip(1e-4, 1 - 1e-4)
    return np.clip(np.log(p / (1 - p)), -8.0, 8.0).astype(np.float32)


def zoom_answer(
    pred,
    xy: np.ndarray,
    lab: np.ndarray,
    prob: np.ndarray,
    iou: np.ndarray,
    box: np.ndarray | None,
    pos: np.ndarray | None,
    firsts: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Refine the first answer of ``pred`` (a ``Sam3Predictor`` with an image set) in zoomed windows.

    xy [N, 2] prompt points in original pixels with labels lab [N] (clicks 0/1, box corners 2/3); prob float
    [1, H, W] and iou [1]: the first answer; box [4] or None; pos [P, 2] positive clicks or None; firsts: the
    whole image's four outputs (probabilities float [4, H, W], iou [4]) or None: for a click, the answers to grow
    windows from (``point_windows="all"``; None: ``prob``); for a box, candidates beside the window's (``box_fit``).
    Returns (prob [1, H, W], iou [1]) of the chosen answer (see the module docstring); outside the window the
    answer the window grew from stays."""
    import torch

    from segcorr.segment.predictor import _upsample

    cfg = pred.zoom
    h, w = pred.orig_hw
    bonus = cfg.point_bonus if box is None else cfg.box_bonus
    bases = _window_bases(cfg, (h, w), prob, box, pos, firsts)
    best_iou, best = (float(iou[0]), prob[0]) if cfg.keep_first else (-np.inf, prob[0])
    dev = next(pred.model.parameters()).device
    seen = []
    for scale, (base, margin, first) in itertools.product(cfg.scales, bases):
        window = grow_window(base, margin, (h, w), cfg.min_side, cfg.max_aspect, scale)
        if any(window == q or window_iou(window, q) >= cfg.window_overlap for q in seen):
            continue
        seen.append(window)
        feats, s, shw, window = window_features(pred, window, cfg.point_source if box is None else cfg.box_source)
        x0, y0, x1, y1 = window
        origin = feats.get("origin", (x0, y0))
        m_in = has = None
        if cfg.mask_prompt:
            grid = tuple(4 * n for n in feats["inter"][2].shape[-2:])  # stride 4; crop features have no inter[0]
            m = window_mask_logits(first[y0:y1, x0:x1], shw, grid)
            m_in = torch.from_numpy(m)[None, None].to(dev)
            has = torch.ones(1, dtype=torch.bool, device=dev)
        shifted = (np.asarray(xy, np.float64) - origin) * s
        if box is not None and cfg.box_fit > 0:
            out, wiou = _fit_answer(pred, feats, shifted, lab, m_in, has, first, window, shw, box, bonus, firsts)
        else:
            logits, wiou, _obj = pred._decode(feats, shifted, lab, m_in, has, single_bonus=bonus)
            out = first.copy()
            out[y0:y1, x0:x1] = _upsample(logits[:1], shw, (y1 - y0, x1 - x0))[0]
        if float(wiou[0]) > best_iou:
            best_iou, best = float(wiou[0]), out
        if box is None and best_iou >= cfg.point_enough:
            break
    return best[None], np.array([best_iou], np.float32)


def _window_bases(cfg: ZoomConfig, hw: tuple[int, int], prob, box, pos, firsts) -> list:
    """What the windows of ``zoom_answer`` grow from (its arguments): a list of (box float [4], margin, the answer
    float [H, W] outside the window); for clicks with ``firsts`` one per output, the outputs of higher predicted IoU
    first."""
    bases = []
    for first in prob if box is not None or firsts is None else firsts[0]:
        if box is not None:
            bases.append((np.asarray(box, np.float64), cfg.box_margin, first))
            continue
        base, grow = point_window_box(pos, first > 0.5, hw, cfg.point_share)
        bases.append((base, cfg.point_margin if grow else 0.0, first))
    if box is None and firsts is not None:
        order = np.argsort(-np.asarray(firsts[1], np.float64), kind="stable")
        bases = [bases[i] for i in order]
    return bases


def window_iou(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    """IoU of two integer windows (x0, y0, x1, y1), end-exclusive."""
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / max(union, 1)


def box_fit(mask: np.ndarray, box: np.ndarray) -> float:
    """IoU of the bounding box of bool [H, W] ``mask`` (pixel c covers [c, c + 1)) with ``box`` (x0, y0, x1, y1);
    0 for an empty mask."""
    from segcorr.segment.tracker_masks import box_iou

    b = mask_box(mask)
    return 0.0 if b is None else box_iou(b, np.asarray(box, np.float64).reshape(4))


def _fit_answer(
    pred, feats, xy, lab, m_in, has, first, window, shw, box, bonus, firsts
) -> tuple[np.ndarray, np.ndarray]:
    """A box's answer among the window's four outputs (pasted on ``first``) and the whole image's (``firsts``:
    probabilities [4, H, W], iou [4], or None), chosen by predicted IoU (the single outputs' raised by ``bonus``,
    None: 0) plus ``box_fit`` x the fit of the snapped mask to the box: -> (probabilities [H, W], iou [1])."""
    from segcorr.segment.predictor import _upsample

    x0, y0, x1, y1 = window
    logits, iou, _obj = pred._decode_all(feats, xy, lab, m_in, has)
    outs = np.repeat(first[None], len(logits), axis=0)
    outs[:, y0:y1, x0:x1] = _upsample(logits, shw, (y1 - y0, x1 - x0))
    ious = iou.float().cpu().numpy().astype(np.float64)
    singles = [0]
    if firsts is not None:
        singles.append(len(outs))
        outs = np.concatenate([outs, firsts[0]])
        ious = np.concatenate([ious, np.asarray(firsts[1], np.float64)])
    masks = pred._finish_prompt(outs, None, None, np.asarray(box, np.float32))
    score = ious.copy()
    score[singles] += 0.0 if bonus is None else bonus
    score += pred.zoom.box_fit * np.array([box_fit(m, box) for m in masks])
    i = int(np.argmax(score))
    return outs[i], ious[i : i + 1].astype(np.float32)
