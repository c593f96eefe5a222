"""Ground truth for AS-Mamba from dense correspondence fields (homography pairs and 3-D scenes alike).

Input fields (pixel centres at integer coordinates):
    corr01 [B, 2, H0, W0]  (x, y) in image 1 of every pixel of image 0 (any value where invalid)
    valid01 [B, H0, W0]    bool: the pixel is visible in image 1 (inside it, not occluded)
    corr10, valid10        the same from image 1 to image 0
    mask0, mask1           optional [B, H, W] bool: real (not padded) pixels

Coarse cell c (``scale`` px square) is represented by its centre, c * scale + (scale - 1) / 2, whose
correspondence is the mean of the field over the cell's 2x2 central pixels (valid when all four are).
Position p in image 1 lies in cell floor((p + 0.5) / scale) (inside when 0 <= p + 0.5 < W1, H1).

Coarse GT, LoFTR's rule: cell i of image 0 matches cell j of image 1 when i's centre lands in j and j's centre
lands back in i (mutual through corr10), which makes the GT one-to-one. Each cell gets a state:
    1  matched;
    0  not visible in the other image (a true negative: its whole row of the conf matrix should be low);
   -1  ignored: visible but without a mutual cell (scale change, the 4 central pixels disagree, ...) or padded;
       the focal loss skips its row (column), because the true answer is a cell that is not one-to-one.
Flow / fine GT: the warped centre of every visible cell (``spv_pt1``), also for ignored cells (their
position is still known).
"""

from __future__ import annotations

import torch


def _centre_samples(corr: torch.Tensor, valid: torch.Tensor, scale: int):
    """Mean field over each cell's 2x2 central pixels and their joint validity: ([B, h*w, 2], [B, h*w])."""
    a, b = scale // 2 - 1, scale // 2
    pts = sum(corr[:, :, y::scale, x::scale] for y in (a, b) for x in (a, b)) / 4.0
    ok = (
        valid[:, a::scale, a::scale]
        & valid[:, a::scale, b::scale]
        & valid[:, b::scale, a::scale]
        & valid[:, b::scale, b::scale]
    )
    ok = ok & torch.isfinite(pts).all(1)
    return pts.flatten(2).transpose(1, 2), ok.flatten(1)


