"""SAMGuidanceAdapterV3: turns label maps into guidance for the flow network, in four switchable modes.

Label maps ([B, H, W] long, 0 = no segment) are expanded on the fly to at most ``num_segments`` channels
(the largest segments of each image; the rest count as "no segment") and pooled to the 1/8 grid by
*area fractions* (each 8x8 cell gets the fraction of its pixels in each segment), so thin or small
segments do not vanish the way nearest-neighbour resizing drops them.

Modes (each a flag in ``FlowModelConfig``):
- ``concat``: a boundary map and segment-pooled features (the mean feature of the pixel's segment) are
  joined to the image features and projected back by a 1x1 conv (initialised to pass features through).
- ``attn_bias``: same-segment affinity ``frac_i . frac_j`` (1 inside one segment, 0 across) scaled by a
  learned weight is added to self-attention logits. Only built inside 1/8 attention windows: memory
  ``B * HW * T`` floats for T tokens per window, never a dense HW x HW bias.
- ``cost_mod``: a learned bias on the global correlation for segment pairs that look alike:
  ``bias[i, j] = w * sum_{s,t} frac0[s, i] * cos(d0_s, d1_t) * frac1[t, j]`` where ``d0_s``/``d1_t`` are the
  mean features of segment s in frame 0 and t in frame 1. A pixel is thus pulled toward the segment that
  corresponds to its own, independent of its neighbours across a segment boundary: matching no longer pays
  for a motion discontinuity at a boundary. It works when segment ids differ between frames. Stored
  low-rank ([B, HW, S] and [B, S, HW]) so the dense bias exists only inside the correlation chunk.
- ``obj_pool``: masked average pooling of context features into one token per segment (+ log area),
  which the refinement attends to.

Without label maps every mode degrades to zero guidance (all fractions 0), so the same weights run.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


def relabel_largest(seg: torch.Tensor, num_segments: int) -> torch.Tensor:
    """Map each image's segment ids to channels 0..num_segments-1 by decreasing area; others -> -1.

    seg: [B, H, W] integer (0 = no segment, negative treated as 0) -> channel: [B, H, W] long, -1 = none.
    Ties in area are broken by the lower id, so the result is deterministic.
    """
    b = seg.shape[0]
    seg = seg.long().clamp_min(0)
    flat = seg.reshape(b, -1)
    m = int(flat.max()) + 1 if flat.numel() else 1
    if m == 1:
        return torch.full_like(seg, -1)
    offset = torch.arange(b, device=seg.device)[:, None] * m
    counts = torch.bincount((flat + offset).reshape(-1), minlength=b * m).reshape(b, m)
    counts[:, 0] = 0
    k = min(num_segments, m - 1)
    # sort key: area first, then lower id first (ids < m, so area * m dominates)
    key = counts * m + (m - 1 - torch.arange(m, device=seg.device))
    key[:, 0] = -1
    top_key, top_ids = key.topk(k, dim=1)
    present = top_key >= m  # area >= 1
    chan = torch.arange(k, device=seg.device).expand(b, k)
    lut = torch.full((b, m), -1, dtype=torch.long, device=seg.device)
    lut.scatter_(1, top_ids, torch.where(present, chan, torch.full_like(chan, -1)))
    return lut.gather(1, flat).reshape(seg.shape)


@dataclass
class SegmentGuidance:
    """Segments of one batch of frames on the 1/8 grid.

    frac: [B, S, H/8, W/8] area fraction of each cell in each kept segment (sums to <= 1 per cell);
    boundary: [B, 1, H/8, W/8] 1 where the cell contains a segment boundary; present: [B, S] bool;
    chan: [B, H, W] long, each pixel's kept segment (0..S-1, -1 = none); None without label maps.
    """

    frac: torch.Tensor
    boundary: torch.Tensor
    present: torch.Tensor
    chan: torch.Tensor | None = None


def _cell_index(h: int, w: int, factor: int, device: torch.device) -> torch.Tensor:
    """long [h * factor, w * factor]: the index (row-major on the h x w grid) of each pixel's coarse cell."""
    ys = torch.arange(h * factor, device=device) // factor
    xs = torch.arange(w * factor, device=device) // factor
    return ys[:, None] * w + xs[None, :]


def segment_guidance(
    seg: torch.Tensor | None,
    num_segments: int,
    batch: int,
    height: int,
    width: int,
    like: torch.Tensor,
    factor: int = 8,
) -> SegmentGuidance:
    """Label maps [B, H, W] (H, W multiples of ``factor``) -> SegmentGuidance at 1/factor; None -> zeros."""
    h, w = height // factor, width // factor
    if seg is None:
        z = like.new_zeros(batch, num_segments, h, w)
        return SegmentGuidance(
            z, like.new_zeros(batch, 1, h, w), torch.zeros(batch, num_segments, dtype=torch.bool, device=like.device)
        )
    chan = relabel_largest(seg, num_segments)  # [B, H, W], -1 = none
    b = chan.shape[0]
    cell = _cell_index(h, w, factor, chan.device).reshape(1, -1)
    idx = (chan.reshape(b, -1) + 1) * (h * w) + cell
    frac = like.new_zeros(b, (num_segments + 1) * h * w)
    frac.scatter_add_(1, idx, like.new_full(idx.shape, 1.0 / factor**2))
    frac = frac.reshape(b, num_segments + 1, h, w)[:, 1:]
    lab = chan.unsqueeze(1).to(like.dtype)
    edge = torch.zeros_like(lab)
    edge[..., :, 1:] = (lab[..., :, 1:] != lab[..., :, :-1]).to(like.dtype)
    edge[..., 1:, :] = torch.maximum(edge[..., 1:, :], (lab[..., 1:, :] != lab[..., :-1, :]).to(like.dtype))
    boundary = F.max_pool2d(edge, factor)
    return SegmentGuidance(frac, boundary, frac.flatten(2).sum(-1) > 0, chan)


