"""Answering prompts from a label map: the shared logic of the `flat` and `labelmap` backends.

A box asks for "the object in this box": the union of segments that lie mostly inside the box, minus
segments that run along the box's frame for a large share of it (that is the background around the
object), with holes filled. A point asks for the segment under it. A mask prompt is returned cleaned.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from segcorr.errors import InputError
from segcorr.segment.base import Masks, Prompts
from segcorr.segment.regions import clean_mask, fill_holes


@dataclass(frozen=True)
class BoxRule:
    inside_frac: float = 0.6  # share of a segment's area that must lie inside the box
    border_frac: float = 0.5  # a segment covering more than this share of the box's frame is background
    min_area: int = 16  # smallest component kept when cleaning mask prompts
    outline_width: int = 3  # line-art pixels this close to an answer join it (when line art is known)


def box_bounds(box: np.ndarray, shape: tuple[int, int]) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) float pixels -> integer (r0, r1, c0, c1), end-exclusive, clipped, >= 1 px."""
    h, w = shape
    x0, y0, x1, y1 = (float(v) for v in box)
    if not (np.isfinite([x0, y0, x1, y1]).all() and x1 >= x0 and y1 >= y0):
        raise InputError(f"expected a box x0,y0,x1,y1 with x1 >= x0 and y1 >= y0, found {list(box)}")
    c0, c1 = int(np.clip(np.floor(x0), 0, w - 1)), int(np.clip(np.ceil(x1), 1, w))
    r0, r1 = int(np.clip(np.floor(y0), 0, h - 1)), int(np.clip(np.ceil(y1), 1, h))
    return r0, max(r1, r0 + 1), c0, max(c1, c0 + 1)


def _frame_counts(labels: np.ndarray, r0: int, r1: int, c0: int, c1: int, n: int) -> tuple[np.ndarray, int]:
    frame = np.concatenate([labels[r0, c0:c1], labels[r1 - 1, c0:c1], labels[r0:r1, c0], labels[r0:r1, c1 - 1]])
    return np.bincount(frame, minlength=n + 1), frame.size


def claim_outline(mask: np.ndarray, line: np.ndarray | None, width: int) -> np.ndarray:
    """Add the line-art pixels that touch `mask` (up to `width` px deep): an object owns its outline,
    which a nearest-label fill would otherwise split with the background. bool [H, W] -> bool [H, W]."""
    if line is None or width <= 0 or not mask.any():
        return mask
    import cv2

    out = mask.astype(np.uint8)
    lines = line.astype(np.uint8)
    cross = cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3))
    for _ in range(width):
        out = np.maximum(out, cv2.dilate(out, cross) & lines)
    return out.astype(bool)


def box_mask(
    labels: np.ndarray,
    box: np.ndarray,
    rule: BoxRule = BoxRule(),
    add_ids: np.ndarray | None = None,
    remove_ids: np.ndarray | None = None,
    line: np.ndarray | None = None,
) -> tuple[np.ndarray, float]:
    """The object inside one box. labels: int32 [H, W]; box: (x0, y0, x1, y1).

    add_ids / remove_ids: segment ids forced in / out (from point prompts inside the box).
    line: optional bool [H, W] line art; the object's outline is added to its mask.
    Returns (mask bool [H, W], score in 0..1 = share of the mask's area inside the box; 0 if empty).
    """
    r0, r1, c0, c1 = box_bounds(box, labels.shape)
    n = int(labels.max())
    total = np.bincount(labels.ravel(), minlength=n + 1)
    inside = np.bincount(labels[r0:r1, c0:c1].ravel(), minlength=n + 1)
    on_frame, frame_len = _frame_counts(labels, r0, r1, c0, c1, n)
    frac = inside / np.maximum(total, 1)
    keep = (frac >= rule.inside_frac) & (on_frame <= rule.border_frac * frame_len)
    keep[0] = False
    if add_ids is not None:
        keep[add_ids[(add_ids > 0) & (add_ids <= n)]] = True
    if remove_ids is not None:
        keep[remove_ids[(remove_ids >= 0) & (remove_ids <= n)]] = False
    if not keep.any():
        return np.zeros(labels.shape, bool), 0.0
    mask = fill_holes(claim_outline(keep[labels], line, rule.outline_width))
    area = int(mask.sum())
    score = float(mask[r0:r1, c0:c1].sum()) / max(area, 1)
    return mask, score


