"""``VETextEncoder``: a causal transformer over CLIP BPE token embeddings, projected to the model width.

The token table is ``vocab_size x width`` (49408 x 64 = 3.16 M parameters, 6.3 MB in half precision): most of
the text encoder's size, though a phrase touches only a few rows. Input token ids [B, L] (0 = padding after
``<end_of_text>``); output per-token features [B, L, d_model] and a padding mask [B, L] (True = padding).
"""

from __future__ import annotations

import torch
from torch import nn

from segcorr.segment.model.common import Attention, LayerScale


class _CausalBlock(nn.Module):
    def __init__(self, width: int, heads: int, mlp_ratio: float, layer_scale: float | None) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(width)
        self.attn = Attention(width, heads)
        self.ln_2 = nn.LayerNorm(width)
        self.mlp = nn.Sequential(
            nn.Linear(width, int(width * mlp_ratio)), nn.GELU(), nn.Linear(int(width * mlp_ratio), width)
        )
        self.ls_1 = LayerScale(width, layer_scale) if layer_scale else nn.Identity()
        self.ls_2 = LayerScale(width, layer_scale) if layer_scale else nn.Identity()

    def forward(self, x: torch.Tensor, causal: torch.Tensor) -> torch.Tensor:
        y = self.ln_1(x)
        x = x + self.ls_1(self.attn(y, y, y, attn_mask=causal))
        return x + self.ls_2(self.mlp(self.ln_2(x)))


class VETextEncoder(nn.Module):
    def __init__(
        self,
        d_model: int,
        vocab_size: int = 49408,
        width: int = 64,
        heads: int = 4,
        layers: int = 2,
        context_length: int = 32,
        mlp_ratio: float = 4.0,
        layer_scale: float | None = None,
    ) -> None:
        super().__init__()
        self.token_embedding = nn.Embedding(vocab_size, width)
        self.positional_embedding = nn.Parameter(torch.zeros(context_length, width))
        self.blocks = nn.ModuleList(_CausalBlock(width, heads, mlp_ratio, layer_scale) for _ in range(layers))
        self.ln_final = nn.LayerNorm(width)
        self.resizer = nn.Linear(width, d_model)
        self.context_length = context_length
        nn.init.normal_(self.token_embedding.weight, std=0.02)
        nn.init.normal_(self.positional_embedding, std=0.01)

    def forward(self, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """tokens: [B, L] int (L <= context_length) -> (features [B, L, d_model], padding [B, L] bool)."""
        _b, n = tokens.shape
        if n > self.context_length:
            raise ValueError(f"expected at most {self.context_length} tokens, got {n}")
        x = self.token_embedding(tokens) + self.positional_embedding[:n]
        causal = torch.ones(n, n, dtype=torch.bool, device=tokens.device).tril()
        for blk in self.blocks:
            x = blk(x, causal)
        pad = tokens == 0
        pad[:, 0] = False  # <start_of_text> is never padding
        return self.resizer(self.ln_final(x)), pad
