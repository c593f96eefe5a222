"""Local cost lookups around a flow estimate, from a dense correlation pyramid or from features on the fly.

Both give the same numbers: pooling the correlation over target pixels equals correlating with pooled
target features, and bilinear sampling is linear too, so ``FeatureCorrLookup`` is the memory-light twin
of ``DenseCorrPyramid`` (O(HW * levels * (2r+1)^2) instead of O(HW^2)).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def _window(radius: int, like: torch.Tensor) -> torch.Tensor:
    """Offsets [(2r+1)^2, 2] as (dx, dy)."""
    r = torch.arange(-radius, radius + 1, device=like.device, dtype=like.dtype)
    dy, dx = torch.meshgrid(r, r, indexing="ij")
    return torch.stack([dx, dy], -1).reshape(-1, 2)


def _normalise(pts: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """Pixel (x, y) -> grid_sample coordinates in [-1, 1] (align_corners=True)."""
    scale = pts.new_tensor([2.0 / max(w - 1, 1), 2.0 / max(h - 1, 1)])
    return pts * scale - 1.0


class DenseCorrPyramid:
    """corr: [B, HW, h, w] (query pixel x target map) -> pyramid of target maps pooled by 2^l.

    Coarser levels are computed as ``q . avgpool(k)`` when the features are given (exactly the pooled
    correlation, and far cheaper than pooling the HW x HW volume), else by pooling ``corr``.
    q: [B, C, h, w], k: [B, C, h, w] with corr = q^T k. Memory: B * HW^2 * 4/3 floats (38 MB * 4/3 at 512x384).
    """

    def __init__(
        self, corr: torch.Tensor, levels: int, q: torch.Tensor | None = None, k: torch.Tensor | None = None
    ) -> None:
        b, n, h, w = corr.shape
        self.b, self.h, self.w = b, h, w
        c = corr.reshape(b * n, 1, h, w)
        self.pyramid = [c]
        kl = k
        for _ in range(levels - 1):
            if min(c.shape[-2:]) >= 2:
                if q is not None and kl is not None:
                    kl = F.avg_pool2d(kl, 2, 2)
                    c = (q.flatten(2).transpose(1, 2) @ kl.flatten(2)).reshape(b * n, 1, *kl.shape[-2:])
                else:
                    c = F.avg_pool2d(c, 2, 2)
            self.pyramid.append(c)

    def __call__(self, coords: torch.Tensor, radius: int, levels: int) -> torch.Tensor:
        """coords: [B, 2, h, w] target positions (1/8 px) -> costs [B, levels * (2r+1)^2, h, w]."""
        b, _, h, w = coords.shape
        off = _window(radius, coords)
        pts = coords.permute(0, 2, 3, 1).reshape(b * h * w, 1, 1, 2)
        out = []
        for lvl in range(levels):
            c = self.pyramid[lvl]
            scale = [self.w / c.shape[-1], self.h / c.shape[-2]]
            p = pts / pts.new_tensor(scale) + off.view(1, 1, -1, 2)  # [BHW, 1, K, 2]
            s = F.grid_sample(c, _normalise(p, c.shape[-2], c.shape[-1]), align_corners=True)
            out.append(s.reshape(b, h, w, -1))
        return torch.cat(out, -1).permute(0, 3, 1, 2)


class FeatureCorrLookup:
    """The same lookup computed from features: correlation = f0 . f1 per pixel pair, f0, f1 [B, C, h, w]
    (already scaled as the correlation needs); never forms the HW x HW volume."""

    def __init__(self, f0: torch.Tensor, f1: torch.Tensor, levels: int) -> None:
        self.f0 = f0
        self.h, self.w = f0.shape[-2:]
        f = f1
        self.pyramid = [f]
        for _ in range(levels - 1):
            f = F.avg_pool2d(f, 2, 2) if min(f.shape[-2:]) >= 2 else f
            self.pyramid.append(f)

    def __call__(self, coords: torch.Tensor, radius: int, levels: int) -> torch.Tensor:
        """coords: [B, 2, h, w] -> costs [B, levels * (2r+1)^2, h, w]."""
        b, _, h, w = coords.shape
        off = _window(radius, coords)
        pts = coords.permute(0, 2, 3, 1).reshape(b, h * w, 1, 2)
        out = []
        for lvl in range(levels):
            f = self.pyramid[lvl]
            scale = [self.w / f.shape[-1], self.h / f.shape[-2]]
            p = pts / pts.new_tensor(scale) + off.view(1, 1, -1, 2)  # [B, HW, K, 2]
            s = F.grid_sample(f, _normalise(p, f.shape[-2], f.shape[-1]), align_corners=True)  # [B, C, HW, K]
            out.append(torch.einsum("bcnk,bcn->bnk", s, self.f0.flatten(2)).reshape(b, h, w, -1))
        return torch.cat(out, -1).permute(0, 3, 1, 2)
