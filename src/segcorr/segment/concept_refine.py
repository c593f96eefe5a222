"""From the concept detector's queries to the instances of a phrase (used by ``Sam3Predictor.predict_text``).

The detector gives, per phrase, ``Q`` query logits, one presence logit and ``Q`` stride-4 mask logits. An instance's
score is ``sigmoid(query_scale * query_logit + query_bias) * sigmoid(presence_scale * presence_logit +
presence_bias)``: the presence still multiplies every query's score, and the affine maps calibrate the two logits
for the weights at hand. Queries whose score reaches the predictor's ``text_threshold`` are ranked by score and
thinned by mask non-maximum suppression on their stride-4 masks (a query goes when its mask overlaps a better one
by more than ``nms_iou``).

Why a calibration: evaluations keep predictions at a fixed score (0.5 for cF1), but a small model's query logits
sit in a narrow band (for the stage-2 ``sam3_tiny`` almost every query probability is below 0.3, so no instance
ever reached 0.5). The defaults of ``ConceptConfig`` were chosen on validation images (seeds 500 000+) so that
0.5 is the operating point with the best instance F1 there; ``fit_query_calibration`` does that search for other
weights of the same architecture. ``ConceptConfig.identity()`` is the uncalibrated model (scores =
sigmoid(query) x sigmoid(presence), suppression at IoU 0.7, the behaviour before this option).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch


@dataclass
class ConceptResult:
    """Every instance of a phrase: masks [N, H, W] bool, scores [N] (presence x query score), boxes [N, 4]
    (x0, y0, x1, y1, pixels), presence (probability the phrase is in the image at all)."""

    masks: np.ndarray
    scores: np.ndarray
    boxes: np.ndarray
    presence: float


@dataclass(frozen=True)
class ConceptConfig:
    """Calibration of the query and presence logits and the suppression overlap (see the module docstring).

    Defaults: fitted on validation images for the shipped ``sam3_tiny`` with ``benchmarks/fit_concept_calibration.py
    --data VAL_CELS --data VAL_TEX`` (a grid of query scales and biases for the instance F1 at score 0.5); presence
    kept as it is. The fit's figures are in the weights README, section sam3_tiny."""

    query_scale: float = 4.0
    query_bias: float = 5.0
    presence_scale: float = 1.0
    presence_bias: float = 0.0
    nms_iou: float = 0.5

    @classmethod
    def identity(cls) -> ConceptConfig:
        """No calibration and suppression at IoU 0.7: the scores and instances of the model as it is."""
        return cls(query_scale=1.0, query_bias=0.0, presence_scale=1.0, presence_bias=0.0, nms_iou=0.7)


def concept_scores(
    query_logits: torch.Tensor, presence_logit: torch.Tensor | float, cfg: ConceptConfig
) -> tuple[torch.Tensor, float]:
    """query_logits [Q], presence_logit (a scalar) -> (scores [Q] in 0..1, presence probability)."""
    presence = float(torch.as_tensor(presence_logit).float().mul(cfg.presence_scale).add(cfg.presence_bias).sigmoid())
    scores = (query_logits.float() * cfg.query_scale + cfg.query_bias).sigmoid() * presence
    return scores, presence


def mask_nms(masks: torch.Tensor, iou: float, limit: int) -> list[int]:
    """masks bool [K, h, w], already ranked best first -> indices of the survivors (at most ``limit``): empty masks
    go, and so does a mask whose IoU with a kept one is above ``iou``."""
    flat = masks.reshape(len(masks), -1).float()
    area = flat.sum(1)
    inter = flat @ flat.T
    kept: list[int] = []
    for i in range(len(masks)):
        if area[i] == 0:
            continue
        if any(float(inter[i, j]) > iou * float(area[i] + area[j] - inter[i, j]) for j in kept):
            continue
        kept.append(i)
        if len(kept) == limit:
            break
    return kept


def fit_query_calibration(
    query_logits: Sequence[float],
    presence_logits: Sequence[float],
    is_match: Sequence[bool],
    n_instances: int,
    scales: Sequence[float] = (1.0, 1.5, 2.0, 3.0, 4.0),
    biases: Sequence[float] = tuple(np.arange(-1.0, 6.01, 0.25)),
    threshold: float = 0.5,
) -> tuple[float, float, float]:
    """Grid search of (query_scale, query_bias) for the best instance F1 at ``threshold``.

    Arguments: one entry per candidate instance of validation queries (after suppression): its query logit, its
    phrase's presence logit (already calibrated, if at all), whether it matches a true instance (IoU >= 0.5,
    one-to-one); ``n_instances``: the number of true instances of all those queries.
    Returns (scale, bias, F1); ties go to the first in grid order. F1 = 2 TP / (kept + n_instances)."""
    ql = np.asarray(query_logits, np.float64)
    presence = 1.0 / (1.0 + np.exp(-np.asarray(presence_logits, np.float64)))
    match = np.asarray(is_match, bool)
    best = (float(scales[0]), float(biases[0]), -1.0)
    for a in scales:
        for b in biases:
            keep = presence / (1.0 + np.exp(-(a * ql + b))) >= threshold
            den = int(keep.sum()) + int(n_instances)
            f1 = 2.0 * int((keep & match).sum()) / den if den else 0.0
            if f1 > best[2]:
                best = (float(a), float(b), f1)
    return best


def concept_instances(predictor: Any, out: dict, threshold: float) -> ConceptResult:
    """The detector's output for one phrase (``pred_logits`` [1, Q], ``presence_logit`` [1], ``pred_masks``
    [1, Q, h4, w4]) -> its instances on ``predictor``'s image: queries scored by ``predictor.concept``, those at
    or above ``threshold`` ranked, thinned by mask suppression (at most ``predictor.max_instances``), then
    resized and finished (``predictor.finish``); empty masks go."""
    cfg = predictor.concept
    scores, presence = concept_scores(out["pred_logits"][0], out["presence_logit"][0], cfg)
    order = torch.argsort(scores, descending=True)
    keep = [int(i) for i in order if float(scores[i]) >= threshold][: predictor.max_instances * 2]
    h, w = predictor.orig_hw
    masks = np.zeros((0, h, w), bool)
    if keep:  # suppression on the stride-4 masks, so only the survivors are resized and snapped
        survivors = mask_nms(out["pred_masks"][0, keep] > 0, cfg.nms_iou, predictor.max_instances)
        keep = [keep[i] for i in survivors]
    if keep:
        masks = predictor.finish(predictor.to_image(out["pred_masks"][0, keep]))
        nonempty = [k for k, m in enumerate(masks) if m.any()]
        masks, keep = masks[nonempty], [keep[k] for k in nonempty]
    sc = scores[keep].cpu().numpy().astype(np.float32)
    boxes = np.stack([mask_box(m) for m in masks]) if len(masks) else np.zeros((0, 4), np.float32)
    return ConceptResult(masks, sc, boxes, presence)


def mask_box(m: np.ndarray) -> np.ndarray:
    """bool [H, W], not empty -> float32 [4] box (x0, y0, x1, y1), pixels, exclusive right and bottom."""
    ys, xs = np.nonzero(m)
    return np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], np.float32)
