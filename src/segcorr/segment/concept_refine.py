"""From the concept detector's queries to the instances of a phrase (used by ``Sam3Predictor.predict_text``).

The detector gives, per phrase, ``Q`` query logits, one presence logit and ``Q`` stride-4 mask logits. An instance's
score is ``sigmoid(query_scale * query_logit + query_bias) * sigmoid(presence_scale * presence_logit +
presence_bias)``: the presence still multiplies every query's score, and the affine maps calibrate the two logits
for the weights at hand. For a colour phrase ("red hair", "blue shoes") the colour check adds evidence from
the image's own colours to both logits (``ConceptConfig``'s colour fields, ``segment.concept_colour``). Queries
whose score reaches the predictor's ``text_threshold`` are ranked by score and thinned by mask non-maximum
suppression on their stride-4 masks (a query goes when its mask overlaps a better one by more than ``nms_iou``).

Why a calibration: evaluations keep predictions at a fixed score (0.5 for cF1), but a small model's query logits
sit in a narrow band (for the stage-2 ``sam3_tiny`` almost every query probability is below 0.3, so no instance
ever reached 0.5). The defaults of ``ConceptConfig`` were chosen on validation images (seeds 500 000+) so that
0.5 is the operating point with the best instance F1 there and presence 0.5 the decision of a logistic fit of "the
phrase is present"; ``segment.concept_fit`` does that fit for other weights of the same architecture.
``ConceptConfig.identity()`` is the uncalibrated model (scores = sigmoid(query) x sigmoid(presence), no colour
check, suppression at IoU 0.7, the behaviour before this option).
"""

from __future__ import annotations

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
    """Calibration of the query and presence logits, the colour check and the suppression overlap (see the module
    docstring).

    The presence logit is ``presence_scale * presence_logit + presence_bias``, plus, for a colour phrase ("red hair",
    "blue shoes", ``concept_colour.phrase_colour``) when ``concept_instances`` is given the phrase,
    ``colour_presence_bias + colour_presence_weight * share``, where ``share`` is the mean colour share of the
    phrase's queries weighted by their calibrated query probabilities (``concept_colour.colour_shares``: the
    fraction of a query's stride-4 mask whose nearest named colour in the image is the phrase's colour). A colour
    phrase's query logits also get ``colour_query_weight * (share_q - 0.5)`` (its own share): a query on a region
    of the asked colour rises, one on another colour falls. With all colour fields 0 (``identity()``) the colour
    check is off.

    Defaults: fitted on validation images for the shipped ``sam3_tiny`` with ``benchmarks/fit_concept_calibration.py
    --data VAL_CELS --data VAL_TEX``: the colour presence fields by a logistic fit of "the phrase is present" on the
    colour phrases (the presence of other phrases kept as the model gives it: a refit of presence_scale and
    presence_bias did not help on both styles), the colour query weight by a grid for the instance F1 at score 0.5
    (it is large: a colour phrase's query on another colour is all but dropped). The query scale and bias stay
    those of the previous fit: the grid's other best bias (4.5) was no better on cels and worse on the textured
    style and on phrases without a colour. The fit's figures are in the weights README, section sam3_tiny."""

    query_scale: float = 4.0
    query_bias: float = 5.0
    presence_scale: float = 1.0
    presence_bias: float = 0.0
    nms_iou: float = 0.5
    colour_presence_weight: float = 4.85
    colour_presence_bias: float = 0.07
    colour_query_weight: float = 16.0

    @classmethod
    def identity(cls) -> ConceptConfig:
        """No calibration, no colour check and suppression at IoU 0.7: the scores and instances of the model as it
        is."""
        return cls(
            query_scale=1.0,
            query_bias=0.0,
            presence_scale=1.0,
            presence_bias=0.0,
            nms_iou=0.7,
            colour_presence_weight=0.0,
            colour_presence_bias=0.0,
            colour_query_weight=0.0,
        )

    @property
    def colour_check(self) -> bool:
        """Whether any colour field is on (only then are colour shares computed)."""
        return bool(self.colour_presence_weight or self.colour_presence_bias or self.colour_query_weight)


