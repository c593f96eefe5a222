"""Supervised multi-scale (multi-iteration) end-point loss for data with ground-truth flow."""

from __future__ import annotations

import torch


def sequence_loss(
    preds: list[torch.Tensor],
    gt: torch.Tensor,
    valid: torch.Tensor | None = None,
    gamma: float = 0.8,
    max_flow: float = 400.0,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """RAFT-style sequence loss: sum_i gamma^(n-1-i) * mean L1 error of prediction i.

    preds: list of [B, 2, H, W] (earliest first); gt: [B, 2, H, W]; valid: [B, H, W] (bool or 0/1 float) or
    None (all valid). Pixels with |gt| >= max_flow are ignored. Returns (loss, metrics) with metrics of the last
    prediction as 0-d tensors: epe, px1, px3, px5 (fractions of valid pixels with EPE below 1/3/5 px).
    """
    if not preds:
        raise ValueError("expected at least one prediction, found an empty list")
    if gt.ndim != 4 or gt.shape[1] != 2 or preds[-1].shape != gt.shape:
        raise ValueError(
            f"expected predictions and gt of shape [B, 2, H, W], found {tuple(preds[-1].shape)} and {tuple(gt.shape)}"
        )
    mask = torch.linalg.vector_norm(gt, dim=1) < max_flow
    if valid is not None:
        mask = mask & (valid > 0.5 if valid.is_floating_point() else valid.bool())
    w = mask.to(gt.dtype).unsqueeze(1)
    denom = w.sum().clamp_min(1.0)
    n = len(preds)
    loss = gt.new_zeros(())
    for i, p in enumerate(preds):
        loss = loss + gamma ** (n - 1 - i) * ((p - gt).abs() * w).sum() / denom
    with torch.no_grad():
        epe = torch.linalg.vector_norm(preds[-1] - gt, dim=1)[mask]
        if epe.numel() == 0:
            epe = gt.new_zeros(1)
        metrics = {
            "epe": epe.mean(),
            "px1": (epe < 1).float().mean(),
            "px3": (epe < 3).float().mean(),
            "px5": (epe < 5).float().mean(),
        }
    return loss, metrics
