"""Pure mask helpers of the tracker: box, innermost point, box IoU, backward warp, cell shift, and the per-frame
resolution of overlapping masks."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def mask_box(m: np.ndarray) -> np.ndarray:
    """Bool mask [H, W] (not empty) -> float32 [4] x0, y0, x1, y1 (exclusive ends)."""
    ys, xs = np.nonzero(m)
    return np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], np.float32)


def innermost_point(m: np.ndarray) -> np.ndarray:
    """Centre (x, y) of the pixel of bool mask [H, W] farthest from its outside; among ties, the one nearest
    the ties' mean (the middle of a ridge, not its end)."""
    import cv2

    dist = cv2.distanceTransform(np.pad(m, 1).astype(np.uint8), cv2.DIST_L2, 3)[1:-1, 1:-1]
    cand = np.argwhere(dist >= dist.max() - 1e-4)
    y, x = cand[int(np.argmin(((cand - cand.mean(0)) ** 2).sum(1)))]
    return np.array([x + 0.5, y + 0.5], np.float32)


def edge_sliver(m: np.ndarray, band: int) -> bool:
    """Whether more than half of the pixels of bool mask [H, W] lie within ``band`` pixels of the frame edge (an
    object leaving or entering the frame); False for ``band`` 0 or an empty mask."""
    n = np.count_nonzero(m)
    if band <= 0 or not n:
        return False
    inner = np.count_nonzero(m[band:-band, band:-band]) if min(m.shape) > 2 * band else 0
    return n - inner > n / 2


def edge_touch(m: np.ndarray) -> int:
    """Pixels of bool mask [H, W] on the frame's outermost rows and columns (corners counted once)."""
    if min(m.shape) < 3:
        return int(np.count_nonzero(m))
    inner = np.count_nonzero(m[1:-1, 1:-1])
    return int(np.count_nonzero(m) - inner)


def box_iou(a: np.ndarray, b: np.ndarray) -> float:
    """IoU of two boxes [4] x0, y0, x1, y1; 0 when both are empty."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


def warp_backward(mask: np.ndarray, flow_back: np.ndarray) -> np.ndarray:
    """mask float [H, W] of frame t-1, flow_back float32 [2, H, W] (frame t -> t-1) -> float [H, W] on frame t:
    out(x) = mask(x + flow_back(x)), bilinear, 0 outside."""
    import cv2

    h, w = mask.shape
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return cv2.remap(
        mask.astype(np.float32),
        xs + flow_back[0],
        ys + flow_back[1],
        cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=0,
    )


def shift_cells(a: np.ndarray, dx: int, dy: int, fill: float) -> np.ndarray:
    """Translate a 2-D array by (dx, dy) cells, filling what enters with ``fill``."""
    if dx == 0 and dy == 0:
        return a
    out = np.full_like(a, fill)
    h, w = a.shape
    if abs(dx) >= w or abs(dy) >= h:
        return out
    ys, yd = (slice(0, h - dy), slice(dy, h)) if dy >= 0 else (slice(-dy, h), slice(0, h + dy))
    xs, xd = (slice(0, w - dx), slice(dx, w)) if dx >= 0 else (slice(-dx, w), slice(0, w + dx))
    out[yd, xd] = a[ys, xs]
    return out


def resolve_masks(
    probs: dict[int, np.ndarray], exact: set[int], finish: Callable[[np.ndarray], np.ndarray]
) -> dict[int, np.ndarray]:
    """Masks of one frame from probabilities {obj id: float [H, W]}: each object's finished (snapped) mask
    (``exact`` ones, given as prompts or detections, as they are), a pixel claimed by several going to the most
    probable. ``finish``: float [N, H, W] -> bool [N, H, W]. Returns obj id -> bool [H, W]."""
    if not probs:
        return {}
    ids = list(probs)
    stack = np.stack([probs[i] for i in ids])
    snap = [k for k, i in enumerate(ids) if i not in exact]
    snapped = stack > 0.5
    if snap:
        snapped[snap] = finish(stack[snap])
    if len(ids) > 1:
        score = np.where(snapped, stack, -1.0)
        win = np.argmax(score, axis=0)
        snapped &= win[None] == np.arange(len(ids))[:, None, None]
    return {i: snapped[k] for k, i in enumerate(ids)}