def upsample_affinity(g: SegmentGuidance, factor: int = 8) -> torch.Tensor | None:
    """Same-segment share of the 3x3 coarse cells around each full-resolution pixel, for convex upsampling.

    -> [B, 9, f, f, h, w]: entry (k, i, j, y, x) is the fraction of coarse cell (y, x) + offset k (row-major 3x3,
    zero outside the grid) that lies in the segment of pixel (y * f + i, x * f + j); 0 for pixels without a
    kept segment. None when `g` has no label maps.
    """
    if g.chan is None:
        return None
    b, s, h, w = g.frac.shape
    nb = F.unfold(g.frac, 3, padding=1).view(b, s, 9, h, w).permute(0, 1, 3, 4, 2)  # [B, S, h, w, 9]
    rows = torch.cat([nb.reshape(b, s * h * w, 9), nb.new_zeros(b, 1, 9)], 1)  # last row: no kept segment
    cell = _cell_index(h, w, factor, g.chan.device)  # [H, W]
    idx = torch.where(g.chan >= 0, g.chan * (h * w) + cell, s * h * w)  # [B, H, W]
    picked = rows.gather(1, idx.reshape(b, -1, 1).expand(-1, -1, 9))  # [B, H*W, 9]
    return picked.view(b, h, factor, w, factor, 9).permute(0, 5, 2, 4, 1, 3)  # [B, 9, f, f, h, w]


def segment_means(feat: torch.Tensor, frac: torch.Tensor) -> torch.Tensor:
    """Mean feature per segment. feat: [B, C, h, w], frac: [B, S, h, w] -> [B, S, C] (0 for absent)."""
    num = torch.einsum("bchw,bshw->bsc", feat, frac)
    return num / frac.flatten(2).sum(-1, keepdim=True).clamp_min(1e-6)


class SAMGuidanceAdapterV3(nn.Module):
    """The four guidance modes; the model calls the ones its config enables.

    Arguments: feat_dim: matching feature channels; ctx_dim: context channels; token_dim: segment token size;
    num_segments: kept segments per image; concat/cost_mod/obj_pool: which parameters to create.
    """

    def __init__(
        self,
        feat_dim: int,
        ctx_dim: int,
        token_dim: int,
        num_segments: int = 16,
        concat: bool = True,
        cost_mod: bool = True,
        obj_pool: bool = True,
    ) -> None:
        super().__init__()
        self.num_segments = num_segments
        self.concat_proj = None
        if concat:
            self.concat_proj = nn.Conv2d(2 * feat_dim + 1, feat_dim, 1)
            with torch.no_grad():  # start as the identity on the image features: guidance is learned on top
                self.concat_proj.weight.zero_()
                self.concat_proj.weight[:, :feat_dim, 0, 0].copy_(torch.eye(feat_dim))
                self.concat_proj.bias.zero_()
        self.cost_scale = nn.Parameter(torch.tensor(1.0)) if cost_mod else None
        self.token_proj = nn.Linear(ctx_dim + 1, token_dim) if obj_pool else None

    def prepare(
        self, seg: torch.Tensor | None, batch: int, height: int, width: int, like: torch.Tensor
    ) -> SegmentGuidance:
        """seg: [B, H, W] long or None -> SegmentGuidance on the 1/8 grid."""
        return segment_guidance(seg, self.num_segments, batch, height, width, like)

    def concat(self, feat: torch.Tensor, g: SegmentGuidance) -> torch.Tensor:
        """feat: [B, C, h, w] -> [B, C, h, w] with boundary and segment-pooled features mixed in."""
        means = segment_means(feat, g.frac)  # [B, S, C]
        pooled = torch.einsum("bsc,bshw->bchw", means, g.frac)
        return self.concat_proj(torch.cat([feat, pooled, g.boundary], dim=1))

    def cost_bias(
        self, f0: torch.Tensor, f1: torch.Tensor, g0: SegmentGuidance, g1: SegmentGuidance
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Low-rank correlation bias: (left [B, HW, S], right [B, S, HW]); bias = left @ right.

        f0, f1: [B, C, h, w] matching features after the transformer.
        """
        d0 = F.normalize(segment_means(f0, g0.frac), dim=-1)
        d1 = F.normalize(segment_means(f1, g1.frac), dim=-1)
        aff = d0 @ d1.transpose(1, 2)  # [B, S, S] cosine similarity of segment descriptors
        left = self.cost_scale * g0.frac.flatten(2).transpose(1, 2)
        right = aff @ g1.frac.flatten(2)
        return left, right

    def tokens(self, ctx: torch.Tensor, g: SegmentGuidance) -> tuple[torch.Tensor, torch.Tensor]:
        """Object pooling: ctx [B, C, h, w] -> (tokens [B, S, token_dim], present [B, S] bool)."""
        means = segment_means(ctx, g.frac)
        area = g.frac.flatten(2).mean(-1, keepdim=True)  # fraction of the image
        return self.token_proj(torch.cat([means, torch.log(area + 1e-4)], dim=-1)), g.present
