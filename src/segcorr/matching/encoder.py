"""ConvNeXt V2-style encoder of a grey image: coarse features at 1/8 and fine features at 1/2.

Block (ConvNeXt V2): depthwise 7x7 -> LayerNorm -> pointwise expand -> GELU -> GRN (global response
normalisation) -> pointwise project, residual. Stages at 1/2, 1/4, 1/8 joined by LayerNorm + 2x2 stride-2
convolutions; the fine map is a 1x1 projection of the 1/2 stage plus the upsampled 1/4 stage (a one-step FPN),
so fine features see more context than the shallow 1/2 stage alone.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from segcorr.matching.common import Pointwise


class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over the channels of a [B, C, H, W] map."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class GRN(nn.Module):
    """Global response normalisation of channels-last features [B, H, W, C] (ConvNeXt V2)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.gamma = nn.Parameter(torch.zeros(1, 1, 1, dim))
        self.beta = nn.Parameter(torch.zeros(1, 1, 1, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, h, w, c = x.shape
        # L2 norm over H, W as a sum of squares over the flattened rows: torch.norm over two non-innermost dims of
        # a channels-last map is about 8x slower on CPU. The floor keeps the square root's gradient finite for an
        # all-zero channel (whose output does not depend on nx).
        gx = x.reshape(b, h * w, c).square().sum(1).clamp(min=1e-12).sqrt().reshape(b, 1, 1, c)
        nx = gx / (gx.mean(dim=-1, keepdim=True) + 1e-6)
        # gamma * (x * nx) + beta + x, as one fused pass over x
        return torch.addcmul(self.beta, x, self.gamma * nx + 1.0)


class ConvNeXtV2Block(nn.Module):
    """x + pw2(GRN(GELU(pw1(LN(dw7x7(x)))))). Forward: [B, C, H, W] -> same."""

    def __init__(self, dim: int, mlp_ratio: int = 2) -> None:
        super().__init__()
        self.dw = nn.Conv2d(dim, dim, 7, padding=3, groups=dim)
        self.norm = nn.LayerNorm(dim)
        self.pw1 = nn.Linear(dim, mlp_ratio * dim)
        self.grn = GRN(mlp_ratio * dim)
        self.pw2 = nn.Linear(mlp_ratio * dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.dw(x).permute(0, 2, 3, 1)
        y = self.pw2(self.grn(F.gelu(self.pw1(self.norm(y)))))
        return x + y.permute(0, 3, 1, 2)


class Encoder(nn.Module):
    """Grey image -> (coarse [B, C_enc, H/8, W/8], fine [B, C_fine, H/2, W/2]).

    Arguments:
        dims: channels of the 1/2 and 1/4 stages (the 1/8 stage has ``c_enc``).
        depths: blocks at 1/2, 1/4, 1/8.
    Forward: image [B, 1, H, W] in 0..1, H and W multiples of 8. Outputs are in channels-last memory format.
    """

    def __init__(
        self,
        c_enc: int = 128,
        c_fine: int = 64,
        dims: tuple[int, int] = (24, 48),
        depths: tuple[int, int, int] = (1, 1, 2),
        mlp_ratio: int = 2,
    ) -> None:
        super().__init__()
        d1, d2 = dims
        self.stem = nn.Sequential(nn.Conv2d(1, d1, 3, stride=2, padding=1), LayerNorm2d(d1))
        self.stage1 = nn.Sequential(*[ConvNeXtV2Block(d1, mlp_ratio) for _ in range(depths[0])])
        self.down2 = nn.Sequential(LayerNorm2d(d1), nn.Conv2d(d1, d2, 2, stride=2))
        self.stage2 = nn.Sequential(*[ConvNeXtV2Block(d2, mlp_ratio) for _ in range(depths[1])])
        self.down3 = nn.Sequential(LayerNorm2d(d2), nn.Conv2d(d2, c_enc, 2, stride=2))
        self.stage3 = nn.Sequential(*[ConvNeXtV2Block(c_enc, mlp_ratio) for _ in range(depths[2])])
        self.out_norm = LayerNorm2d(c_enc)
        self.fine1 = Pointwise(d1, c_fine)
        self.fine2 = Pointwise(d2, c_fine)

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        # centre the input so the stem sees zero-mean values (images come in 0..1); channels-last memory from the
        # stem on, so the blocks' permutes to [B, H, W, C] are views rather than copies, and the outputs come
        # out with channels contiguous (what token-wise consumers read)
        x = self.stem[0](image * 2.0 - 1.0).contiguous(memory_format=torch.channels_last)
        x1 = self.stage1(self.stem[1](x))
        x2 = self.stage2(self.down2(x1))
        coarse = self.out_norm(self.stage3(self.down3(x2)))
        return coarse, self._fine(x1, x2)

    def _fine(self, x1: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
        """fine1(x1) + up2(fine2(x2)), [B, C_fine, H/2, W/2] channels-last, as one GEMM accumulated into the
        upsampled map (no separate full-size sum): fine1's bias joins fine2's before the upsampling, which keeps a
        constant constant."""
        y2 = F.linear(x2.permute(0, 2, 3, 1), self.fine2.weight, self.fine2.bias + self.fine1.bias)
        up = F.interpolate(y2.permute(0, 3, 1, 2), scale_factor=2.0, mode="bilinear", align_corners=False)
        b, c, h, w = up.shape
        flat = up.permute(0, 2, 3, 1).reshape(b * h * w, c)  # a view when channels-last (a copy otherwise)
        flat = flat.addmm_(x1.permute(0, 2, 3, 1).reshape(b * h * w, -1), self.fine1.weight.t())
        return flat.view(b, h, w, c).permute(0, 3, 1, 2)
