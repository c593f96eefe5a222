"""Warping, forward-backward occlusion and the census photometric loss (pure functions, batched)."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def warp(x: torch.Tensor, flow: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Backward warp: sample x at p + flow(p).

    x: [B, C, H, W]; flow: [B, 2, H, W] in pixels -> (warped [B, C, H, W], inside [B, 1, H, W] bool: the
    sample point lies in the frame).
    """
    _b, _, h, w = flow.shape
    ys, xs = torch.meshgrid(
        torch.arange(h, device=flow.device, dtype=flow.dtype),
        torch.arange(w, device=flow.device, dtype=flow.dtype),
        indexing="ij",
    )
    px = xs + flow[:, 0]
    py = ys + flow[:, 1]
    grid = torch.stack([2 * px / max(w - 1, 1) - 1, 2 * py / max(h - 1, 1) - 1], -1)
    out = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=True)
    inside = (px >= 0) & (px <= w - 1) & (py >= 0) & (py <= h - 1)
    return out, inside.unsqueeze(1)


def fb_occlusion(
    flow_fw: torch.Tensor, flow_bw: torch.Tensor, alpha1: float = 0.01, alpha2: float = 0.5
) -> torch.Tensor:
    """Occlusion of frame-0 pixels by forward-backward consistency (UnFlow's test), plus leaving the frame.

    flow_fw: [B, 2, H, W] 0->1; flow_bw: [B, 2, H, W] 1->0 -> occ [B, 1, H, W] bool (True = occluded).
    A pixel is occluded when |fw + bw(p + fw)|^2 > alpha1 * (|fw|^2 + |bw(p + fw)|^2) + alpha2.
    """
    bw_at, inside = warp(flow_bw, flow_fw)
    diff = (flow_fw + bw_at).pow(2).sum(1, keepdim=True)
    mag = flow_fw.pow(2).sum(1, keepdim=True) + bw_at.pow(2).sum(1, keepdim=True)
    return (diff > alpha1 * mag + alpha2) | ~inside


def _gray(img: torch.Tensor) -> torch.Tensor:
    if img.shape[1] == 1:
        return img
    return 0.299 * img[:, 0:1] + 0.587 * img[:, 1:2] + 0.114 * img[:, 2:3]


def census_transform(img: torch.Tensor, radius: int = 3) -> torch.Tensor:
    """Soft census signature: img [B, C, H, W] in 0..1 -> [B, (2r+1)^2, H, W], each neighbour's normalised
    difference to the centre (robust to brightness changes between frames)."""
    g = _gray(img) * 255.0
    k = 2 * radius + 1
    patches = F.unfold(F.pad(g, (radius,) * 4, mode="replicate"), k).view(g.shape[0], k * k, *g.shape[-2:])
    d = patches - g
    return d / torch.sqrt(0.81 + d * d)


def census_distance(img0: torch.Tensor, img1_warped: torch.Tensor, radius: int = 3) -> torch.Tensor:
    """Per-pixel soft Hamming distance of census signatures, robustified: [B, 1, H, W], 0 for identical
    patches. img0, img1_warped: [B, C, H, W] in 0..1."""
    d = census_transform(img0, radius) - census_transform(img1_warped, radius)
    ham = (d * d / (0.1 + d * d)).mean(1, keepdim=True)
    return (ham.abs() + 0.01).pow(0.4) - 0.01**0.4
