"""CNN encoder: one light residual trunk to 1/8, with a matching-feature head and a context head."""

from __future__ import annotations

import torch
from torch import nn


def _norm(ch: int) -> nn.GroupNorm:
    # GroupNorm, not BatchNorm: training batches are small and DDP ranks must not need synced statistics
    groups = next(g for g in (8, 4, 2, 1) if ch % g == 0)
    return nn.GroupNorm(groups, ch)


class ResBlock(nn.Module):
    """Two 3x3 convs with a residual path; ``stride`` 2 halves the resolution."""

    def __init__(self, cin: int, cout: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.n1 = _norm(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.n2 = _norm(cout)
        self.act = nn.ReLU(inplace=True)
        self.skip = None
        if stride != 1 or cin != cout:
            self.skip = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), _norm(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.act(self.n1(self.conv1(x)))
        y = self.n2(self.conv2(y))
        return self.act(y + (x if self.skip is None else self.skip(x)))


class FlowEncoder(nn.Module):
    """Images -> matching features and context at 1/8.

    Arguments: dims: channels at 1/2, 1/4, 1/8; feat_dim: matching feature channels; ctx_dim: context channels.
    forward(x: [B, 3, H, W] normalised, H and W multiples of 8) -> (feat [B, feat_dim, H/8, W/8],
    ctx [B, ctx_dim, H/8, W/8]).
    """

    def __init__(self, dims: tuple[int, int, int] = (32, 48, 64), feat_dim: int = 96, ctx_dim: int = 64) -> None:
        super().__init__()
        d2, d4, d8 = dims
        # a single strided 5x5 stem: the 1/2 level is the most expensive on CPU, so it gets no block
        self.stem = nn.Sequential(nn.Conv2d(3, d2, 5, 2, 2, bias=False), _norm(d2), nn.ReLU(inplace=True))
        self.layer4 = ResBlock(d2, d4, stride=2)
        self.layer8 = nn.Sequential(ResBlock(d4, d8, stride=2), ResBlock(d8, d8))
        self.feat_head = nn.Conv2d(d8, feat_dim, 1)
        self.ctx_head = nn.Sequential(nn.Conv2d(d8, ctx_dim, 3, 1, 1), nn.ReLU(inplace=True))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        y = self.layer8(self.layer4(self.stem(x)))
        return self.feat_head(y), self.ctx_head(y)
