"""Joint Mamba initializer (JamMa's JointMamba, made multi-head): first interaction of the two images.

JEGO joint scan of both coarse grids -> a Mamba per direction (``depth`` layers) -> merge -> heads:

- ``heads="multi"``: two heads on the shared trunk, each with its own GLU aggregator of 3x3 convolutions:
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

from segcorr.matching.common import GLUConv, pair_apply
from segcorr.matching.jego import JEGOMamba

HEADS = ("multi", "single")


class Initializer(nn.Module):
    """Forward: c0 [B, C_enc, h0, w0], c1 [B, C_enc, h1, w1] -> (F_match0 [B, C_match, h0, w0], F_match1,
    F_geom0 [B, C_geom, h0, w0], F_geom1)."""

    def __init__(self, c_enc: int, c_match: int, c_geom: int, depth: int = 1, d_state: int = 16, expand: int = 2,
                 order: str = "rowmajor", heads: str = "multi", backend: str = "sequential") -> None:
        super().__init__()
        if heads not in HEADS:
            raise ValueError(f"heads: expected one of {HEADS}, found {heads!r}")
        self.heads = heads
        self.layers = nn.ModuleList([JEGOMamba(c_enc, d_state, expand, order, backend) for _ in range(depth)])
        self.match_agg = GLUConv(c_enc, c_enc)
        self.match_out = nn.Conv2d(c_enc, c_match, 1)
        if heads == "multi":
            self.geom_head = nn.Sequential(nn.Conv2d(c_enc, c_geom, 1), GLUConv(c_geom, c_geom))
        else:
            self.geom_head = nn.Conv2d(c_enc, c_geom, 1)

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        agg = self.match_agg(x)
        geom = self.geom_head(x if self.heads == "multi" else agg)
        return torch.cat([self.match_out(agg), geom], 1)

    def forward(self, c0: torch.Tensor, c1: torch.Tensor):
        for layer in self.layers:
            c0, c1 = layer(c0, c1)
        y0, y1 = pair_apply(self._heads, c0, c1)
        cm = self.match_out.out_channels
        return y0[:, :cm], y1[:, :cm], y0[:, cm:], y1[:, cm:]
