"""``MemoryAttention`` (SAM 2): the current frame's features attend to themselves, then to the object's memories.

Memory = spatial memories of F frames (F x h*w tokens of width ``mem_dim``) followed by object-pointer tokens.
With ``rope``, queries and spatial-memory keys turn with an axial 2-D rotary code of their grid position (the
same grid for every memory frame); pointer tokens, which have no position on the grid, are left unrotated
(SAM 2's ``num_k_exclude_rope``). Without it, the sine codes are added to queries and keys.

Cost: cross-attention is h*w x (F*h*w + pointers) per object and layer; at the tiny model's 12 x 16 grid and
F = 7 that is 192 x ~1.4k scores, small enough to run densely.
"""

from __future__ import annotations

import torch
from torch import nn

from segcorr.segment.model.common import Attention
from segcorr.segment.model.position import Rope2d


def _rotate(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    x1, x2 = x[..., 0::2], x[..., 1::2]
    cos, sin = cos.to(x.dtype), sin.to(x.dtype)
    return torch.stack((x1 * cos - x2 * sin, x1 * sin + x2 * cos), dim=-1).flatten(-2)


class _KeyRope:
    """Rotate the first ``frames * h * w`` keys of [B, heads, M, d] with the grid's code repeated per frame."""

    def __init__(self, rope: Rope2d, frames: int) -> None:
        self.cos, self.sin = rope.cos.repeat(frames, 1), rope.sin.repeat(frames, 1)
        self.n = self.cos.shape[0]

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat((_rotate(x[..., : self.n, :], self.cos, self.sin), x[..., self.n :, :]), dim=-2)


class MemoryAttentionLayer(nn.Module):
    """Pre-norm: self-attention, cross-attention to the memory (keys/values of width ``mem_dim``), FFN."""

    def __init__(self, d_model: int, mem_dim: int, heads: int = 1, ffn: int = 512, rope: bool = True) -> None:
        super().__init__()
        self.self_attn = Attention(d_model, heads)
        self.cross_attn = Attention(d_model, heads, kv_dim=mem_dim)
        self.norm1, self.norm2, self.norm3 = nn.LayerNorm(d_model), nn.LayerNorm(d_model), nn.LayerNorm(d_model)
        self.ffn = nn.Sequential(nn.Linear(d_model, ffn), nn.ReLU(), nn.Linear(ffn, d_model))
        self.heads, self.rope = heads, rope

    def forward(
        self,
        x: torch.Tensor,
        pos: torch.Tensor,
        memory: torch.Tensor,
        memory_pos: torch.Tensor,
        grid: tuple[int, int],
        num_spatial_frames: int,
    ) -> torch.Tensor:
        """x [B, hw, C], pos [B or 1, hw, C], memory / memory_pos [B, M, mem_dim] -> [B, hw, C]."""
        rq = rk = None
        if self.rope:
            head_dim = x.shape[-1] // self.heads
            r = Rope2d(head_dim, grid[0], grid[1], x.device)
            rq, rk = r, _KeyRope(r, num_spatial_frames)
        y = self.norm1(x)
        q = y if self.rope else y + pos
        x = x + self.self_attn(q, q, y, rope_q=rq, rope_k=rq)
        y = self.norm2(x)
        x = x + self.cross_attn(y if self.rope else y + pos, memory + memory_pos, memory, rope_q=rq, rope_k=rk)
        return x + self.ffn(self.norm3(x))


class MemoryAttention(nn.Module):
    """curr [B, C, h, w], curr_pos [B or 1, C, h, w], memory / memory_pos [B, M, mem_dim] -> [B, C, h, w].

    The position code is added to the input once (SAM 2's ``pos_enc_at_input``), scaled by 0.1."""

    def __init__(self, d_model: int, layers: list[MemoryAttentionLayer]) -> None:
        super().__init__()
        self.layers = nn.ModuleList(layers)
        self.norm = nn.LayerNorm(d_model)

    def forward(
        self,
        curr: torch.Tensor,
        curr_pos: torch.Tensor,
        memory: torch.Tensor,
        memory_pos: torch.Tensor,
        num_spatial_frames: int,
        num_obj_ptr_tokens: int = 0,
    ) -> torch.Tensor:
        b, c, h, w = curr.shape
        expected = num_spatial_frames * h * w + num_obj_ptr_tokens
        if memory.shape[1] != expected:
            raise ValueError(
                f"expected {expected} memory tokens ({num_spatial_frames} frames of {h}x{w} + "
                f"{num_obj_ptr_tokens} pointers), found {memory.shape[1]}"
            )
        x = curr.flatten(2).transpose(1, 2)
        pos = curr_pos.flatten(2).transpose(1, 2)
        x = x + 0.1 * pos
        for layer in self.layers:
            x = layer(x, pos, memory, memory_pos, (h, w), num_spatial_frames)
        return self.norm(x).transpose(1, 2).reshape(b, c, h, w)
