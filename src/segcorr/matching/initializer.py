"""Joint Mamba initializer (JamMa's JointMamba, made multi-head): first interaction of the two images.

JEGO joint scan of both coarse grids -> a Mamba per direction (``depth`` layers) -> merge -> heads:

- ``heads="multi"``: two heads on the shared trunk, each its own GLU aggregator of 3x3 convolutions:
  a matching head (F_match, C_match channels: descriptors for the dual-softmax) and a geometry head (F_geom,
  C_geom channels: what the flow head reads to place the adaptive span and what the matchability loss
  supervises). Separate heads let the descriptors stay discriminative while the geometry features encode
  position and visibility.
- ``heads="single"`` (ablation): one aggregator; F_match and F_geom are two linear read-outs of the same
  features.
"""

from __future__ import annotations

import torch
from torch import nn

from segcorr.matching.common import GLUConv, Pointwise, pair_apply
from segcorr.matching.jego import JEGOMamba

HEADS = ("multi", "single")


class Initializer(nn.Module):
    """Forward: c0 [B, C_enc, h0, w0], c1 [B, C_enc, h1, w1] -> (F_match0 [B, C_match, h0, w0], F_match1,
    F_geom0 [B, C_geom, h0, w0], F_geom1)."""

    def __init__(
        self,
        c_enc: int,
        c_match: int,
        c_geom: int,
        depth: int = 1,
        d_state: int = 16,
        expand: int = 2,
        order: str = "rowmajor",
        heads: str = "multi",
        backend: str = "sequential",
        glu_hidden: int | None = None,
    ) -> None:
        super().__init__()
        if heads not in HEADS:
            raise ValueError(f"heads: expected one of {HEADS}, found {heads!r}")
        self.heads = heads
        self.layers = nn.ModuleList([JEGOMamba(c_enc, d_state, expand, order, backend) for _ in range(depth)])
        self.c_match = c_match
        hidden = glu_hidden or c_enc
        if heads == "multi":
            self.match_head = GLUConv(c_enc, hidden, c_match)
            self.geom_head = nn.Sequential(Pointwise(c_enc, c_geom), GLUConv(c_geom, c_geom))
        else:
            self.match_head = GLUConv(c_enc, hidden, c_enc)
            self.read_match = Pointwise(c_enc, c_match) if c_match != c_enc else nn.Identity()
            self.read_geom = Pointwise(c_enc, c_geom)

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        if self.heads == "multi":
            return torch.cat([self.match_head(x), self.geom_head(x)], 1)
        agg = self.match_head(x)
        return torch.cat([self.read_match(agg), self.read_geom(agg)], 1)

    def forward(self, c0: torch.Tensor, c1: torch.Tensor):
        for layer in self.layers:
            c0, c1 = layer(c0, c1)
        y0, y1 = pair_apply(self._heads, c0, c1)
        cm = self.c_match
        return y0[:, :cm], y1[:, :cm], y0[:, cm:], y1[:, cm:]
