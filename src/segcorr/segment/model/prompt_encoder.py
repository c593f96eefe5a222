"""Prompt encoder: points (positive / negative), boxes (as top-left / bottom-right point pairs) and mask prompts.

Sparse prompts become tokens [B, N, C] (sine code of the normalised position plus a learned type embedding);
a mask prompt [B, 1, 4h, 4w] (logits at the decoder's output resolution) becomes a dense embedding [B, C, h, w]
added to the image embedding; without one, a learned ``no_mask_embed`` is added everywhere.

``click_maps`` (an option, on in the shipped model): the clicks and the box are also drawn on the image-embedding
grid (a Gaussian bump per positive and per negative click, the box's inside) and encoded by two convolutions into
the dense embedding, as interactive segmenters with click maps do. It gives the decoder the prompt's place in the
same frame as the image features from the first step, which a small model trained on a CPU needs: without it the
masks of a from-scratch model stayed empty for the first hundreds of steps.
"""

from __future__ import annotations

import torch
from torch import nn

from segcorr.segment.model.common import LayerNorm2d
from segcorr.segment.model.position import PositionEmbeddingSine

# point labels: 1 positive, 0 negative, 2 box top-left, 3 box bottom-right, -1 padding (not a point)
POINT_LABELS = {"negative": 0, "positive": 1, "box_tl": 2, "box_br": 3, "pad": -1}


class PromptEncoder(nn.Module):
    def __init__(self, embed_dim: int, mask_in_chans: int = 16, click_maps: bool = False) -> None:
        super().__init__()
        self.click_encoder = (
            nn.Sequential(nn.Conv2d(3, mask_in_chans, 3, padding=1), nn.GELU(), nn.Conv2d(mask_in_chans, embed_dim, 1))
            if click_maps
            else None
        )
        self.pe_layer = PositionEmbeddingSine(embed_dim)
        self.point_embeddings = nn.ModuleList(nn.Embedding(1, embed_dim) for _ in range(4))
        self.not_a_point_embed = nn.Embedding(1, embed_dim)
        self.mask_downscaling = nn.Sequential(
            nn.Conv2d(1, mask_in_chans // 4, 2, 2),
            LayerNorm2d(mask_in_chans // 4),
            nn.GELU(),
            nn.Conv2d(mask_in_chans // 4, mask_in_chans, 2, 2),
            LayerNorm2d(mask_in_chans),
            nn.GELU(),
            nn.Conv2d(mask_in_chans, embed_dim, 1),
        )
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

    def draw_clicks(
        self, coords: torch.Tensor, labels: torch.Tensor, size_hw: tuple[int, int], grid_hw: tuple[int, int]
    ) -> torch.Tensor:
        """[B, N, 2] pixel coords and labels -> [B, 3, h, w]: positive bumps, negative bumps, box inside."""
        h, w = grid_hw
        sy, sx = size_hw[0] / h, size_hw[1] / w
        ys = (torch.arange(h, device=coords.device, dtype=torch.float32) + 0.5) * sy
        xs = (torch.arange(w, device=coords.device, dtype=torch.float32) + 0.5) * sx
        cx, cy = coords[..., 0, None, None], coords[..., 1, None, None]  # [B, N, 1, 1]
        d2 = ((xs.view(1, 1, 1, w) - cx) / sx) ** 2 + ((ys.view(1, 1, h, 1) - cy) / sy) ** 2
        bump = torch.exp(-0.5 * d2)  # sigma = one grid cell
        pos = (bump * (labels == 1)[..., None, None]).amax(1)
        neg = (bump * (labels == 0)[..., None, None]).amax(1)
        tl = torch.where((labels == 2)[..., None], coords, torch.full_like(coords, float("inf"))).amin(1)
        br = torch.where((labels == 3)[..., None], coords, torch.full_like(coords, -float("inf"))).amax(1)
        inside = (
            (xs.view(1, 1, w) >= tl[:, 0, None, None])
            & (xs.view(1, 1, w) <= br[:, 0, None, None])
            & (ys.view(1, h, 1) >= tl[:, 1, None, None])
            & (ys.view(1, h, 1) <= br[:, 1, None, None])
        )
        return torch.stack((pos, neg, inside.float()), 1)

    def forward(
        self,
        batch: int,
        size_hw: tuple[int, int],
        grid_hw: tuple[int, int],
        device: torch.device,
        points: tuple[torch.Tensor, torch.Tensor] | None = None,
        boxes: torch.Tensor | None = None,
        masks: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
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
        if self.click_encoder is not None and coords:
            c, lab = torch.cat(coords, 1), torch.cat(labels, 1)
            dense = dense + self.click_encoder(self.draw_clicks(c, lab, size_hw, grid_hw))
        return sparse, dense
