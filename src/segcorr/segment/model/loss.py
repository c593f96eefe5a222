"""Losses of the concept model: the prompted (SAM) path and the concept (find) path.

Prompted path (SAM 2): focal + dice on the mask; for single clicks (multimask samples) only the best of the
three multimask outputs is trained (ambiguity); the IoU head regresses the true IoU of every output (MSE); the
object-score head learns that the prompted object is present (BCE).

Concept path (SAM 3 / DETR): per phrase, queries are matched one-to-one to ground-truth instances (Hungarian,
scipy) on a cost of score, box L1, box GIoU and mask dice; matched queries learn their instance's box (L1 +
GIoU) and mask (focal + dice); scores are trained only on phrases that are present (a query's score means
"this is an instance, given the phrase is here"); the presence head learns whether the phrase is in the image
at all (BCE). For a non-exhaustive query (``is_exhaustive`` False: some instances are unlabelled), unmatched
queries are not pushed down: one of them may be an unlabelled instance. Box and mask terms are divided by
the number of matched instances (``normalize_by_valid_object_num``), not by the number of queries.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class Sam3LossWeights:
    mask_focal: float = 20.0
    mask_dice: float = 1.0
    iou: float = 1.0
    obj: float = 1.0
    cls: float = 2.0
    box_l1: float = 5.0
    box_giou: float = 2.0
    find_mask_focal: float = 20.0
    find_mask_dice: float = 1.0
    presence: float = 2.0
    focal_alpha: float = 0.25
    focal_gamma: float = 2.0
    normalize_by_valid_object_num: bool = True
    # "balanced_bce": per-pixel BCE with positives weighted by each target's negative/positive ratio (capped at
    # ``max_pos_weight``); "focal": SAM's sigmoid focal loss. A small model trained from scratch for a few thousand
    # CPU steps stayed at empty masks under focal (alpha 0.25), and learned under balanced BCE.
    mask_loss: str = "balanced_bce"
    max_pos_weight: float = 10.0


def sigmoid_focal(logits: torch.Tensor, target: torch.Tensor, alpha: float = 0.25, gamma: float = 2.0) -> torch.Tensor:
    """Element-wise sigmoid focal loss (RetinaNet); soft targets allowed; alpha < 0 turns weighting off."""
    p = logits.sigmoid()
    ce = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    p_t = p * target + (1 - p) * (1 - target)
    loss = ce * (1 - p_t) ** gamma
    if alpha >= 0:
        loss = (alpha * target + (1 - alpha) * (1 - target)) * loss
    return loss


def balanced_bce(logits: torch.Tensor, target: torch.Tensor, max_pos_weight: float = 10.0) -> torch.Tensor:
    """[..., H, W] -> [...]: mean BCE with positives weighted by (negatives / positives) of each target, capped."""
    t = target.flatten(-2)
    pos = t.sum(-1, keepdim=True)
    w = ((t.shape[-1] - pos) / pos.clamp(min=1.0)).clamp(1.0, max_pos_weight)
    ce = F.binary_cross_entropy_with_logits(logits.flatten(-2), t, reduction="none")
    return (ce * (1 + (w - 1) * t)).mean(-1)


def dice_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """[..., H, W] -> [...]: 1 - 2|P.T| / (|P| + |T|) with P = sigmoid(logits)."""
    p = logits.sigmoid().flatten(-2)
    t = target.flatten(-2)
    return 1 - (2 * (p * t).sum(-1) + 1) / (p.sum(-1) + t.sum(-1) + 1)


def box_cxcywh_to_xyxy(b: torch.Tensor) -> torch.Tensor:
    cx, cy, w, h = b.unbind(-1)
    return torch.stack((cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2), -1)


def generalized_box_iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Pairwise GIoU of xyxy boxes: [N, 4] x [M, 4] -> [N, M]."""
    area_a = (a[:, 2] - a[:, 0]).clamp(min=0) * (a[:, 3] - a[:, 1]).clamp(min=0)
    area_b = (b[:, 2] - b[:, 0]).clamp(min=0) * (b[:, 3] - b[:, 1]).clamp(min=0)
    lt = torch.max(a[:, None, :2], b[None, :, :2])
    rb = torch.min(a[:, None, 2:], b[None, :, 2:])
    inter = (rb - lt).clamp(min=0).prod(-1)
    union = area_a[:, None] + area_b[None] - inter
    iou = inter / union.clamp(min=1e-6)
    lt2 = torch.min(a[:, None, :2], b[None, :, :2])
    rb2 = torch.max(a[:, None, 2:], b[None, :, 2:])
    hull = (rb2 - lt2).clamp(min=0).prod(-1)
    return iou - (hull - union) / hull.clamp(min=1e-6)


