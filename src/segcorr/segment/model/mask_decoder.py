"""``MaskDecoder`` (SAM 2): masks from image features and prompt tokens, with IoU and object-score heads.

Outputs 1 + ``num_multimask_outputs`` (3) masks per prompt: index 0 is the single-mask answer, 1..3 the multimask
answers for ambiguous prompts. ``_dynamic_multimask_via_stability`` (inference only, when one mask is asked for):
keep the single mask if its stability score (area(logits > delta) / area(logits > -delta)) is at least
``stability_thresh``, else take the multimask output with the highest predicted IoU.
"""

from __future__ import annotations

import torch
from torch import nn

from segcorr.segment.model.common import MLP, LayerNorm2d
from segcorr.segment.model.transformer import TwoWayTransformer


def stability_scores(mask_logits: torch.Tensor, delta: float) -> torch.Tensor:
    """[..., H, W] logits -> [...]: area(logits > delta) / area(logits > -delta), 1 where both are empty."""
    flat = mask_logits.flatten(-2)
    inter = (flat > delta).sum(-1).float()
    union = (flat > -delta).sum(-1).float()
    return torch.where(union > 0, inter / union.clamp(min=1), torch.ones_like(inter))


class MaskDecoder(nn.Module):
    def __init__(
        self,
        dim: int,
        transformer: TwoWayTransformer,
        num_multimask_outputs: int = 3,
        iou_head_depth: int = 3,
        iou_head_hidden_dim: int = 128,
        use_high_res_features: bool = True,
        pred_obj_scores: bool = True,
        dynamic_multimask_via_stability: bool = True,
        dynamic_multimask_stability_delta: float = 0.05,
        dynamic_multimask_stability_thresh: float = 0.98,
    ) -> None:
        super().__init__()
        self.transformer = transformer
        self.num_mask_tokens = num_multimask_outputs + 1
        self.iou_token = nn.Embedding(1, dim)
        self.mask_tokens = nn.Embedding(self.num_mask_tokens, dim)
        self.obj_score_token = nn.Embedding(1, dim) if pred_obj_scores else None
        self.output_upscaling = nn.Sequential(
            nn.ConvTranspose2d(dim, dim // 4, 2, 2),
            LayerNorm2d(dim // 4),
            nn.GELU(),
            nn.ConvTranspose2d(dim // 4, dim // 8, 2, 2),
            nn.GELU(),
        )
        self.use_high_res_features = use_high_res_features
        if use_high_res_features:
            self.conv_s0 = nn.Conv2d(dim, dim // 8, 1)
            self.conv_s1 = nn.Conv2d(dim, dim // 4, 1)
        self.output_hypernetworks_mlps = nn.ModuleList(MLP(dim, dim, dim // 8, 3) for _ in range(self.num_mask_tokens))
        self.iou_prediction_head = MLP(
            dim, iou_head_hidden_dim, self.num_mask_tokens, iou_head_depth, sigmoid_output=True
        )
        self.pred_obj_score_head = nn.Linear(dim, 1) if pred_obj_scores else None
        self.dynamic_multimask_via_stability = dynamic_multimask_via_stability
        self.stability_delta = dynamic_multimask_stability_delta
        self.stability_thresh = dynamic_multimask_stability_thresh

    def forward(
        self,
        image_embeddings: torch.Tensor,
        image_pe: torch.Tensor,
        sparse: torch.Tensor,
        dense: torch.Tensor,
        multimask_output: bool,
        high_res_features: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> dict[str, torch.Tensor]:
        """image_embeddings: [B, C, h, w] (one row per prompt); image_pe: [1, C, h, w]; sparse: [B, N, C];
        dense: [B, C, h, w]; high_res_features: ``project_high_res`` of the image's stride-4 and stride-8 levels
        ([B, C/8, 4h, 4w], [B, C/4, 2h, 2w]).

        Returns masks [B, K, 4h, 4w] logits and iou_pred [B, K] (K = 3 when ``multimask_output`` else 1),
        all_masks [B, 4, 4h, 4w] / all_iou [B, 4] (every output, for training), object_score_logits [B, 1] and
        sam_tokens [B, K, C] (the chosen outputs' mask tokens; object pointers for tracking)."""
        b, c, h, w = image_embeddings.shape
        out_tokens = [self.iou_token.weight, self.mask_tokens.weight]
        if self.obj_score_token is not None:
            out_tokens.insert(0, self.obj_score_token.weight)
        out_tokens = torch.cat(out_tokens, 0)[None].expand(b, -1, -1)
        tokens = torch.cat((out_tokens, sparse), dim=1)
        src = image_embeddings + dense
        hs, src = self.transformer(src, image_pe.expand(b, -1, -1, -1), tokens)
        s = 1 if self.obj_score_token is not None else 0
        iou_token_out = hs[:, s]
        mask_tokens_out = hs[:, s + 1 : s + 1 + self.num_mask_tokens]
        src = src.transpose(1, 2).reshape(b, c, h, w)
        if self.use_high_res_features and high_res_features is not None:
            dc1, ln1, act1, dc2, act2 = self.output_upscaling
            feat_s0, feat_s1 = high_res_features
            up = act1(ln1(dc1(src) + feat_s1))
            up = act2(dc2(up) + feat_s0)
        else:
            up = self.output_upscaling(src)
        hyper = torch.stack([mlp(mask_tokens_out[:, i]) for i, mlp in enumerate(self.output_hypernetworks_mlps)], 1)
        bu, cu, hu, wu = up.shape
        all_masks = (hyper @ up.view(bu, cu, hu * wu)).view(b, -1, hu, wu)
        all_iou = self.iou_prediction_head(iou_token_out)
        obj = (
            self.pred_obj_score_head(hs[:, 0])
            if self.pred_obj_score_head is not None
            else torch.full((b, 1), 10.0, device=src.device, dtype=src.dtype)
        )
        if multimask_output:
            masks, iou, toks = all_masks[:, 1:], all_iou[:, 1:], mask_tokens_out[:, 1:]
        elif self.dynamic_multimask_via_stability and not self.training:
            masks, iou, idx = self._dynamic_multimask_via_stability(all_masks, all_iou)
            toks = mask_tokens_out[torch.arange(b, device=src.device), idx][:, None]
        else:
            masks, iou, toks = all_masks[:, :1], all_iou[:, :1], mask_tokens_out[:, :1]
        return {
            "masks": masks,
            "iou_pred": iou,
            "all_masks": all_masks,
            "all_iou": all_iou,
            "object_score_logits": obj,
            "sam_tokens": toks,
        }

    def project_high_res(self, feat_s0: torch.Tensor, feat_s1: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Once per image (SAM 2 does it in the image encoder): [B, C, 4h, 4w], [B, C, 2h, 2w] ->
        [B, C/8, 4h, 4w], [B, C/4, 2h, 2w]; every prompt then indexes the small maps."""
        return self.conv_s0(feat_s0), self.conv_s1(feat_s1)

    def _dynamic_multimask_via_stability(self, all_mask_logits: torch.Tensor, all_iou_scores: torch.Tensor):
        """The single-mask output when it is stable, else the best multimask output by predicted IoU.
        Returns (masks [B, 1, H, W], iou [B, 1], index of the chosen output [B] in 0..3)."""
        multimask_logits = all_mask_logits[:, 1:]
        multimask_iou = all_iou_scores[:, 1:]
        best = torch.argmax(multimask_iou, dim=-1)
        rows = torch.arange(multimask_iou.shape[0], device=all_iou_scores.device)
        best_logits = multimask_logits[rows, best][:, None]
        best_iou = multimask_iou[rows, best][:, None]
        single_logits = all_mask_logits[:, :1]
        single_iou = all_iou_scores[:, :1]
        stable = stability_scores(single_logits, self.stability_delta) >= self.stability_thresh  # [B, 1]
        masks = torch.where(stable[..., None, None], single_logits, best_logits)
        iou = torch.where(stable, single_iou, best_iou)
        idx = torch.where(stable[:, 0], torch.zeros_like(best), best + 1)
        return masks, iou, idx
