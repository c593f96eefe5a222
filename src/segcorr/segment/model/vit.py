"""ViT backbone: a convolutional patch embedding, windowed and global attention blocks, absolute or RoPE positions.

Input [B, 3, H, W] (H, W multiples of ``patch``); output the token grid [B, C, H/patch, W/patch] and the patch
embedding's stride-4 and stride-8 maps ([B, C/4, H/4, W/4], [B, C/2, H/8, W/8]), which the neck uses as skips.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from segcorr.segment.model.common import LayerNorm2d, LayerScale
from segcorr.segment.model.position import Rope2d


class PatchEmbed(nn.Module):
    """Four stride-2 convolutions (a small conv stem, cheaper to train than one 16x16 projection)."""

    def __init__(self, dim: int, in_chans: int = 3) -> None:
        super().__init__()
        c4, c2 = dim // 4, dim // 2
        self.s2 = nn.Sequential(nn.Conv2d(in_chans, c4 // 2, 3, 2, 1), LayerNorm2d(c4 // 2), nn.GELU())
        self.s4 = nn.Sequential(nn.Conv2d(c4 // 2, c4, 3, 2, 1), LayerNorm2d(c4), nn.GELU())
        self.s8 = nn.Sequential(nn.Conv2d(c4, c2, 3, 2, 1), LayerNorm2d(c2), nn.GELU())
        self.s16 = nn.Conv2d(c2, dim, 3, 2, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        f4 = self.s4(self.s2(x))
        f8 = self.s8(f4)
        return self.s16(f8), f4, f8


def _window_partition(x: torch.Tensor, ws: int) -> tuple[torch.Tensor, tuple[int, int]]:
    """[B, H, W, C] -> [B * nW, ws*ws, C], padding H and W up to multiples of ws."""
    b, h, w, c = x.shape
    ph, pw = (ws - h % ws) % ws, (ws - w % ws) % ws
    x = F.pad(x, (0, 0, 0, pw, 0, ph))
    hp, wp = h + ph, w + pw
    x = x.view(b, hp // ws, ws, wp // ws, ws, c).permute(0, 1, 3, 2, 4, 5)
    return x.reshape(-1, ws * ws, c), (hp, wp)


def _window_unpartition(x: torch.Tensor, ws: int, pad_hw: tuple[int, int], hw: tuple[int, int]) -> torch.Tensor:
    hp, wp = pad_hw
    h, w = hw
    b = x.shape[0] // ((hp // ws) * (wp // ws))
    x = x.view(b, hp // ws, wp // ws, ws, ws, -1).permute(0, 1, 3, 2, 4, 5).reshape(b, hp, wp, -1)
    return x[:, :h, :w]


class Block(nn.Module):
    """Pre-norm transformer block; ``window`` > 0 attends within non-overlapping windows, 0 globally."""

    def __init__(self, dim: int, heads: int, mlp_ratio: float, window: int, rope: bool, layer_scale: float | None):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, int(dim * mlp_ratio)), nn.GELU(), nn.Linear(int(dim * mlp_ratio), dim))
        self.ls1 = LayerScale(dim, layer_scale) if layer_scale else nn.Identity()
        self.ls2 = LayerScale(dim, layer_scale) if layer_scale else nn.Identity()
        self.heads, self.window, self.rope = heads, window, rope

    def _attn(self, x: torch.Tensor, gh: int, gw: int) -> torch.Tensor:
        b, n, c = x.shape
        q, k, v = self.qkv(x).view(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        if self.rope:
            r = Rope2d(c // self.heads, gh, gw, x.device)
            q, k = r(q), r(k)
        out = F.scaled_dot_product_attention(q, k, v)
        return self.proj(out.transpose(1, 2).reshape(b, n, c))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, h, w, c = x.shape  # tokens as a grid
        y = self.norm1(x)
        if self.window:
            y, pad_hw = _window_partition(y, self.window)
            y = self._attn(y, self.window, self.window)
            y = _window_unpartition(y, self.window, pad_hw, (h, w))
        else:
            y = self._attn(y.reshape(b, h * w, c), h, w).view(b, h, w, c)
        x = x + self.ls1(y)
        return x + self.ls2(self.mlp(self.norm2(x)))


class ViT(nn.Module):
    """ViTDet-style backbone. ``global_blocks``: indices of blocks with global attention (others windowed);
    ``pos``: "abs" (learned grid, resized to the input) or "rope" (2-D rotary in every block)."""

    def __init__(
        self,
        dim: int = 192,
        depth: int = 6,
        heads: int = 3,
        mlp_ratio: float = 4.0,
        window: int = 8,
        global_blocks: tuple[int, ...] = (2, 5),
        pos: str = "abs",
        pos_grid: tuple[int, int] = (24, 32),
        layer_scale: float | None = None,
    ) -> None:
        super().__init__()
        if pos not in ("abs", "rope"):
            raise ValueError(f"pos must be 'abs' or 'rope', got {pos!r}")
        self.patch_embed = PatchEmbed(dim)
        self.pos_embed = nn.Parameter(torch.zeros(1, dim, *pos_grid)) if pos == "abs" else None
        self.blocks = nn.ModuleList(
            Block(dim, heads, mlp_ratio, 0 if i in global_blocks else window, pos == "rope", layer_scale)
            for i in range(depth)
        )
        self.dim = dim
        self.patch = 16
        if self.pos_embed is not None:
            nn.init.trunc_normal_(self.pos_embed, std=0.02)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """x: [B, 3, H, W] normalised -> (tokens [B, C, H/16, W/16], f4 [B, C/4, H/4, W/4], f8 [B, C/2, H/8, W/8])."""
        t, f4, f8 = self.patch_embed(x)
        if self.pos_embed is not None:
            t = t + F.interpolate(self.pos_embed, size=t.shape[-2:], mode="bicubic", align_corners=False)
        t = t.permute(0, 2, 3, 1)
        for blk in self.blocks:
            t = blk(t)
        return t.permute(0, 3, 1, 2), f4, f8