@torch.no_grad()
def hungarian_match(
    logits: torch.Tensor,
    boxes: torch.Tensor,
    masks: torch.Tensor,
    gt_boxes: torch.Tensor,
    gt_masks: torch.Tensor,
    w: Sam3LossWeights,
) -> tuple[np.ndarray, np.ndarray]:
    """One phrase: logits [Q], boxes [Q, 4] cxcywh, masks [Q, h, w] logits vs gt_boxes [N, 4], gt_masks [N, h, w].
    Returns (query indices, instance indices) of the minimum-cost one-to-one assignment."""
    from scipy.optimize import linear_sum_assignment

    p = logits.sigmoid()[:, None]
    a, g = w.focal_alpha, w.focal_gamma
    cost_cls = a * (1 - p) ** g * -(p + 1e-8).log() - (1 - a) * p**g * -(1 - p + 1e-8).log()
    cost_l1 = torch.cdist(boxes, gt_boxes, p=1)
    cost_giou = -generalized_box_iou(box_cxcywh_to_xyxy(boxes), box_cxcywh_to_xyxy(gt_boxes))
    pm = masks.sigmoid().flatten(1)
    tm = gt_masks.flatten(1)
    cost_dice = 1 - (2 * pm @ tm.T + 1) / (pm.sum(-1)[:, None] + tm.sum(-1)[None] + 1)
    cost = w.cls * cost_cls + w.box_l1 * cost_l1 + w.box_giou * cost_giou + 5.0 * cost_dice
    qi, ti = linear_sum_assignment(cost.float().cpu().numpy())
    return qi, ti


