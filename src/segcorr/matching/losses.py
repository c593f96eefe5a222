"""AS-Mamba training loss: L = w1 L_coarse + w2 L_fine + w3 L_flow + w4 L_geom.

- L_coarse (LoFTR/JamMa): focal loss on the dual-softmax confidence matrix. Positives: the mutual GT pairs;
  negatives: every other entry whose row and column cells are not ignored (``supervision.py``: ignored = padded,
  or visible without a one-to-one partner). pos: -a (1-p)^g log p, neg: -a p^g log(1-p), a = 0.25, g = 2; the
  two means are weighted and summed.
- L_fine (LoFTR): squared L2 between the predicted and the true normalised sub-pixel offsets (``expec_f``,
  window units), on the fine predictions made at GT pairs whose true position is inside the window; weighted
  by the inverse of the heatmap's std (normalised to mean 1, no gradient) as LoFTR's l2_with_std, optional.
- L_flow (ASpanFormer's ProbLoss): s + exp(-s) (gt - pred)^2 per axis, summed over x and y, mean over visible
  cells, mean over every block's Phi and both images. Coordinates are coarse-grid cells. ASpanFormer scales this
  term by 0.1 inside its loss and again by its 0.1 config weight (0.01 in effect); here the weight is applied
  once, deliberately: w3 (default 0.1) is the only factor. In cell units the ProbLoss is O(1) at its optimum
  (s ~ log err^2), the scale of the focal loss, and Phi places the local path's span, so an effective 0.01
  would leave the span uninformed for most of training.
- L_geom (new): binary cross-entropy of the geometry head's matchability logit of every cell (after the
  initializer and after each block) against "this cell's centre is visible in the other image". Why this
  target: the geometry features exist to place the adaptive span and to carry the flow's uncertainty; knowing
  whether a cell has a correspondence at all is the first thing they need (an unmatchable cell should get a
  large s and no confident match), the label is dense (every real cell has one, unlike the sparse one-to-one
  coarse GT and unlike L_flow, which sees only visible cells), and it costs one 1x1 convolution. The logit also
  lets the geometry stream carry occlusion cues that the descriptor-focused F_match need not encode.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from segcorr.matching.supervision import batch_supervision, coarse_grid_coords, fine_targets


@dataclass(frozen=True)
class LossWeights:
    """Weights of the four terms and the focal-loss settings."""

    coarse: float = 1.0
    fine: float = 1.0
    flow: float = 0.1
    geom: float = 0.1
    focal_alpha: float = 0.25
    focal_gamma: float = 2.0
    pos_weight: float = 1.0
    neg_weight: float = 1.0
    fine_std_weighting: bool = True


def focal_loss(
    conf: torch.Tensor,
    b_ids: torch.Tensor,
    i_ids: torch.Tensor,
    j_ids: torch.Tensor,
    state0: torch.Tensor,
    state1: torch.Tensor,
    w: LossWeights = LossWeights(),
) -> torch.Tensor:
    """Focal loss on conf [B, N0, N1]; GT pairs (b, i, j) [M]; cell states [B, N0] / [B, N1] (-1 = ignored)."""
    p = conf.clamp(1e-6, 1 - 1e-6)
    pos = torch.zeros_like(conf, dtype=torch.bool)
    pos[b_ids, i_ids, j_ids] = True
    neg = (state0 != -1)[:, :, None] & (state1 != -1)[:, None, :] & ~pos
    a, g = w.focal_alpha, w.focal_gamma
    loss = conf.sum() * 0.0
    if pos.any():
        pp = p[pos]
        loss = loss + w.pos_weight * (-a * (1 - pp) ** g * torch.log(pp)).mean()
    if neg.any():
        pn = p[neg]
        loss = loss + w.neg_weight * (-a * pn**g * torch.log(1 - pn)).mean()
    return loss


def prob_loss(phi: torch.Tensor, gt: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """ProbLoss of phi [B, N, 4] (x, y, s_x, s_y) against gt [B, N, 2] on valid [B, N] cells (0 if none)."""
    if not valid.any():
        return phi.sum() * 0.0
    pred, s = phi[valid][:, :2], phi[valid][:, 2:]
    return (s + torch.exp(-s) * (gt[valid] - pred) ** 2).sum(-1).mean()


class ASMambaLoss(nn.Module):
    """``loss(outputs, data) -> (loss, {name: float})``.

    Reads from ``outputs``: conf_matrix [B, N0, N1]; hw0_c, hw1_c (coarse grid sizes); phi0 / phi1 (lists of
    [B, h, w, 4], one per block); match_logits0 / match_logits1 (lists of [B, h, w]); expec_f [Mf, 3],
    fine_b_ids, fine_i_ids, fine_centre1 [Mf, 2], fine_is_gt [Mf] bool, fine_radius (float); the ``spv_*``
    ground truth when the model computed it, otherwise it is derived here from ``data``'s corr01, valid01,
    corr10, valid10 (and mask0 / mask1 if present).
    """

    def __init__(self, weights: LossWeights = LossWeights()) -> None:
        super().__init__()
        self.w = weights

    def forward(self, outputs: dict, data: dict):
        spv = outputs if "spv_state0" in outputs else batch_supervision(data, 8)
        w = self.w
        l_coarse = focal_loss(
            outputs["conf_matrix"],
            spv["spv_b_ids"],
            spv["spv_i_ids"],
            spv["spv_j_ids"],
            spv["spv_state0"],
            spv["spv_state1"],
            w,
        )
        l_fine = self._fine(outputs, spv)
        gt1, gt0 = coarse_grid_coords(spv["spv_pt1"]), coarse_grid_coords(spv["spv_pt0"])
        flows = [prob_loss(p.flatten(1, 2), gt1, spv["spv_vis0"]) for p in outputs["phi0"]]
        flows += [prob_loss(p.flatten(1, 2), gt0, spv["spv_vis1"]) for p in outputs["phi1"]]
        zero = outputs["conf_matrix"].sum() * 0.0
        l_flow = torch.stack(flows).mean() if flows else zero
        geoms = [self._bce(lg, spv["spv_vis0"], spv["spv_real0"]) for lg in outputs["match_logits0"]]
        geoms += [self._bce(lg, spv["spv_vis1"], spv["spv_real1"]) for lg in outputs["match_logits1"]]
        l_geom = torch.stack(geoms).mean()
        total = w.coarse * l_coarse + w.fine * l_fine + w.flow * l_flow + w.geom * l_geom
        stats = {
            "loss": total.item(),
            "loss_coarse": l_coarse.item(),
            "loss_fine": l_fine.item(),
            "loss_flow": l_flow.item(),
            "loss_geom": l_geom.item(),
            "gt_matches": float(len(spv["spv_b_ids"])),
        }
        return total, stats

    @staticmethod
    def _bce(logits: torch.Tensor, target: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
        lg = logits.flatten(1)
        if not real.any():
            return lg.sum() * 0.0
        return F.binary_cross_entropy_with_logits(lg[real], target[real].to(lg.dtype))

    def _fine(self, outputs: dict, spv: dict) -> torch.Tensor:
        expec = outputs["expec_f"]
        gt = outputs["fine_is_gt"]
        target, ok = fine_targets(
            spv["spv_pt1"],
            spv["spv_vis0"],
            outputs["fine_b_ids"],
            outputs["fine_i_ids"],
            outputs["fine_centre1"],
            outputs["fine_radius"],
        )
        ok = ok & gt
        if not ok.any():
            return expec.sum() * 0.0
        err = ((expec[ok, :2] - target[ok]) ** 2).sum(-1)
        if not self.w.fine_std_weighting:
            return err.mean()
        inv_std = 1.0 / expec[ok, 2].detach().clamp(min=1e-10)
        return (err * inv_std / inv_std.mean()).mean()
