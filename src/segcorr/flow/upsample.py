"""Convex upsampling (RAFT): each full-resolution flow vector is a learned convex combination of the
3x3 coarse vectors around it, so motion edges stay sharp instead of being blurred by bilinear resizing."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def upsample_bilinear(flow: torch.Tensor, factor: int = 8) -> torch.Tensor:
    """flow: [B, 2, h, w] in coarse pixels -> [B, 2, h*factor, w*factor] in full pixels."""
    return factor * F.interpolate(flow, scale_factor=factor, mode="bilinear", align_corners=False)


class ConvexUpsampler(nn.Module):
    """Predicts the 9-way combination weights of each of the factor^2 sub-pixels from a feature map.

    forward(flow [B, 2, h, w] coarse pixels, feat [B, in_dim, h, w], affinity [B, 9, f, f, h, w] or None)
    -> flow [B, 2, h*f, w*f] full pixels. With `affinity` (see `sam_adapter.upsample_affinity`) the weights are
    reweighted by (affinity + floor) and renormalised: a pixel draws its motion from the coarse cells of its own
    segment instead of averaging across a motion boundary.
    """

    floor = 0.05

    def __init__(self, in_dim: int, factor: int = 8, mid: int = 64) -> None:
        super().__init__()
        self.factor = factor
        self.mask = nn.Sequential(
            nn.Conv2d(in_dim, mid, 3, 1, 1), nn.ReLU(inplace=True), nn.Conv2d(mid, 9 * factor * factor, 1)
        )

    def forward(self, flow: torch.Tensor, feat: torch.Tensor, affinity: torch.Tensor | None = None) -> torch.Tensor:
        b, _, h, w = flow.shape
        f = self.factor
        # the 0.25 scale keeps the initial softmax soft (close to bilinear), which trains more stably
        mask = torch.softmax(0.25 * self.mask(feat).view(b, 1, 9, f, f, h, w), dim=2)
        if affinity is not None:
            mask = mask * (affinity.unsqueeze(1) + self.floor)
            mask = mask / mask.sum(2, keepdim=True)
        nb = F.unfold(f * flow, 3, padding=1).view(b, 2, 9, 1, 1, h, w)
        up = (mask * nb).sum(2)  # [B, 2, f, f, h, w]
        return up.permute(0, 1, 4, 2, 5, 3).reshape(b, 2, h * f, w * f)