class Sam3Loss:
    """``loss(outputs, batch) -> (total, {name: float})`` for ``Sam3Image.forward`` outputs and
    ``segcorr.data.sam3_synth.collate`` batches."""

    def __init__(self, weights: Sam3LossWeights = Sam3LossWeights()) -> None:
        if weights.mask_loss not in ("balanced_bce", "focal"):
            raise ValueError(f"mask_loss must be 'balanced_bce' or 'focal', got {weights.mask_loss!r}")
        self.w = weights

    def _pixel_loss(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """[..., H, W] -> [...] per-mask pixel loss (``mask_loss``)."""
        if self.w.mask_loss == "focal":
            return sigmoid_focal(logits, target, self.w.focal_alpha, self.w.focal_gamma).flatten(-2).mean(-1)
        return balanced_bce(logits, target, self.w.max_pos_weight)

    def prompt_loss(self, out: dict[str, torch.Tensor], batch: dict) -> tuple[torch.Tensor, dict[str, float]]:
        w = self.w
        logits, iou_pred = out["all_masks"], out["all_iou"]  # [P, 4, h, w], [P, 4]
        target = batch["p_target"][:, None].expand_as(logits)
        focal = self._pixel_loss(logits, target)  # [P, 4]
        dice = dice_loss(logits, target)  # [P, 4]
        combo = w.mask_focal * focal + w.mask_dice * dice
        multi = batch["p_multimask"]
        best = combo[:, 1:].argmin(1) + 1
        idx = torch.where(multi, best, torch.zeros_like(best))
        rows = torch.arange(logits.shape[0], device=logits.device)
        mask_loss = combo[rows, idx].mean()
        with torch.no_grad():
            pm = logits > 0
            tm = target > 0.5
            inter = (pm & tm).flatten(2).sum(-1).float()
            union = (pm | tm).flatten(2).sum(-1).float()
            true_iou = torch.where(union > 0, inter / union.clamp(min=1), torch.ones_like(union))
        iou_loss = F.mse_loss(iou_pred, true_iou)
        obj = out["object_score_logits"][:, 0]
        obj_loss = F.binary_cross_entropy_with_logits(obj, torch.ones_like(obj))
        total = mask_loss + w.iou * iou_loss + w.obj * obj_loss
        chosen_iou = true_iou[rows, idx].mean()
        return total, {
            "prompt/mask": float(mask_loss.detach()),
            "prompt/iou_mse": float(iou_loss.detach()),
            "prompt/obj": float(obj_loss.detach()),
            "prompt/miou": float(chosen_iou.detach()),
        }

    def concept_loss(self, out: dict[str, torch.Tensor], batch: dict) -> tuple[torch.Tensor, dict[str, float]]:
        w = self.w
        logits, boxes, masks = out["pred_logits"], out["pred_boxes"], out["pred_masks"]
        positive, exhaustive = batch["c_positive"], batch["c_exhaustive"]
        dev = logits.device
        cls_target = torch.zeros_like(logits)
        cls_weight = torch.zeros_like(logits)
        m_q, m_t, m_pred_boxes, m_gt_boxes, m_pred_masks, m_gt_masks = [], [], [], [], [], []
        for t in range(logits.shape[0]):
            gt_m, gt_b = batch["c_masks"][t].to(dev), batch["c_boxes"][t].to(dev)
            if not bool(positive[t]) or gt_m.shape[0] == 0:
                continue
            qi, ti = hungarian_match(logits[t], boxes[t], masks[t], gt_b, gt_m, w)
            qi_t = torch.as_tensor(qi, device=dev, dtype=torch.long)
            ti_t = torch.as_tensor(ti, device=dev, dtype=torch.long)
            cls_target[t, qi_t] = 1.0
            if bool(exhaustive[t]):
                cls_weight[t] = 1.0
            else:  # only matched queries learn: an unmatched one may be an unlabelled instance
                cls_weight[t, qi_t] = 1.0
            m_pred_boxes.append(boxes[t, qi_t])
            m_gt_boxes.append(gt_b[ti_t])
            m_pred_masks.append(masks[t, qi_t])
            m_gt_masks.append(gt_m[ti_t])
            m_q.append(qi_t)
            m_t.append(ti_t)
        num = sum(len(q) for q in m_q)
        norm = float(max(num, 1)) if w.normalize_by_valid_object_num else float(max(len(m_q), 1))
        cls = (sigmoid_focal(logits, cls_target, w.focal_alpha, w.focal_gamma) * cls_weight).sum() / norm
        if num:
            pb, gb = torch.cat(m_pred_boxes), torch.cat(m_gt_boxes)
            pm, gm = torch.cat(m_pred_masks), torch.cat(m_gt_masks)
            l1 = (pb - gb).abs().sum() / norm
            giou = (1 - torch.diag(generalized_box_iou(box_cxcywh_to_xyxy(pb), box_cxcywh_to_xyxy(gb)))).sum() / norm
            mfocal = self._pixel_loss(pm, gm).sum() / norm
            mdice = dice_loss(pm, gm).sum() / norm
        else:
            zero = logits.sum() * 0
            l1 = giou = mfocal = mdice = zero
        presence = F.binary_cross_entropy_with_logits(out["presence_logit"], positive.float())
        total = (
            w.cls * cls
            + w.box_l1 * l1
            + w.box_giou * giou
            + w.find_mask_focal * mfocal
            + w.find_mask_dice * mdice
            + w.presence * presence
        )
        with torch.no_grad():
            pres_acc = ((out["presence_logit"] > 0) == positive).float().mean()
        return total, {
            "find/cls": float(cls.detach()),
            "find/l1": float(l1.detach()),
            "find/giou": float(giou.detach()),
            "find/mask": float(mfocal.detach()),
            "find/dice": float(mdice.detach()),
            "find/presence": float(presence.detach()),
            "find/presence_acc": float(pres_acc.detach()),
        }

    def __call__(self, outputs: dict, batch: dict) -> tuple[torch.Tensor, dict[str, float]]:
        total = None
        metrics: dict[str, float] = {}
        for key, fn in (("prompt", self.prompt_loss), ("concept", self.concept_loss)):
            if key in outputs:
                loss, m = fn(outputs[key], batch)
                total = loss if total is None else total + loss
                metrics.update(m)
        if total is None:
            raise ValueError("the batch has neither prompted samples nor phrases")
        return total, metrics
