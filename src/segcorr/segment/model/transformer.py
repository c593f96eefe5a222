"""``TwoWayTransformer`` (SAM): prompt tokens and image tokens attend to each other in both directions.

Each layer: token self-attention, token-to-image cross-attention, MLP on tokens, image-to-token
cross-attention; then a final token-to-image attention. ``use_rope``: image-side queries and keys also turn
with a 2-D rotary code of their grid position (tokens have none), on top of the added sine codes.
"""

from __future__ import annotations

import torch
from torch import nn

from segcorr.segment.model.common import Attention
from segcorr.segment.model.position import Rope2d


class TwoWayAttentionBlock(nn.Module):
    def __init__(self, dim: int, heads: int, mlp_dim: int, downsample: int, skip_first_layer_pe: bool) -> None:
        super().__init__()
        self.self_attn = Attention(dim, heads)
        self.norm1 = nn.LayerNorm(dim)
        self.cross_attn_token_to_image = Attention(dim, heads, downsample)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, mlp_dim), nn.ReLU(), nn.Linear(mlp_dim, dim))
        self.norm3 = nn.LayerNorm(dim)
        self.norm4 = nn.LayerNorm(dim)
        self.cross_attn_image_to_token = Attention(dim, heads, downsample)
        self.skip_first_layer_pe = skip_first_layer_pe

    def forward(self, queries, keys, query_pe, key_pe, rope=None):
        if self.skip_first_layer_pe:
            queries = self.self_attn(queries, queries, queries)
        else:
            q = queries + query_pe
            queries = queries + self.self_attn(q, q, queries)
        queries = self.norm1(queries)
        q, k = queries + query_pe, keys + key_pe
        queries = self.norm2(queries + self.cross_attn_token_to_image(q, k, keys, rope_k=rope))
        queries = self.norm3(queries + self.mlp(queries))
        q, k = queries + query_pe, keys + key_pe
        keys = self.norm4(keys + self.cross_attn_image_to_token(k, q, queries, rope_q=rope))
        return queries, keys


class TwoWayTransformer(nn.Module):
    def __init__(
        self, depth: int, dim: int, heads: int, mlp_dim: int, downsample: int = 2, use_rope: bool = False
    ) -> None:
        super().__init__()
        self.layers = nn.ModuleList(TwoWayAttentionBlock(dim, heads, mlp_dim, downsample, i == 0) for i in range(depth))
        self.final_attn_token_to_image = Attention(dim, heads, downsample)
        self.norm_final_attn = nn.LayerNorm(dim)
        self.heads, self.downsample, self.use_rope = heads, downsample, use_rope

    def forward(self, image: torch.Tensor, image_pe: torch.Tensor, tokens: torch.Tensor):
        """image: [B, C, h, w]; image_pe: [B or 1, C, h, w]; tokens: [B, N, C]
        -> (tokens [B, N, C], image [B, hw, C])."""
        _b, c, h, w = image.shape
        keys = image.flatten(2).transpose(1, 2)
        key_pe = image_pe.flatten(2).transpose(1, 2)
        rope = Rope2d(c // self.downsample // self.heads, h, w, image.device) if self.use_rope else None
        queries = tokens
        for layer in self.layers:
            queries, keys = layer(queries, keys, tokens, key_pe, rope)
        q, k = queries + tokens, keys + key_pe
        queries = self.norm_final_attn(queries + self.final_attn_token_to_image(q, k, keys, rope_k=rope))
        return queries, keys
