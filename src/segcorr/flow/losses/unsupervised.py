"""The unsupervised flow loss: census photometric + edge-aware smoothness + the V3 segment terms,
on forward and backward flow with forward-backward occlusion.

Collapse guard (why zero flow is never free): the photometric term also counts occluded pixels, with
weight ``photo_occ_weight`` (0.2) instead of 0. Masking by occlusion alone lets a network declare pixels
occluded, and on flat cel regions zero flow already matches well, so a fully masked loss plus smoothness
drifts toward zero motion; keeping every in-frame pixel in the photometric term makes any wrong flow,
zero included, cost something on textured and line pixels. Occlusion is estimated from detached flows, so
the loss cannot move the mask.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch

from segcorr.flow.losses.photometric import census_distance, fb_occlusion, warp
from segcorr.flow.losses.segment import cross_segment_discontinuity_loss, segment_affine_loss, segment_consistency_loss
from segcorr.flow.losses.smoothness import boundary_sharpness, edge_aware_smoothness


@dataclass(frozen=True)
class UnsupLossConfig:
    """Weights and parameters of ``UnsupervisedFlowLoss`` (a weight of 0 switches a term off).

    photo: census photometric (``census_radius``), occluded pixels weighted ``photo_occ_weight``;
    occlusion: forward-backward test with ``occ_alpha1``/``occ_alpha2``;
    smooth: edge-aware smoothness of ``smooth_order`` with image-edge sensitivity ``edge_weight``;
    V3 segment terms: ``affine`` (per-segment affine fit, guards ``affine_*``), ``consistency`` (spread
    around the segment mean), ``boundary`` (gradients relaxed ``boundary_relax`` x at segment boundaries),
    ``discontinuity`` (optional, off by default). ``num_segments`` segments per image are used.
    """

    photo_weight: float = 1.0
    census_radius: int = 3
    photo_occ_weight: float = 0.2
    occ_alpha1: float = 0.01
    occ_alpha2: float = 0.5
    smooth_weight: float = 0.1
    smooth_order: int = 2
    edge_weight: float = 150.0
    affine_weight: float = 0.02
    affine_max_segments: int = 6
    affine_min_pixels: int = 4
    affine_min_visible: float = 0.2
    affine_min_inliers: float = 0.5
    affine_inlier_px: float = 1.0
    consistency_weight: float = 0.002
    boundary_weight: float = 0.05
    boundary_relax: float = 0.1
    discontinuity_weight: float = 0.0
    num_segments: int = 16


class UnsupervisedFlowLoss:
    """``loss(img0, img1, flow_fw, flow_bw, seg0=None, seg1=None) -> (loss 0-d, {name: float})``.

    img0, img1: [B, 3, H, W] in 0..1; flow_fw (0->1), flow_bw (1->0): [B, 2, H, W] pixels; seg0, seg1:
    [B, H, W] label maps or None (segment terms then contribute 0). Both directions are averaged.
    """

    def __init__(self, cfg: UnsupLossConfig | None = None) -> None:
        self.cfg = cfg or UnsupLossConfig()

    def direction(
        self,
        img_a: torch.Tensor,
        img_b: torch.Tensor,
        flow: torch.Tensor,
        flow_back: torch.Tensor,
        seg: torch.Tensor | None,
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Loss of the flow a -> b (``flow_back`` is b -> a, used for occlusion only)."""
        c = self.cfg
        with torch.no_grad():
            occ = fb_occlusion(flow.detach(), flow_back.detach(), c.occ_alpha1, c.occ_alpha2)
        warped, inside = warp(img_b, flow)
        dist = census_distance(img_a, warped, c.census_radius)
        w = torch.where(occ, c.photo_occ_weight, 1.0) * inside.to(flow.dtype)
        terms = {"photo": (dist * w).sum() / w.sum().clamp_min(1.0)}
        terms["smooth"] = edge_aware_smoothness(flow, img_a, c.smooth_order, c.edge_weight)
        zero = flow.new_zeros(())
        terms["affine"] = terms["consistency"] = terms["boundary"] = terms["discontinuity"] = zero
        used = zero
        if seg is not None and bool((seg > 0).any()):
            if c.affine_weight:
                terms["affine"], used = segment_affine_loss(
                    flow,
                    seg,
                    ~occ,
                    c.affine_max_segments,
                    c.affine_min_pixels,
                    c.affine_min_visible,
                    c.affine_min_inliers,
                    c.affine_inlier_px,
                )
            if c.consistency_weight:
                terms["consistency"] = segment_consistency_loss(flow, seg, c.num_segments)
            if c.boundary_weight:
                terms["boundary"] = boundary_sharpness(flow, seg, c.boundary_relax)
            if c.discontinuity_weight:
                terms["discontinuity"] = cross_segment_discontinuity_loss(flow, seg, c.num_segments)
        weights = {
            "photo": c.photo_weight,
            "smooth": c.smooth_weight,
            "affine": c.affine_weight,
            "consistency": c.consistency_weight,
            "boundary": c.boundary_weight,
            "discontinuity": c.discontinuity_weight,
        }
        loss = sum(weights[k] * v for k, v in terms.items())
        info = {
            **{k: v.detach() for k, v in terms.items()},
            "occ_frac": occ.float().mean(),
            "affine_segments": used.float(),
            "mean_flow": torch.linalg.vector_norm(flow.detach(), dim=1).mean(),
        }
        return loss, info

    def __call__(
        self,
        img0: torch.Tensor,
        img1: torch.Tensor,
        flow_fw: torch.Tensor,
        flow_bw: torch.Tensor,
        seg0: torch.Tensor | None = None,
        seg1: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, dict[str, float]]:
        l_fw, i_fw = self.direction(img0, img1, flow_fw, flow_bw, seg0)
        l_bw, i_bw = self.direction(img1, img0, flow_bw, flow_fw, seg1)
        metrics = {k: float(0.5 * (i_fw[k] + i_bw[k])) for k in i_fw}
        return 0.5 * (l_fw + l_bw), metrics

    def to_dict(self) -> dict:
        return asdict(self.cfg)
