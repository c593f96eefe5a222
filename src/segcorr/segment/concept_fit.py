"""Fitting ``ConceptConfig`` on validation phrases (used by ``benchmarks/fit_concept_calibration.py``).

A ``PhraseRecord`` keeps what the phrase answer needs from the detector (query and presence logits, stride-4 query
masks, the colour shares of a colour phrase) and the IoU of every query's finished mask with every true instance,
so that any configuration's answer can be replayed without the network: ``replay`` scores, ranks and suppresses
exactly as ``concept_refine.concept_instances`` does and counts the instance F1 at a score cut-off and the presence
decisions. ``fit_presence`` fits the presence and colour fields by logistic regression of "the phrase is present";
``fit_queries`` grids the query scale, bias and colour weight for the best instance F1.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from segcorr.segment.concept_refine import ConceptConfig, ranked_queries


@dataclass(frozen=True)
class PhraseRecord:
    """One validation phrase on one image: query_logits float [Q], presence_logit, small_masks bool [Q, h4, w4]
    (stride-4 masks, logit > 0), shares float [Q] or None (colour shares, ``concept_colour``), iou float [Q, G] (each
    query's finished mask against the G true instances; G = 0 for an absent phrase), empty bool [Q] (finished mask
    empty)."""

    query_logits: np.ndarray
    presence_logit: float
    small_masks: np.ndarray
    shares: np.ndarray | None
    iou: np.ndarray
    empty: np.ndarray

    @property
    def positive(self) -> bool:
        return self.iou.shape[1] > 0


def answer(
    rec: PhraseRecord, cfg: ConceptConfig, threshold: float, max_instances: int
) -> tuple[list[int], np.ndarray, float]:
    """(kept query indices best first, their scores, presence) as ``concept_instances`` gives them."""
    keep, scores, presence = ranked_queries(
        torch.from_numpy(rec.query_logits),
        rec.presence_logit,
        torch.from_numpy(rec.small_masks),
        cfg,
        rec.shares,
        threshold,
        max_instances,
    )
    keep = [k for k in keep if not rec.empty[k]]  # a finished mask that came out empty is dropped
    return keep, scores[keep].numpy(), presence


def replay(
    records: Sequence[PhraseRecord],
    cfg: ConceptConfig,
    cut: float = 0.5,
    threshold: float = 0.2,
    max_instances: int = 16,
) -> dict[str, float | int | None]:
    """Instance F1 at IoU 0.5 of the answers' instances with score >= ``cut`` and the MCC of presence >= 0.5 (the
    evaluation protocol's ``cf1`` and ``il_mcc``), with their counts."""
    from segcorr.metrics.masks import f1_score, match_instances, matthews_corrcoef

    tp = fp = fn = 0
    said = []
    for rec in records:
        keep, scores, presence = answer(rec, cfg, threshold, max_instances)
        kept = [k for k, s in zip(keep, scores) if s >= cut]
        hit = len(match_instances(rec.iou[kept], 0.5)) if kept and rec.positive else 0
        tp, fp, fn = tp + hit, fp + len(kept) - hit, fn + rec.iou.shape[1] - hit
        said.append(presence >= 0.5)
    return {
        "cf1": f1_score(tp, fp, fn),
        "il_mcc": matthews_corrcoef(said, [r.positive for r in records]),
        "tp": tp,
        "fp": fp,
        "fn": fn,
    }


def logistic(
    x: np.ndarray, y: np.ndarray, l2: float = 1e-3, steps: int = 100, offset: np.ndarray | None = None
) -> np.ndarray:
    """Weights [F] of a logistic regression of bool y [N] on x [N, F] (Newton's method, L2 penalty ``l2``); with
    ``offset`` [N] the logit is ``offset + x @ w``."""
    w = np.zeros(x.shape[1])
    off = np.zeros(len(y)) if offset is None else np.asarray(offset, np.float64)
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-(off + x @ w)))
        grad = x.T @ (p - y) / len(y) + l2 * w
        hess = (x * (p * (1 - p))[:, None]).T @ x / len(y) + l2 * np.eye(len(w))
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-9:
            break
    return w


def presence_features(rec: PhraseRecord, cfg: ConceptConfig) -> np.ndarray:
    """[presence logit, is a colour phrase, weighted colour share (0 for other phrases), 1]; the share is weighted
    by the calibrated query probabilities of ``cfg``, as ``concept_scores`` does."""
    if rec.shares is None:
        return np.array([rec.presence_logit, 0.0, 0.0, 1.0])
    weight = 1.0 / (1.0 + np.exp(-(cfg.query_scale * rec.query_logits.astype(np.float64) + cfg.query_bias)))
    return np.array([rec.presence_logit, 1.0, float((rec.shares * weight).sum() / weight.sum()), 1.0])


def fit_presence(
    records: Sequence[PhraseRecord], cfg: ConceptConfig, colour: bool = True, base: bool = True
) -> ConceptConfig:
    """``cfg`` with presence fields from logistic regressions of "the phrase is present" on ``presence_features``:
    with ``base``, presence_scale and presence_bias on all phrases (``cfg``'s otherwise); then, with ``colour``,
    colour_presence_bias and colour_presence_weight on the colour phrases alone, their calibrated presence logit as
    the offset (so the other phrases' presence does not move with the colour phrases)."""
    x = np.stack([presence_features(r, cfg) for r in records])
    y = np.array([r.positive for r in records], np.float64)
    scale, bias = cfg.presence_scale, cfg.presence_bias
    if base:
        scale, bias = (float(v) for v in logistic(x[:, [0, 3]], y))
    cb = cw = 0.0
    is_colour = x[:, 1] > 0
    if colour and is_colour.any():
        cb, cw = (
            float(v) for v in logistic(x[is_colour][:, [1, 2]], y[is_colour], offset=scale * x[is_colour, 0] + bias)
        )
    return dataclasses.replace(
        cfg, presence_scale=scale, presence_bias=bias, colour_presence_bias=cb, colour_presence_weight=cw
    )


def fit_queries(
    records: Sequence[PhraseRecord],
    cfg: ConceptConfig,
    scales: Sequence[float],
    biases: Sequence[float],
    colour_weights: Sequence[float] = (0.0,),
) -> tuple[ConceptConfig, float]:
    """The (query_scale, query_bias, colour_query_weight) of the grid with the best replayed instance F1 at 0.5
    (ties: the first in grid order), and that F1."""
    best, best_f1 = cfg, -1.0
    for a, b, c in itertools.product(scales, biases, colour_weights):
        trial = dataclasses.replace(cfg, query_scale=float(a), query_bias=float(b), colour_query_weight=float(c))
        f1 = replay(records, trial)["cf1"] or 0.0
        if f1 > best_f1:
            best, best_f1 = trial, f1
    return best, best_f1
