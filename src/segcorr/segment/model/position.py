"""Sine position codes (DETR / SAM 3's ``PositionEmbeddingSine``) and 2-D rotary embeddings."""

from __future__ import annotations

import math

import torch
from torch import nn


class PositionEmbeddingSine(nn.Module):
    """Sine/cosine codes of normalised (x, y) positions; ``num_pos_feats`` channels in all (half for y, half for x).

    ``forward(h, w)`` codes a grid: [num_pos_feats, h, w]. ``encode_points(x, y)`` codes points given in 0..1:
    [..., num_pos_feats]. ``encode_boxes(cx, cy, w, h)`` codes box centres and appends h, w: [..., num_pos_feats + 2].
    """

    def __init__(self, num_pos_feats: int, temperature: float = 10000.0, scale: float = 2 * math.pi) -> None:
        super().__init__()
        if num_pos_feats % 4:
            raise ValueError(f"num_pos_feats must be a multiple of 4, got {num_pos_feats}")
        self.half = num_pos_feats // 2
        self.temperature = temperature
        self.scale = scale

    def _encode_xy(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        dim_t = torch.arange(self.half, dtype=torch.float32, device=x.device)
        dim_t = self.temperature ** (2 * (dim_t // 2) / self.half)
        px = (x.float() * self.scale)[..., None] / dim_t
        py = (y.float() * self.scale)[..., None] / dim_t
        px = torch.stack((px[..., 0::2].sin(), px[..., 1::2].cos()), dim=-1).flatten(-2)
        py = torch.stack((py[..., 0::2].sin(), py[..., 1::2].cos()), dim=-1).flatten(-2)
        return px, py

    def encode_points(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        px, py = self._encode_xy(x, y)
        return torch.cat((py, px), dim=-1)

    def encode_boxes(self, cx: torch.Tensor, cy: torch.Tensor, w: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        px, py = self._encode_xy(cx, cy)
        return torch.cat((py, px, h[..., None].float(), w[..., None].float()), dim=-1)

    def forward(
        self, h: int, w: int, device: torch.device | None = None, dtype: torch.dtype = torch.float32
    ) -> torch.Tensor:
        ys = (torch.arange(h, device=device, dtype=torch.float32) + 0.5) / h
        xs = (torch.arange(w, device=device, dtype=torch.float32) + 0.5) / w
        yy, xx = torch.meshgrid(ys, xs, indexing="ij")
        return self.encode_points(xx, yy).permute(2, 0, 1).to(dtype)


class Rope2d:
    """Axial 2-D rotary embedding for tokens on an (h, w) grid; ``__call__(x [B, heads, h*w, d])`` rotates them.

    Half of each head's channels turn with x, half with y (d must be a multiple of 4). Built per grid; no state.
    """

    def __init__(self, head_dim: int, h: int, w: int, device: torch.device, theta: float = 100.0) -> None:
        if head_dim % 4:
            raise ValueError(f"RoPE needs a head width divisible by 4, got {head_dim}")
        q = head_dim // 4
        freqs = 1.0 / (theta ** (torch.arange(q, device=device, dtype=torch.float32) / q))
        ys, xs = torch.meshgrid(
            torch.arange(h, device=device, dtype=torch.float32),
            torch.arange(w, device=device, dtype=torch.float32),
            indexing="ij",
        )
        ang = torch.cat((xs.reshape(-1, 1) * freqs, ys.reshape(-1, 1) * freqs), dim=1)  # [h*w, d/2]
        self.cos, self.sin = ang.cos(), ang.sin()

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        x1, x2 = x[..., 0::2], x[..., 1::2]
        cos, sin = self.cos.to(x.dtype), self.sin.to(x.dtype)
        return torch.stack((x1 * cos - x2 * sin, x1 * sin + x2 * cos), dim=-1).flatten(-2)
