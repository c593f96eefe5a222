"""Fine sub-pixel refinement of coarse matches on the 1/2 features (LoFTR's expectation over a window).

For a coarse match (cell i of image 0, cell j of image 1) the query is image 0's fine feature at the centre of
cell i (mean of its 2x2 central fine pixels) and the keys are image 1's fine features in a W x W window
centred on cell j (W even, so the window is whole fine pixels; W = 6 covers +-2.5 fine px = +-5 input px
around the centre, more than the +-4 px a correct coarse cell can be off). Both are enriched with their coarse
features (a linear map of F_match added, as LoFTR concatenates them). A softmax over the window gives a
heatmap; its expectation is the sub-pixel offset, normalised so the outermost window pixels are at +-1::

    expec_f = (x, y, std)      x, y in [-1, 1]; std = sum over axes of the heatmap's standard deviation
    mkpts0_f = centre of cell i;  mkpts1_f = centre of cell j + (x, y) * radius_px
    radius_px = (W - 1) / 2 * 2 input pixels (2 = input pixels per fine pixel)

Cost: M x W^2 x C_fine multiply-adds for M matches (no full-resolution processing).
"""

from __future__ import annotations

import math

import torch
from torch import nn


class FineMatcher(nn.Module):
    """Forward: ff0 [B, C_fine, H0/2, W0/2], ff1 [B, C_fine, H1/2, W1/2], m0 [B, C_match, h0, w0], m1,
    b_ids, i_ids, j_ids [M] -> dict ``expec_f`` [M, 3], ``mkpts0_f`` [M, 2], ``mkpts1_f`` [M, 2],
    ``centre1`` [M, 2] (input-pixel centre of cell j, the window's centre)."""

    def __init__(self, c_fine: int, c_match: int, window: int = 6, scale_coarse: int = 8, scale_fine: int = 2) -> None:
        super().__init__()
        if window < 2 or window % 2:
            raise ValueError(f"fine_window: expected an even window of at least 2 fine pixels, found {window}")
        self.window, self.scale_coarse, self.scale_fine = window, scale_coarse, scale_fine
        self.q_coarse = nn.Linear(c_match, c_fine)
        self.k_coarse = nn.Linear(c_match, c_fine)
        self.q_mlp = nn.Sequential(
            nn.LayerNorm(c_fine), nn.Linear(c_fine, c_fine), nn.GELU(), nn.Linear(c_fine, c_fine)
        )
        self.log_scale = nn.Parameter(torch.zeros(()))
        half = (window - 1) / 2
        k = torch.arange(window, dtype=torch.float32) - half
        ky, kx = torch.meshgrid(k, k, indexing="ij")
        self.register_buffer("offsets", torch.stack([kx, ky], -1).reshape(-1, 2) / half, persistent=False)

    @property
    def radius_px(self) -> float:
        """Input pixels from the window centre to its outermost fine pixel centre (offset 1.0)."""
        return (self.window - 1) / 2 * self.scale_fine

    def _gather(self, feat: torch.Tensor, b_ids: torch.Tensor, x0: torch.Tensor, y0: torch.Tensor, size: int):
        """Fine features of size x size blocks with top-left pixels (x0, y0) (zeros outside): [M, size^2, C].
        Indexes the map in place (a view when it is channels-last, as the encoder makes it) instead of padding a
        copy of it."""
        _bsz, c, h, w = feat.shape
        k = torch.arange(size, device=feat.device)
        ys = y0[:, None, None] + k[None, :, None]  # [M, size, 1]
        xs = x0[:, None, None] + k[None, None, :]  # [M, 1, size]
        inside = ((ys >= 0) & (ys < h) & (xs >= 0) & (xs < w)).reshape(-1, 1)  # [M * size^2, 1]
        idx = (b_ids[:, None, None] * h + ys.clamp(0, h - 1)) * w + xs.clamp(0, w - 1)
        out = feat.permute(0, 2, 3, 1).reshape(-1, c)[idx.reshape(-1)]
        return out.masked_fill_(~inside, 0.0).reshape(b_ids.shape[0], size * size, c)

    def forward(self, ff0, ff1, m0, m1, b_ids, i_ids, j_ids) -> dict:
        r = self.scale_coarse // self.scale_fine
        w0, w1 = int(m0.shape[3]), int(m1.shape[3])
        cx0, cy0 = i_ids % w0, torch.div(i_ids, w0, rounding_mode="floor")
        cx1, cy1 = j_ids % w1, torch.div(j_ids, w1, rounding_mode="floor")
        # 2x2 central fine pixels of cell i; the W x W window centred on cell j
        q = self._gather(ff0, b_ids, r * cx0 + r // 2 - 1, r * cy0 + r // 2 - 1, 2).mean(1)
        keys = self._gather(
            ff1, b_ids, r * cx1 + r // 2 - self.window // 2, r * cy1 + r // 2 - self.window // 2, self.window
        )
        q = self.q_mlp(q + self.q_coarse(m0.flatten(2)[b_ids, :, i_ids]))
        keys = keys + self.k_coarse(m1.flatten(2)[b_ids, :, j_ids])[:, None]
        heat = torch.softmax((keys @ q[:, :, None])[..., 0] * (torch.exp(self.log_scale) / math.sqrt(q.shape[-1])), -1)
        mean = heat @ self.offsets
        var = heat @ self.offsets**2 - mean**2
        std = torch.sqrt(var.clamp(min=1e-10)).sum(-1)
        sc = self.scale_coarse
        centre0 = torch.stack([cx0, cy0], -1).to(mean.dtype) * sc + (sc - 1) / 2
        centre1 = torch.stack([cx1, cy1], -1).to(mean.dtype) * sc + (sc - 1) / 2
        return {
            "expec_f": torch.cat([mean, std[:, None]], -1),
            "mkpts0_f": centre0,
            "mkpts1_f": centre1 + mean * self.radius_px,
            "centre1": centre1,
        }