def concept_scores(
    query_logits: torch.Tensor,
    presence_logit: torch.Tensor | float,
    cfg: ConceptConfig,
    shares: np.ndarray | None = None,
) -> tuple[torch.Tensor, float]:
    """query_logits [Q], presence_logit (a scalar) -> (scores [Q] in 0..1, presence probability). ``shares`` [Q]:
    the colour shares of a colour phrase's queries (``concept_colour.colour_shares``), None for other phrases or
    when the colour check is off."""
    ql = query_logits.float() * cfg.query_scale + cfg.query_bias
    pl = torch.as_tensor(presence_logit).float().mul(cfg.presence_scale).add(cfg.presence_bias)
    if shares is not None:
        share = torch.as_tensor(np.asarray(shares), dtype=ql.dtype, device=ql.device)
        weight = ql.sigmoid()
        pl = pl + cfg.colour_presence_bias + cfg.colour_presence_weight * (share * weight).sum() / weight.sum()
        ql = ql + cfg.colour_query_weight * (share - 0.5)
    presence = float(pl.sigmoid())
    return ql.sigmoid() * presence, presence


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


def phrase_shares(predictor: Any, out: dict, text: str | None) -> np.ndarray | None:
    """The colour shares [Q] of a colour phrase's queries on ``predictor``'s image (``concept_colour``), or None when
    ``text`` is None or names no colour."""
    from segcorr.segment.concept_colour import colour_index, colour_shares, phrase_colour

    colour = phrase_colour(text) if text else None
    if colour is None:
        return None
    image = getattr(predictor, "image", None)
    image = predictor._image if image is None else image  # the predictor has no public image view yet
    masks = out["pred_masks"][0].detach().float().cpu().numpy()
    return colour_shares(masks, colour_index(image, predictor.scaled_hw, masks.shape[-2:]), colour)


def ranked_queries(
    query_logits: torch.Tensor,
    presence_logit: torch.Tensor | float,
    small_masks: torch.Tensor,
    cfg: ConceptConfig,
    shares: np.ndarray | None,
    threshold: float,
    limit: int,
) -> tuple[list[int], torch.Tensor, float]:
    """Scores of a phrase's Q queries (``concept_scores``), those at or above ``threshold`` ranked best first and
    thinned by ``mask_nms`` on small_masks (bool [Q, h, w]) to at most ``limit`` -> (kept query indices, scores [Q]
    of every query, presence). The one ranking of ``concept_instances`` and of the fits' replay."""
    scores, presence = concept_scores(query_logits, presence_logit, cfg, shares)
    order = torch.argsort(scores, descending=True)
    keep = [int(i) for i in order if float(scores[i]) >= threshold][: limit * 2]
    if keep:
        survivors = mask_nms(small_masks[keep], cfg.nms_iou, limit)
        keep = [keep[i] for i in survivors]
    return keep, scores, presence


def concept_instances(predictor: Any, out: dict, threshold: float, text: str | None = None) -> ConceptResult:
    """The detector's output for one phrase (``pred_logits`` [1, Q], ``presence_logit`` [1], ``pred_masks``
    [1, Q, h4, w4]) -> its instances on ``predictor``'s image: queries scored by ``predictor.concept`` (the colour
    check needs the phrase, ``text``), those at or above ``threshold`` ranked, thinned by mask suppression (at most
    ``predictor.max_instances``), then resized and finished (``predictor.finish``); empty masks go."""
    cfg = predictor.concept
    shares = phrase_shares(predictor, out, text) if cfg.colour_check else None
    small = out["pred_masks"][0] > 0  # suppression on the stride-4 masks, so only the survivors are resized and snapped
    keep, scores, presence = ranked_queries(
        out["pred_logits"][0], out["presence_logit"][0], small, cfg, shares, threshold, predictor.max_instances
    )
    h, w = predictor.orig_hw
    masks = np.zeros((0, h, w), bool)
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