def _point_ids(labels: np.ndarray, points: np.ndarray) -> np.ndarray:
    h, w = labels.shape
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    xs, ys = np.floor(pts[:, 0]).astype(int), np.floor(pts[:, 1]).astype(int)
    bad = (xs < 0) | (xs >= w) | (ys < 0) | (ys >= h)
    if bad.any():
        i = int(np.argmax(bad))
        raise InputError(f"expected points inside the {w}x{h} image, found ({pts[i, 0]:g}, {pts[i, 1]:g})")
    return labels[ys, xs]


def masks_from_labelmap(
    labels: np.ndarray, prompts: Prompts, rule: BoxRule = BoxRule(), line: np.ndarray | None = None
) -> Masks:
    """Answer box, point and mask prompts from a label map int32 [H, W] (text is the caller's business).

    line: optional bool [H, W] line art; box and point answers take the outline around them.
    Returns Masks in the order: one per box, one per mask prompt, then one for the points when no box
    was given. With boxes, positive points add the segment under them to every box that contains them,
    negative points remove it.
    """
    labels = np.asarray(labels, dtype=np.int32)
    h, w = labels.shape
    out_masks: list[np.ndarray] = []
    scores: list[float] = []
    pos = neg = np.zeros(0, np.int64)
    pts = None
    if prompts.points is not None and len(prompts.points):
        pts = np.asarray(prompts.points, np.float64).reshape(-1, 2)
        plab = np.ones(len(pts), int) if prompts.point_labels is None else np.asarray(prompts.point_labels).reshape(-1)
        if plab.shape[0] != pts.shape[0]:
            raise InputError(f"expected one label per point, found {plab.shape[0]} labels for {pts.shape[0]} points")
        ids = _point_ids(labels, pts)
        pos, neg = ids[plab > 0], ids[plab <= 0]
    boxes = [] if prompts.boxes is None else np.asarray(prompts.boxes, np.float64).reshape(-1, 4)
    for box in boxes:
        add = pos
        if pts is not None:
            r0, r1, c0, c1 = box_bounds(box, (h, w))
            inb = (pts[:, 0] >= c0) & (pts[:, 0] < c1) & (pts[:, 1] >= r0) & (pts[:, 1] < r1)
            add = _point_ids(labels, pts[inb & (plab > 0)]) if inb.any() else np.zeros(0, np.int64)
        m, s = box_mask(labels, box, rule, add_ids=add, remove_ids=neg, line=line)
        out_masks.append(m)
        scores.append(s)
    if prompts.masks is not None:
        pm = np.asarray(prompts.masks).astype(bool)
        pm = pm[None] if pm.ndim == 2 else pm
        if pm.ndim != 3 or pm.shape[1:] != (h, w):
            raise InputError(f"expected mask prompts of shape [N, {h}, {w}], found {list(pm.shape)}")
        for m in pm:
            out_masks.append(clean_mask(m, rule.min_area))
            scores.append(1.0 if m.any() else 0.0)
    if pts is not None and not len(boxes):
        keep = np.zeros(int(labels.max()) + 1, bool)
        keep[pos] = True
        keep[neg] = False
        keep[0] = False
        out_masks.append(claim_outline(keep[labels], line, rule.outline_width))
        scores.append(1.0 if keep.any() else 0.0)
    if not out_masks:
        return Masks(masks=np.zeros((0, h, w), bool), scores=np.zeros(0, np.float32))
    return Masks(masks=np.stack(out_masks), scores=np.asarray(scores, np.float32))
