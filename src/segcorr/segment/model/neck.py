"""``Sam3DualViTDetNeck``: a simple feature pyramid from the ViT's single-scale output (ViTDet).

Levels at scale factors 4, 2, 1, 0.5 of the ViT stride (16): strides 4, 8, 16, 32; the last level can be
dropped (``scale_factors=(4, 2, 1)``), as upstream does for the interactive path. ``dual=True`` builds a second
pyramid of its own weights for the interactive (SAM) decoder, so the concept detector and the prompt decoder
read separate features; with ``dual=False`` both read one pyramid. The patch embedding's stride-4 and stride-8
maps are added to the two finest levels (``stem_skips``): thin parts and line art survive the stride-16 tokens.
"""

from __future__ import annotations

import torch
from torch import nn

from segcorr.segment.model.common import LayerNorm2d


def _level(scale: float, in_dim: int, out_dim: int) -> nn.Module:
    if scale == 4.0:
        up = [
            nn.ConvTranspose2d(in_dim, in_dim // 2, 2, 2),
            LayerNorm2d(in_dim // 2),
            nn.GELU(),
            nn.ConvTranspose2d(in_dim // 2, in_dim // 4, 2, 2),
        ]
        c = in_dim // 4
    elif scale == 2.0:
        up, c = [nn.ConvTranspose2d(in_dim, in_dim // 2, 2, 2)], in_dim // 2
    elif scale == 1.0:
        up, c = [], in_dim
    elif scale == 0.5:
        up, c = [nn.MaxPool2d(2, 2)], in_dim
    else:
        raise ValueError(f"scale factor {scale} not in (4, 2, 1, 0.5)")
    # at strides 4 and 8 a full 3x3 convolution would cost more than the whole ViT: a depthwise one mixes space
    mix = (
        nn.Conv2d(out_dim, out_dim, 3, padding=1, groups=out_dim)
        if scale >= 2.0
        else nn.Conv2d(out_dim, out_dim, 3, padding=1)
    )
    return nn.Sequential(*up, nn.Conv2d(c, out_dim, 1), LayerNorm2d(out_dim), mix)


class _Pyramid(nn.Module):
    def __init__(self, in_dim: int, d_model: int, scale_factors: tuple[float, ...], stem_skips: bool) -> None:
        super().__init__()
        self.levels = nn.ModuleList(_level(s, in_dim, d_model) for s in scale_factors)
        self.skips = nn.ModuleList()
        if stem_skips:
            for s in scale_factors:
                if s in (4.0, 2.0):
                    self.skips.append(nn.Conv2d(in_dim // 4 if s == 4.0 else in_dim // 2, d_model, 1))
        self.scale_factors = scale_factors

    def forward(self, x: torch.Tensor, f4: torch.Tensor, f8: torch.Tensor) -> list[torch.Tensor]:
        outs = []
        k = 0
        for s, level in zip(self.scale_factors, self.levels):
            y = level(x)
            if len(self.skips) and s in (4.0, 2.0):
                y = y + self.skips[k](f4 if s == 4.0 else f8)
                k += 1
            outs.append(y)
        return outs


class Sam3DualViTDetNeck(nn.Module):
    """x: [B, C, h, w] ViT tokens -> list of [B, d_model, h*s, w*s] for each scale factor s (and a second list
    for the interactive decoder when ``dual``)."""

    def __init__(
        self,
        in_dim: int,
        d_model: int,
        scale_factors: tuple[float, ...] = (4.0, 2.0, 1.0, 0.5),
        dual: bool = False,
        stem_skips: bool = True,
    ) -> None:
        super().__init__()
        self.detector = _Pyramid(in_dim, d_model, tuple(scale_factors), stem_skips)
        self.interactive = _Pyramid(in_dim, d_model, tuple(scale_factors), stem_skips) if dual else None
        self.scale_factors = tuple(scale_factors)

    def forward(self, x: torch.Tensor, f4: torch.Tensor, f8: torch.Tensor) -> tuple[list, list]:
        det = self.detector(x, f4, f8)
        inter = self.interactive(x, f4, f8) if self.interactive is not None else det
        return det, inter
