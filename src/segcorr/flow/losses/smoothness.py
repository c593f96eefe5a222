"""Edge-aware flow smoothness and segment-boundary sharpness (pure functions, batched)."""

from __future__ import annotations

import torch


def _dx(x: torch.Tensor) -> torch.Tensor:
    return x[..., :, 1:] - x[..., :, :-1]


def _dy(x: torch.Tensor) -> torch.Tensor:
    return x[..., 1:, :] - x[..., :-1, :]


def edge_aware_smoothness(
    flow: torch.Tensor, img: torch.Tensor, order: int = 2, edge_weight: float = 150.0
) -> torch.Tensor:
    """Mean |d^order flow| weighted by exp(-edge_weight * |dI|) (flow may bend where the image has edges).

    flow: [B, 2, H, W] pixels; img: [B, C, H, W] in 0..1; order: 1 or 2 -> 0-d loss.
    """
    if order not in (1, 2):
        raise ValueError(f"expected smoothness order 1 or 2, found {order}")
    wx = torch.exp(-edge_weight * _dx(img).abs().mean(1, keepdim=True))
    wy = torch.exp(-edge_weight * _dy(img).abs().mean(1, keepdim=True))
    fx, fy = _dx(flow), _dy(flow)
    if order == 2:
        fx, fy = _dx(fx), _dy(fy)
        wx, wy = wx[..., :, 1:], wy[..., 1:, :]
    return 0.5 * ((wx * fx.abs()).mean() + (wy * fy.abs()).mean())


def segment_edges(labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """labels: [B, H, W] -> (ex [B, 1, H, W-1], ey [B, 1, H-1, W]) float, 1 between pixels of different labels."""
    lab = labels.unsqueeze(1)
    return (_dx(lab) != 0).float(), (_dy(lab) != 0).float()


def boundary_sharpness(flow: torch.Tensor, labels: torch.Tensor, relax: float = 0.1) -> torch.Tensor:
    """Flow gradients are penalised fully inside segments and only ``relax`` times across segment
    boundaries, so motion edges settle on segment boundaries rather than inside segments.

    flow: [B, 2, H, W]; labels: [B, H, W] (0 = unlabelled, treated as its own region) -> 0-d loss.
    """
    ex, ey = segment_edges(labels)
    wx = 1.0 - (1.0 - relax) * ex
    wy = 1.0 - (1.0 - relax) * ey
    return 0.5 * ((wx * _dx(flow).abs()).mean() + (wy * _dy(flow).abs()).mean())
