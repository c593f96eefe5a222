"""Segment-aware V3 loss terms (pure functions, batched over images and segments).

Label maps are [B, H, W] integer (0 = no segment); the largest segments are kept via
``segcorr.flow.sam_adapter.relabel_largest``, the same rule the model uses.
"""

from __future__ import annotations

import torch

from segcorr.flow.sam_adapter import relabel_largest


def _onehot(labels: torch.Tensor, k: int, like: torch.Tensor) -> torch.Tensor:
    """labels [B, H, W] -> [B, k, HW] float membership of the k largest segments."""
    chan = relabel_largest(labels, k).flatten(1)
    return (chan[:, None, :] == torch.arange(k, device=chan.device)[None, :, None]).to(like.dtype)


def _coords(h: int, w: int, like: torch.Tensor) -> torch.Tensor:
    """Homogeneous pixel coordinates scaled to [-1, 1] (well-conditioned normal equations): [HW, 3]."""
    ys, xs = torch.meshgrid(
        torch.linspace(-1, 1, h, device=like.device, dtype=like.dtype),
        torch.linspace(-1, 1, w, device=like.device, dtype=like.dtype),
        indexing="ij",
    )
    return torch.stack([xs.reshape(-1), ys.reshape(-1), torch.ones_like(xs).reshape(-1)], -1)


def weighted_affine_fields(flow: torch.Tensor, weights: torch.Tensor, ridge: float = 1e-4) -> torch.Tensor:
    """Weighted least-squares affine motion per segment, all segments of all images at once (differentiable;
    the robust NumPy fit the refinement uses is `segcorr.flow.segment_fit.robust_segment_affines`).

    flow: [B, 2, H, W]; weights: [B, K, HW] (>= 0, e.g. segment membership x visibility) ->
    fitted flow [B, K, 2, HW] (the affine field of segment k evaluated over the whole image).
    Solves the 3x3 normal equations (X^T W X + ridge I) P = X^T W f for P [3, 2] per segment.
    """
    _b, _, h, w = flow.shape
    x = _coords(h, w, flow)  # [N, 3]
    f = flow.flatten(2)  # [B, 2, N]
    wx = weights[..., None] * x  # [B, K, N, 3]
    a = wx.transpose(-1, -2) @ x + ridge * torch.eye(3, device=flow.device, dtype=flow.dtype)
    rhs = wx.transpose(-1, -2) @ f.transpose(1, 2)[:, None]  # [B, K, 3, 2]
    params = torch.linalg.solve(a, rhs)
    return torch.einsum("ni,bkic->bkcn", x, params)


def segment_affine_loss(
    flow: torch.Tensor,
    labels: torch.Tensor,
    visible: torch.Tensor | None = None,
    max_segments: int = 6,
    min_pixels: int = 4,
    min_visible: float = 0.2,
    min_inliers: float = 0.5,
    inlier_px: float = 1.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Pull the flow of each segment toward its own best affine motion (UnSAMFlow's homography smoothness,
    with an affine model so the fit is one small linear solve).

    The fit uses visible (non-occluded) pixels of the current flow, detached; the loss (Charbonnier distance
    to the fit) covers every pixel of the segment, so visible motion fills in occluded parts. Guards: at most
    ``max_segments`` (largest) per image; a segment is used only with >= ``min_pixels`` and >= ``min_visible``
    of its pixels visible, and when >= ``min_inliers`` of its visible pixels lie within ``inlier_px`` of the
    fit (a segment that does not move affinely is left alone).
    flow: [B, 2, H, W]; labels: [B, H, W]; visible: [B, 1, H, W] or [B, H, W] bool/float or None ->
    (loss 0-d, used: number of segments used, 0-d).
    """
    b = flow.shape[0]
    member = _onehot(labels, max_segments, flow)  # [B, K, N]
    vis = flow.new_ones(b, 1, member.shape[-1]) if visible is None else visible.reshape(b, 1, -1).to(flow.dtype)
    wts = member * vis
    f = flow.detach()
    fitted = weighted_affine_fields(f, wts)  # [B, K, 2, N]
    n_seg, n_vis = member.sum(-1), wts.sum(-1)
    resid = torch.linalg.vector_norm(f.flatten(2)[:, None] - fitted, dim=2)  # [B, K, N]
    inliers = ((resid < inlier_px).to(flow.dtype) * wts).sum(-1) / n_vis.clamp_min(1.0)
    ok = (n_seg > 0) & (n_vis >= min_pixels) & (n_vis >= min_visible * n_seg) & (inliers >= min_inliers)
    err = torch.sqrt((flow.flatten(2)[:, None] - fitted).pow(2).sum(2) + 1e-6)  # [B, K, N]
    per_seg = (err * member).sum(-1) / n_seg.clamp_min(1.0)
    used = ok.sum()
    return (per_seg * ok).sum() / used.clamp_min(1), used


def segment_consistency_loss(flow: torch.Tensor, labels: torch.Tensor, num_segments: int = 16) -> torch.Tensor:
    """Robust spread of the flow around its segment mean (segments move as units): 0-d loss.

    flow: [B, 2, H, W]; labels: [B, H, W]; unlabelled pixels are ignored.
    """
    member = _onehot(labels, num_segments, flow)  # [B, S, N]
    f = flow.flatten(2)  # [B, 2, N]
    n = member.sum(-1)  # [B, S]
    mean = torch.einsum("bsn,bcn->bsc", member, f.detach()) / n.clamp_min(1.0)[..., None]
    dev = torch.sqrt((f[:, None] - mean[..., None]).pow(2).sum(2) + 1e-6)  # [B, S, N]
    return (dev * member).sum() / n.sum().clamp_min(1.0)


def cross_segment_discontinuity_loss(flow: torch.Tensor, labels: torch.Tensor, num_segments: int = 16) -> torch.Tensor:
    """Across a boundary between two labelled segments, the flow jump should be at least the jump between
    the two segments' mean flows (means detached): hinge on ``|m_i - m_j| - |f_i - f_j|``. Keeps motion edges
    from smearing. flow: [B, 2, H, W]; labels: [B, H, W] -> 0-d loss (0 without labelled neighbours).
    """
    b, _, h, w = flow.shape
    member = _onehot(labels, num_segments, flow)
    n = member.sum(-1)
    mean = torch.einsum("bsn,bcn->bsc", member, flow.detach().flatten(2)) / n.clamp_min(1.0)[..., None]
    m = torch.einsum("bsn,bsc->bcn", member, mean).reshape(b, 2, h, w)
    lab = relabel_largest(labels, num_segments).unsqueeze(1)
    total, count = flow.new_zeros(()), flow.new_zeros(())
    for sl0, sl1 in (
        ((..., slice(None), slice(1, None)), (..., slice(None), slice(None, -1))),
        ((..., slice(1, None), slice(None)), (..., slice(None, -1), slice(None))),
    ):
        pair = ((lab[sl0] != lab[sl1]) & (lab[sl0] >= 0) & (lab[sl1] >= 0)).to(flow.dtype)
        target = torch.linalg.vector_norm(m[sl0] - m[sl1], dim=1, keepdim=True)
        jump = torch.linalg.vector_norm(flow[sl0] - flow[sl1] + 1e-9, dim=1, keepdim=True)
        total = total + (torch.relu(target - jump) * pair).sum()
        count = count + pair.sum()
    return total / count.clamp_min(1.0)