def _cell_of(pts: torch.Tensor, hw_px: tuple[int, int], scale: int):
    """Row-major cell index of positions [B, N, 2] in an image of hw_px pixels, and whether they are inside."""
    h, w = hw_px
    c = torch.floor((torch.nan_to_num(pts, nan=-1.0) + 0.5) / scale)
    inside = (c[..., 0] >= 0) & (c[..., 0] < w // scale) & (c[..., 1] >= 0) & (c[..., 1] < h // scale)
    cx = c[..., 0].clamp(0, w // scale - 1).long()
    cy = c[..., 1].clamp(0, h // scale - 1).long()
    return cy * (w // scale) + cx, inside


def _centre_mask(mask: torch.Tensor | None, scale: int, like: torch.Tensor) -> torch.Tensor:
    """Real (not padded) cells [B, h*w]: the cell's top-left central pixel is real."""
    if mask is None:
        return torch.ones_like(like, dtype=torch.bool)
    a = scale // 2 - 1
    return mask[:, a::scale, a::scale].flatten(1)


def coarse_supervision(
    corr01: torch.Tensor,
    valid01: torch.Tensor,
    corr10: torch.Tensor,
    valid10: torch.Tensor,
    scale: int = 8,
    mask0: torch.Tensor | None = None,
    mask1: torch.Tensor | None = None,
) -> dict:
    """Coarse, flow and fine ground truth on the 1/``scale`` grids.

    Returns a dict:
        spv_pt1 [B, N0, 2], spv_vis0 [B, N0] bool: warped centre of each image-0 cell (input px) and whether it is
            visible in image 1; spv_pt0 [B, N1, 2], spv_vis1 [B, N1] the reverse;
        spv_j [B, N0] long: the mutual cell j of image 1, -1 where none;
        spv_real0 [B, N0], spv_real1 [B, N1] bool: the cell is not padding;
        spv_state0 [B, N0], spv_state1 [B, N1] int8: 1 matched, 0 not visible, -1 ignored (see module docstring);
        spv_b_ids, spv_i_ids, spv_j_ids [M] long: the matched pairs.
    """
    h0, w0 = corr01.shape[2:]
    h1, w1 = corr10.shape[2:]
    pt1, vis0 = _centre_samples(corr01, valid01.bool(), scale)
    pt0, vis1 = _centre_samples(corr10, valid10.bool(), scale)
    real0 = _centre_mask(mask0, scale, vis0)
    real1 = _centre_mask(mask1, scale, vis1)
    j, in1 = _cell_of(pt1, (h1, w1), scale)
    i_back, in0 = _cell_of(pt0, (h0, w0), scale)
    vis0 = vis0 & in1 & real0
    vis1 = vis1 & in0 & real1
    n0 = vis0.shape[1]
    ii = torch.arange(n0, device=vis0.device).expand_as(vis0)
    mutual = vis0 & torch.gather(vis1 & real1, 1, j) & (torch.gather(i_back, 1, j) == ii)
    spv_j = torch.where(mutual, j, torch.full_like(j, -1))
    matched1 = torch.zeros_like(vis1)
    b_ids, i_ids = mutual.nonzero(as_tuple=True)
    j_ids = j[b_ids, i_ids]
    matched1[b_ids, j_ids] = True

    def state(vis, matched, real):
        s = torch.where(vis, torch.full_like(vis, -1, dtype=torch.int8), torch.zeros_like(vis, dtype=torch.int8))
        s = torch.where(matched, torch.ones_like(s), s)
        return torch.where(real, s, torch.full_like(s, -1))

    return {
        "spv_pt1": pt1,
        "spv_vis0": vis0,
        "spv_pt0": pt0,
        "spv_vis1": vis1,
        "spv_j": spv_j,
        "spv_real0": real0,
        "spv_real1": real1,
        "spv_state0": state(vis0, mutual, real0),
        "spv_state1": state(vis1, matched1, real1),
        "spv_b_ids": b_ids,
        "spv_i_ids": i_ids,
        "spv_j_ids": j_ids,
    }


def batch_supervision(data: dict, scale: int = 8) -> dict:
    """``coarse_supervision`` of a batch dict: its corr01, valid01, corr10, valid10 and, when present, mask0, mask1."""
    return coarse_supervision(
        data["corr01"], data["valid01"], data["corr10"], data["valid10"], scale, data.get("mask0"), data.get("mask1")
    )


def coarse_grid_coords(pts: torch.Tensor, scale: int = 8) -> torch.Tensor:
    """Input-pixel positions -> coarse-grid coordinates (cell centres at integers): (p - (scale - 1) / 2) / scale."""
    return (pts - (scale - 1) / 2.0) / scale


def fine_targets(
    spv_pt1: torch.Tensor,
    spv_vis0: torch.Tensor,
    b_ids: torch.Tensor,
    i_ids: torch.Tensor,
    centre1: torch.Tensor,
    radius_px: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Normalised offsets of the true positions from the fine windows' centres, and where they are usable.

    Arguments: spv_pt1 [B, N0, 2], spv_vis0 [B, N0]; b_ids, i_ids [M]; centre1 [M, 2] input px; radius_px as
    ``FineMatcher``. Returns (target [M, 2], ok [M] bool: visible, finite and inside the window, |target| <= 1).
    """
    target = (spv_pt1[b_ids, i_ids] - centre1) / radius_px
    ok = spv_vis0[b_ids, i_ids] & torch.isfinite(target).all(-1) & (target.abs() <= 1.0).all(-1)
    return torch.nan_to_num(target), ok
