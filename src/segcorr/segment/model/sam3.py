"""``Sam3Image``: the concept model composed from its parts (backbone, neck, text encoder, prompt encoder, mask
decoder, concept detector).

Images enter as [B, 3, H, W] floats in 0..1 with H, W multiples of 32 (the predictor resizes and pads). One image
embedding serves any number of prompts: ``encode_image`` once, then ``predict_prompts`` (points, boxes, masks:
one object each, SAM-style) and ``predict_concept`` (a phrase: every instance) as often as needed. ``forward``
runs both paths on a training batch in one call (DDP allows one forward per backward).
"""

from __future__ import annotations

import torch
from torch import nn

from segcorr.segment.model.concept import ConceptDetector
from segcorr.segment.model.mask_decoder import MaskDecoder
from segcorr.segment.model.neck import Sam3DualViTDetNeck
from segcorr.segment.model.prompt_encoder import PromptEncoder
from segcorr.segment.model.text_encoder import VETextEncoder
from segcorr.segment.model.vit import ViT

NO_OBJ_SCORE = -1024.0
PIXEL_MEAN = (0.485, 0.456, 0.406)
PIXEL_STD = (0.229, 0.224, 0.225)


class Sam3Image(nn.Module):
    def __init__(
        self,
        backbone: ViT,
        neck: Sam3DualViTDetNeck,
        text_encoder: VETextEncoder,
        prompt_encoder: PromptEncoder,
        mask_decoder: MaskDecoder,
        detector: ConceptDetector,
    ) -> None:
        super().__init__()
        self.backbone = backbone
        self.neck = neck
        self.text_encoder = text_encoder
        self.prompt_encoder = prompt_encoder
        self.mask_decoder = mask_decoder
        self.detector = detector
        self.register_buffer("pixel_mean", torch.tensor(PIXEL_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("pixel_std", torch.tensor(PIXEL_STD).view(1, 3, 1, 1), persistent=False)

    # ------------------------------------------------------------------------------------------ image
    def encode_image(self, images: torch.Tensor) -> dict[str, object]:
        """images [B, 3, H, W] in 0..1 -> {"det": [f4, f8, f16(, f32)], "inter": [...], "pos16": [1, C, h, w],
        "size": (H, W)}; every level [B, C, H/s, W/s]."""
        if images.shape[-1] % 32 or images.shape[-2] % 32:
            raise ValueError(f"expected H and W multiples of 32, got {tuple(images.shape[-2:])}")
        x = (images - self.pixel_mean.to(images)) / self.pixel_std.to(images)
        tokens, f4, f8 = self.backbone(x)
        det, inter = self.neck(tokens, f4, f8)
        h, w = det[2].shape[-2:]
        return {
            "det": det,
            "inter": inter,
            "pos16": self.prompt_encoder.dense_pe(h, w, images.device),
            "size": tuple(images.shape[-2:]),
        }

    # ------------------------------------------------------------------------------------ prompts
    def predict_prompts(
        self,
        feats: dict,
        bidx: torch.Tensor,
        coords: torch.Tensor,
        labels: torch.Tensor,
        mask_inputs: torch.Tensor | None = None,
        has_mask: torch.Tensor | None = None,
        multimask_output: bool = False,
    ) -> dict[str, torch.Tensor]:
        """One object per row: bidx [P] (image of each prompt); coords [P, N, 2] (x, y) input pixels; labels [P, N]
        (1 pos, 0 neg, 2/3 box corners, -1 padding); mask_inputs [P, 1, 4h, 4w] logits with has_mask [P] bool.

        Returns the decoder's dict (masks [P, K, 4h, 4w], iou_pred, all_masks, all_iou, object_score_logits,
        sam_tokens). At inference, masks of prompts whose object score is <= 0 are set to NO_OBJ_SCORE."""
        if "high_res" not in feats:  # once per image, however many prompts
            feats["high_res"] = self.mask_decoder.project_high_res(*feats["inter"][:2])
        f16 = feats["inter"][2][bidx]
        s0, s1 = (f[bidx] for f in feats["high_res"])
        p = bidx.shape[0]
        sparse, dense = self.prompt_encoder(p, feats["size"], f16.shape[-2:], f16.device, points=(coords, labels))
        if mask_inputs is not None:
            md = self.prompt_encoder.mask_downscaling(mask_inputs.float())
            keep = has_mask.view(-1, 1, 1, 1) if has_mask is not None else torch.ones_like(md[:, :1, :1, :1]).bool()
            no_mask = self.prompt_encoder.no_mask_embed.weight.view(1, -1, 1, 1)
            dense = dense + torch.where(keep, md - no_mask, torch.zeros_like(md))
        out = self.mask_decoder(f16, feats["pos16"], sparse, dense, multimask_output, (s0, s1))
        if not self.training:
            appearing = out["object_score_logits"][:, :, None, None] > 0
            out["masks"] = torch.where(appearing, out["masks"], torch.full_like(out["masks"], NO_OBJ_SCORE))
        return out

    # ------------------------------------------------------------------------------------ concepts
    def encode_text(self, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.text_encoder(tokens)

    def predict_concept(self, feats: dict, bidx: torch.Tensor, tokens: torch.Tensor) -> dict[str, torch.Tensor]:
        """bidx [T] (image of each phrase), tokens [T, L] CLIP BPE ids -> the detector's dict (pred_logits [T, Q],
        presence_logit [T], pred_boxes [T, Q, 4], pred_masks [T, Q, 4h, 4w])."""
        text, pad = self.encode_text(tokens)
        if "mask_feat" not in feats:  # once per image, however many phrases
            feats["mask_feat"] = self.detector.pixel_embedding(*feats["det"][:3])
        return self.detector(feats["mask_feat"][bidx], feats["det"][2][bidx], feats["pos16"], text, pad)

    # ------------------------------------------------------------------------------------ training
    def forward(self, batch: dict[str, torch.Tensor]) -> dict[str, dict[str, torch.Tensor]]:
        """A training batch (see ``segcorr.data.sam3_synth``) -> {"prompt": decoder dict, "concept": detector dict}."""
        feats = self.encode_image(batch["images"])
        out = {}
        if batch["p_bidx"].numel():
            out["prompt"] = self.predict_prompts(
                feats, batch["p_bidx"], batch["p_coords"], batch["p_labels"], batch["p_mask_in"], batch["p_has_mask"]
            )
        if batch["c_bidx"].numel():
            out["concept"] = self.predict_concept(feats, batch["c_bidx"], batch["c_tokens"])
        return out
