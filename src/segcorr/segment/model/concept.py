"""The concept path: a text phrase finds every instance of itself (SAM 3's detector, DETR-style).

1. ``FusionEncoder``: image tokens (stride 16) attend to themselves and to the phrase's token features.
2. ``ConceptDecoder``: ``num_queries`` object queries and one presence token attend to each other, to the phrase
   and to the fused image; each query predicts a box (cx, cy, w, h in 0..1), a mask (dot product of its embedding
   with a stride-4 pixel embedding) and a score; the presence token predicts whether the phrase is in the image
   at all. A query's final probability is sigmoid(score) * sigmoid(presence): "no such thing here" is one
   decision, not ``num_queries``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from segcorr.segment.model.common import MLP, Attention, LayerNorm2d


class _FFN(nn.Module):
    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(dim, hidden), nn.ReLU(), nn.Linear(hidden, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class FusionEncoderLayer(nn.Module):
    def __init__(self, dim: int, heads: int, ffn: int) -> None:
        super().__init__()
        self.norm1, self.self_attn = nn.LayerNorm(dim), Attention(dim, heads)
        self.norm2, self.cross_attn = nn.LayerNorm(dim), Attention(dim, heads)
        self.norm3, self.ffn = nn.LayerNorm(dim), _FFN(dim, ffn)

    def forward(self, x, pos, text, text_pad):
        y = self.norm1(x)
        x = x + self.self_attn(y + pos, y + pos, y)
        x = x + self.cross_attn(self.norm2(x) + pos, text, text, key_padding_mask=text_pad)
        return x + self.ffn(self.norm3(x))


class ConceptDecoderLayer(nn.Module):
    def __init__(self, dim: int, heads: int, ffn: int) -> None:
        super().__init__()
        self.norm1, self.self_attn = nn.LayerNorm(dim), Attention(dim, heads)
        self.norm2, self.text_attn = nn.LayerNorm(dim), Attention(dim, heads)
        self.norm3, self.image_attn = nn.LayerNorm(dim), Attention(dim, heads)
        self.norm4, self.ffn = nn.LayerNorm(dim), _FFN(dim, ffn)

    def forward(self, q, q_pos, text, text_pad, image, image_pos):
        y = self.norm1(q)
        q = q + self.self_attn(y + q_pos, y + q_pos, y)
        q = q + self.text_attn(self.norm2(q) + q_pos, text, text, key_padding_mask=text_pad)
        q = q + self.image_attn(self.norm3(q) + q_pos, image + image_pos, image)
        return q + self.ffn(self.norm4(q))


class PixelDecoder(nn.Module):
    """The pyramid's stride-16, stride-8 and stride-4 levels -> mask embedding [B, C, H/4, W/4].

    It reads the image features, not the phrase-fused ones, so it runs once per image however many phrases are
    asked (at 384x512 it is most of the detector's work)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.up8 = nn.Sequential(nn.Conv2d(dim, dim, 3, padding=1, groups=dim), LayerNorm2d(dim), nn.GELU())
        self.up4 = nn.Sequential(nn.Conv2d(dim, dim, 3, padding=1, groups=dim), LayerNorm2d(dim), nn.GELU())
        self.out = nn.Conv2d(dim, dim, 1)

    def forward(self, f16: torch.Tensor, f8: torch.Tensor, f4: torch.Tensor) -> torch.Tensor:
        x = self.up8(F.interpolate(f16, size=f8.shape[-2:], mode="bilinear", align_corners=False) + f8)
        x = self.up4(F.interpolate(x, size=f4.shape[-2:], mode="bilinear", align_corners=False) + f4)
        return self.out(x)


class ConceptDetector(nn.Module):
    def __init__(
        self,
        dim: int,
        heads: int = 4,
        ffn: int = 512,
        encoder_layers: int = 2,
        decoder_layers: int = 3,
        num_queries: int = 16,
    ) -> None:
        super().__init__()
        self.encoder = nn.ModuleList(FusionEncoderLayer(dim, heads, ffn) for _ in range(encoder_layers))
        self.decoder = nn.ModuleList(ConceptDecoderLayer(dim, heads, ffn) for _ in range(decoder_layers))
        self.query_embed = nn.Embedding(num_queries, dim)
        self.query_pos = nn.Embedding(num_queries + 1, dim)
        self.presence_token = nn.Embedding(1, dim)
        self.norm = nn.LayerNorm(dim)
        self.pixel_decoder = PixelDecoder(dim)
        self.mask_embed = MLP(dim, dim, dim, 3)
        self.box_head = MLP(dim, dim, 4, 3)
        self.score_proj = MLP(dim, dim, dim, 2)
        self.text_proj = nn.Linear(dim, dim)
        self.score_bias = nn.Parameter(torch.zeros(()))
        self.presence_head = MLP(dim, dim, 1, 2)
        self.num_queries = num_queries

    def pixel_embedding(self, f4: torch.Tensor, f8: torch.Tensor, f16: torch.Tensor) -> torch.Tensor:
        """Per image: [B, C, 4h, 4w] from the pyramid levels (computed once, shared by all phrases)."""
        return self.pixel_decoder(f16, f8, f4)

    def forward(
        self,
        mask_feat: torch.Tensor,
        f16: torch.Tensor,
        pos16: torch.Tensor,
        text: torch.Tensor,
        text_pad: torch.Tensor,
    ) -> dict[str, torch.Tensor]:
        """One row per (image, phrase): mask_feat [T, C, 4h, 4w] (``pixel_embedding`` of its image), f16 [T, C, h, w],
        pos16 [1, C, h, w], text [T, L, C], text_pad [T, L] (True = padding).

        Returns pred_logits [T, Q], presence_logit [T], pred_boxes [T, Q, 4] (cx, cy, w, h in 0..1),
        pred_masks [T, Q, 4h, 4w] logits."""
        t, c, _h, _w = f16.shape
        x = f16.flatten(2).transpose(1, 2)
        pos = pos16.flatten(2).transpose(1, 2)
        for layer in self.encoder:
            x = layer(x, pos, text, text_pad)
        q = torch.cat((self.presence_token.weight, self.query_embed.weight), 0)[None].expand(t, -1, -1)
        q_pos = self.query_pos.weight[None]
        for layer in self.decoder:
            q = layer(q, q_pos, text, text_pad, x, pos)
        q = self.norm(q)
        presence, hs = q[:, 0], q[:, 1:]
        keep = (~text_pad).float()[..., None]
        text_mean = (text * keep).sum(1) / keep.sum(1).clamp(min=1)  # [T, C]
        logits = (self.score_proj(hs) * self.text_proj(text_mean)[:, None]).sum(-1) / c**0.5 + self.score_bias
        masks = torch.einsum("tqc,tchw->tqhw", self.mask_embed(hs), mask_feat)
        return {
            "pred_logits": logits,
            "presence_logit": self.presence_head(presence)[:, 0],
            "pred_boxes": self.box_head(hs).sigmoid(),
            "pred_masks": masks,
        }
