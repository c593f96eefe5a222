"""The concept model's losses: Hungarian matching, the non-exhaustive rule, normalisation, prompt losses."""

from __future__ import annotations

import torch

from segcorr.segment.model.loss import Sam3Loss, Sam3LossWeights, dice_loss, generalized_box_iou, hungarian_match


def _square(h, w, y0, y1, x0, x1):
    m = torch.zeros(h, w)
    m[y0:y1, x0:x1] = 1
    return m


def _concept_batch(exhaustive: bool):
    h = w = 16
    gt = _square(h, w, 2, 8, 2, 8)[None]
    box = torch.tensor([[5 / 16, 5 / 16, 6 / 16, 6 / 16]])
    return {
        "c_positive": torch.tensor([True]),
        "c_exhaustive": torch.tensor([exhaustive]),
        "c_masks": [gt],
        "c_boxes": [box],
    }


def _concept_out(q: int = 3, unmatched_logit: float = 5.0):
    h = w = 16
    masks = torch.full((1, q, h, w), -8.0)
    masks[0, 0] = _square(h, w, 2, 8, 2, 8) * 16 - 8  # query 0 = the instance
    boxes = torch.full((1, q, 4), 0.8)
    boxes[0, 0] = torch.tensor([5 / 16, 5 / 16, 6 / 16, 6 / 16])
    logits = torch.full((1, q), unmatched_logit)
    logits[0, 0] = 6.0
    return {"pred_logits": logits, "pred_boxes": boxes, "pred_masks": masks, "presence_logit": torch.tensor([5.0])}


def test_hungarian_assigns_the_matching_query():
    out = _concept_out()
    b = _concept_batch(True)
    qi, ti = hungarian_match(
        out["pred_logits"][0],
        out["pred_boxes"][0],
        out["pred_masks"][0],
        b["c_boxes"][0],
        b["c_masks"][0],
        Sam3LossWeights(),
    )
    assert qi.tolist() == [0] and ti.tolist() == [0]


def test_unmatched_predictions_cost_nothing_on_non_exhaustive_queries():
    loss = Sam3Loss()
    low = loss.concept_loss(_concept_out(unmatched_logit=-6.0), _concept_batch(False))[1]["find/cls"]
    high = loss.concept_loss(_concept_out(unmatched_logit=6.0), _concept_batch(False))[1]["find/cls"]
    assert abs(low - high) < 1e-6  # confident unmatched queries are not penalised
    low_e = loss.concept_loss(_concept_out(unmatched_logit=-6.0), _concept_batch(True))[1]["find/cls"]
    high_e = loss.concept_loss(_concept_out(unmatched_logit=6.0), _concept_batch(True))[1]["find/cls"]
    assert high_e > low_e + 0.1  # on exhaustive queries they are


def test_negative_phrase_trains_presence_only():
    loss = Sam3Loss()
    b = {
        "c_positive": torch.tensor([False]),
        "c_exhaustive": torch.tensor([True]),
        "c_masks": [torch.zeros(0, 16, 16)],
        "c_boxes": [torch.zeros(0, 4)],
    }
    out = _concept_out(unmatched_logit=6.0)
    out["pred_logits"] = out["pred_logits"].requires_grad_()
    total, m = loss.concept_loss(out, b)
    assert m["find/cls"] == 0.0 and m["find/presence"] > 1.0  # presence 5.0 on an absent phrase
    total.backward()
    assert out["pred_logits"].grad is None or out["pred_logits"].grad.abs().sum() == 0


def test_box_and_mask_terms_are_normalised_by_object_count():
    w = Sam3LossWeights(normalize_by_valid_object_num=True)
    out = _concept_out()
    out["pred_boxes"] = out["pred_boxes"] + 0.05
    one = Sam3Loss(w).concept_loss(out, _concept_batch(True))[1]["find/l1"]
    two_out = {k: torch.cat([v, v]) for k, v in out.items()}
    b = _concept_batch(True)
    two_b = {k: (v + v if isinstance(v, list) else torch.cat([v, v])) for k, v in b.items()}
    two = Sam3Loss(w).concept_loss(two_out, two_b)[1]["find/l1"]
    assert abs(one - two) < 1e-5  # twice the objects, twice the error, same normalised loss


def test_giou_and_dice_values():
    a = torch.tensor([[0.0, 0.0, 1.0, 1.0]])
    assert torch.allclose(generalized_box_iou(a, a), torch.ones(1, 1))
    far = torch.tensor([[2.0, 0.0, 3.0, 1.0]])
    assert float(generalized_box_iou(a, far)) < 0
    t = _square(8, 8, 0, 4, 0, 8)
    assert float(dice_loss(t * 20 - 10, t)) < 0.01 and float(dice_loss(-t * 20 + 10, t)) > 0.9


def test_prompt_loss_trains_best_multimask_output_only():
    h = w = 8
    target = _square(h, w, 0, 4, 0, 8)[None]
    good = target * 20 - 10
    all_masks = torch.stack([-good, -good, good, -good], 1)  # only output 2 is right
    out = {
        "all_masks": all_masks,
        "all_iou": torch.tensor([[0.0, 0.0, 1.0, 0.0]]),
        "object_score_logits": torch.tensor([[5.0]]),
    }
    multi = Sam3Loss().prompt_loss(out, {"p_target": target, "p_multimask": torch.tensor([True])})[1]
    single = Sam3Loss().prompt_loss(out, {"p_target": target, "p_multimask": torch.tensor([False])})[1]
    assert multi["prompt/mask"] < 0.05 < single["prompt/mask"]
    assert multi["prompt/miou"] == 1.0 and multi["prompt/iou_mse"] < 1e-6


def test_balanced_bce_weights_positives_by_their_rarity():
    from segcorr.segment.model.loss import balanced_bce

    t = torch.zeros(1, 10, 10)
    t[0, 0, :5] = 1  # 5 positives, 95 negatives: weight capped at 10
    miss_pos = balanced_bce(torch.where(t > 0, -5.0, -5.0), t)  # everything predicted negative
    miss_neg = balanced_bce(torch.where(t > 0, 5.0, 5.0), t)  # everything predicted positive
    assert float(balanced_bce(t * 20 - 10, t)) < 1e-3
    # unweighted, predicting all-negative would be far cheaper than all-positive; weighted the gap shrinks
    assert float(miss_pos) > 5 * 5.0 * 10 / 100 * 0.99
    assert float(miss_neg) > float(miss_pos)
