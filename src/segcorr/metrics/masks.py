"""Mask metrics: IoU, one-to-one instance matching and F1, Matthews correlation, COCO mask AP.

Pure functions on NumPy arrays; the segmentation evaluation (``segcorr.segment.evaluate``) accumulates
their inputs over a data set.

- ``mask_iou`` / ``pairwise_iou``: intersection over union of bool masks; two empty masks agree (IoU 1).
- ``match_instances``: one-to-one pairs of predicted and true instances with IoU >= a threshold, chosen by
  the Hungarian method so that the number of pairs is as large as possible (ties: the larger total IoU).
  Greedy matching by score can miss pairs when predictions overlap; the optimum cannot.
- ``f1_score``: 2 TP / (2 TP + FP + FN) from summed counts (micro average over queries).
- ``matthews_corrcoef``: MCC of two bool vectors.
- ``CocoMaskAP`` / ``coco_mask_ap``: COCO's mask AP (IoU 0.50:0.95, up to 100 detections) by ``pycocotools.COCOeval``,
  each query an "image" with one category: AP measures per-query instance detection, and detections on a
  query without instances (a negative phrase) are false positives.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Sequence

import numpy as np


def mask_iou(a: np.ndarray, b: np.ndarray) -> float:
    """IoU of two bool masks [H, W]; 1.0 when both are empty."""
    a, b = np.asarray(a, bool), np.asarray(b, bool)
    if a.shape != b.shape:
        raise ValueError(f"mask shapes differ: {a.shape} vs {b.shape}")
    union = int(np.count_nonzero(a | b))
    return 1.0 if union == 0 else int(np.count_nonzero(a & b)) / union


def pairwise_iou(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """IoU of every predicted mask with every true one. pred: bool [P, H, W]; gt: bool [G, H, W].

    Returns float64 [P, G]. Memory: one float32 copy of each stack (P*H*W and G*H*W values).
    """
    pred, gt = np.asarray(pred, bool), np.asarray(gt, bool)
    if pred.ndim != 3 or gt.ndim != 3 or pred.shape[1:] != gt.shape[1:]:
        raise ValueError(f"expected mask stacks [P, H, W] and [G, H, W], found {pred.shape} and {gt.shape}")
    if pred.shape[0] == 0 or gt.shape[0] == 0:
        return np.zeros((pred.shape[0], gt.shape[0]))
    p = pred.reshape(pred.shape[0], -1).astype(np.float32)
    g = gt.reshape(gt.shape[0], -1).astype(np.float32)
    inter = (p @ g.T).astype(np.float64)  # exact: counts below 2**24 per mask
    union = p.sum(1, dtype=np.float64)[:, None] + g.sum(1, dtype=np.float64)[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1), 1.0)


def match_instances(iou: np.ndarray, threshold: float = 0.5) -> list[tuple[int, int]]:
    """One-to-one (pred, gt) index pairs with IoU >= ``threshold``, as many as possible. iou: [P, G]."""
    from scipy.optimize import linear_sum_assignment

    iou = np.asarray(iou, np.float64)
    if iou.size == 0:
        return []
    ok = iou >= threshold
    # a pair is worth more than any sum of IoUs of fewer pairs: maximises the count, then the IoU
    weight = np.where(ok, min(iou.shape) + 1.0 + iou, 0.0)
    rows, cols = linear_sum_assignment(weight, maximize=True)
    return [(int(r), int(c)) for r, c in zip(rows, cols) if ok[r, c]]


def instance_counts(pred: np.ndarray, gt: np.ndarray, threshold: float = 0.5) -> tuple[int, int, int]:
    """(TP, FP, FN) of one query. pred: bool [P, H, W] (already filtered by score); gt: bool [G, H, W]."""
    tp = len(match_instances(pairwise_iou(pred, gt), threshold))
    return tp, int(pred.shape[0]) - tp, int(gt.shape[0]) - tp


def f1_score(tp: int, fp: int, fn: int) -> float | None:
    """2 TP / (2 TP + FP + FN); None when there is nothing to count (no instance, no prediction)."""
    den = 2 * tp + fp + fn
    return None if den == 0 else 2.0 * tp / den


def matthews_corrcoef(pred: Sequence[bool], truth: Sequence[bool]) -> float | None:
    """MCC of bool vectors [N]. None for N = 0; when a vector is constant the formula is 0/0 and the
    answer is 1.0 if pred equals truth, else 0.0 (scikit-learn says 0.0 in both cases)."""
    p, t = np.asarray(pred, bool).ravel(), np.asarray(truth, bool).ravel()
    if p.shape != t.shape:
        raise ValueError(f"expected vectors of one length, found {p.shape} and {t.shape}")
    if p.size == 0:
        return None
    tp = float(np.sum(p & t))
    tn = float(np.sum(~p & ~t))
    fp = float(np.sum(p & ~t))
    fn = float(np.sum(~p & t))
    den = (tp + fp) * (tp + fn) * (tn + fp) * (tn + fn)
    if den == 0:
        return 1.0 if bool(np.array_equal(p, t)) else 0.0
    return (tp * tn - fp * fn) / float(np.sqrt(den))


def encode_masks(masks: np.ndarray) -> list[dict]:
    """COCO RLEs of bool masks [N, H, W] (``pycocotools.mask.encode``; counts stay bytes, in memory only)."""
    from pycocotools import mask as mask_utils

    masks = np.asarray(masks, bool)
    if masks.shape[0] == 0:
        return []
    return mask_utils.encode(np.asfortranarray(masks.transpose(1, 2, 0).astype(np.uint8)))


class CocoMaskAP:
    """COCO mask AP at IoU 0.50:0.95 over queries (``COCOeval(iouType="segm").stats[0]``), accumulated.

    Each ``add`` is one query, an "image" of one category: predictions on a query without true instances
    (a negative phrase) are false positives. Masks are kept as RLEs only, so memory stays small.
    """

    def __init__(self) -> None:
        self.images: list[dict] = []
        self.gt: list[dict] = []
        self.dt: list[dict] = []

    def add(self, gt: np.ndarray, dt_masks: np.ndarray, dt_scores: np.ndarray) -> None:
        """gt: bool [G, H, W] true instances (G = 0: negative query); dt_masks: bool [P, H, W]; dt_scores: [P]."""
        from pycocotools import mask as mask_utils

        gt = np.asarray(gt, bool)
        q = len(self.images) + 1
        self.images.append({"id": q, "height": int(gt.shape[1]), "width": int(gt.shape[2])})
        for rle in encode_masks(gt):
            self.gt.append(
                {
                    "id": len(self.gt) + 1,
                    "image_id": q,
                    "category_id": 1,
                    "iscrowd": 0,
                    "segmentation": rle,
                    "area": float(mask_utils.area(rle)),
                    "bbox": [float(v) for v in mask_utils.toBbox(rle)],
                }
            )
        scores = np.asarray(dt_scores, np.float64).reshape(-1)
        rles = encode_masks(dt_masks)
        if len(rles) != scores.shape[0]:
            raise ValueError(f"query {q - 1}: {len(rles)} masks but {scores.shape[0]} scores")
        self.dt += [
            {"image_id": q, "category_id": 1, "segmentation": r, "score": float(sc)} for r, sc in zip(rles, scores)
        ]

    def result(self) -> float | None:
        """AP in 0..1; None when no query has a true instance (AP undefined), 0.0 when nothing was predicted."""
        from pycocotools.coco import COCO
        from pycocotools.cocoeval import COCOeval

        if not self.gt:
            return None
        if not self.dt:
            return 0.0
        with contextlib.redirect_stdout(io.StringIO()):  # COCO prints its progress and summary
            coco_gt = COCO()
            coco_gt.dataset = {
                "images": self.images,
                "annotations": self.gt,
                "categories": [{"id": 1, "name": "query"}],
            }
            coco_gt.createIndex()
            ev = COCOeval(coco_gt, coco_gt.loadRes(self.dt), iouType="segm")
            ev.evaluate()
            ev.accumulate()
            ev.summarize()
        return max(float(ev.stats[0]), 0.0)


def coco_mask_ap(
    gt: Sequence[np.ndarray], dt_masks: Sequence[np.ndarray], dt_scores: Sequence[np.ndarray]
) -> float | None:
    """``CocoMaskAP`` over lists: gt[q] bool [G_q, H, W], dt_masks[q] bool [P_q, H, W], dt_scores[q] [P_q]."""
    if not (len(gt) == len(dt_masks) == len(dt_scores)):
        raise ValueError(f"expected one entry per query, found {len(gt)}, {len(dt_masks)}, {len(dt_scores)}")
    acc = CocoMaskAP()
    for g, d, s in zip(gt, dt_masks, dt_scores):
        acc.add(g, d, s)
    return acc.result()
