"""Prompt encoder: points (positive / negative), boxes (as top-left / bottom-right point pairs) and mask prompts.

Sparse prompts become tokens [B, N, C] (sine code of the normalised position plus a learned type embedding);
a mask prompt [B, 1, 4h, 4w] (logits at the decoder's output resolution) becomes a dense embedding [B, C, h, w]
added to the image embedding; without one, a learned ``no_mask_embed`` is added everywhere.
"""

from __future__ import annotations

import torch
from torch import nn

from segcorr.segment.model.common import LayerNorm2d
from segcorr.segment.model.position import PositionEmbeddingSine

# point labels: 1 positive, 0 negative, 2 box top-left, 3 box bottom-right, -1 padding (not a point)
POINT_LABELS = {"negative": 0, "positive": 1, "box_tl": 2, "box_br": 3, "pad": -1}


class PromptEncoder(nn.Module):
    def __init__(self, embed_dim: int, mask_in_chans: int = 16) -> None:
        super().__init__()
        self.pe_layer = PositionEmbeddingSine(embed_dim)
        self.point_embeddings = nn.ModuleList(nn.Embedding(1, embed_dim) for _ in range(4))
        self.not_a_point_embed = nn.Embedding(1, embed_dim)
        self.mask_downscaling = nn.Sequential(
            nn.Conv2d(1, mask_in_chans // 4, 2, 2), LayerNorm2d(mask_in_chans // 4), nn.GELU(),
            nn.Conv2d(mask_in_chans // 4, mask_in_chans, 2, 2), LayerNorm2d(mask_in_chans), nn.GELU(),
            nn.Conv2d(mask_in_chans, embed_dim, 1))
        self.no_mask_embed = nn.Embedding(1, embed_dim)
        self.embed_dim = embed_dim

    def dense_pe(self, h: int, w: int, device: torch.device) -> torch.Tensor:
        """Position code of the image embedding grid: [1, C, h, w]."""
        return self.pe_layer(h, w, device)[None]

    def _embed_points(self, coords: torch.Tensor, labels: torch.Tensor, size_hw: tuple[int, int]) -> torch.Tensor:
        """coords [B, N, 2] (x, y) in input pixels; labels [B, N] -> [B, N, C]."""
        h, w = size_hw
        pe = self.pe_layer.encode_points((coords[..., 0] + 0.5) / w, (coords[..., 1] + 0.5) / h)
        pe = torch.where((labels == -1)[..., None], torch.zeros_like(pe), pe)
        out = pe + torch.where((labels == -1)[..., None], self.not_a_point_embed.weight, torch.zeros_like(pe))
        for k in range(4):
            out = out + torch.where((labels == k)[..., None], self.point_embeddings[k].weight, torch.zeros_like(pe))
        return out

    def forward(self, batch: int, size_hw: tuple[int, int], grid_hw: tuple[int, int], device: torch.device,
                points: tuple[torch.Tensor, torch.Tensor] | None = None, boxes: torch.Tensor | None = None,
                masks: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """size_hw: the model input's (H, W); grid_hw: the image embedding's (h, w).
        points: (coords [B, N, 2], labels [B, N]); boxes: [B, 4] x0, y0, x1, y1; masks: [B, 1, 4h, 4w] logits.
        Returns (sparse [B, N', C], dense [B, C, h, w])."""
        coords, labels = [], []
        if points is not None:
            coords.append(points[0].float())
            labels.append(points[1].long())
        if boxes is not None:
            coords.append(boxes.float().view(-1, 2, 2))
            labels.append(torch.tensor([2, 3], device=device).expand(boxes.shape[0], 2))
        if coords:
            if boxes is None:  # SAM pads point-only prompts with one "not a point" token
                coords.append(torch.zeros(batch, 1, 2, device=device))
                labels.append(torch.full((batch, 1), -1, device=device, dtype=torch.long))
            sparse = self._embed_points(torch.cat(coords, 1), torch.cat(labels, 1), size_hw)
        else:
            sparse = torch.zeros(batch, 0, self.embed_dim, device=device)
        if masks is not None:
            dense = self.mask_downscaling(masks.float())
        else:
            dense = self.no_mask_embed.weight.view(1, -1, 1, 1).expand(batch, -1, *grid_hw)
        return sparse, dense
