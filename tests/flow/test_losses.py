"""Flow losses: supervised sequence loss, census photometric, occlusion, smoothness, V3 segment terms."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from segcorr.flow.losses import (
    UnsupervisedFlowLoss,
    UnsupLossConfig,
    boundary_sharpness,
    census_distance,
    cross_segment_discontinuity_loss,
    edge_aware_smoothness,
    fb_occlusion,
    segment_affine_loss,
    segment_consistency_loss,
    sequence_loss,
    warp,
)


def _texture_pair(shift: int = 3, h: int = 48, w: int = 64, seed: int = 0):
    """A smooth random texture and the same texture moved ``shift`` px right: true flow (shift, 0)."""
    g = torch.Generator().manual_seed(seed)
    base = F.interpolate(torch.rand(1, 3, h // 4 + 4, w // 4 + 4, generator=g), size=(h + 16, w + 16), mode="bilinear")
    img0 = base[..., 8 : 8 + h, 8 : 8 + w]
    img1 = base[..., 8 : 8 + h, 8 - shift : 8 - shift + w]
    flow = torch.zeros(1, 2, h, w)
    flow[:, 0] = shift
    return img0, img1, flow


def _quadrants(h: int = 32, w: int = 32) -> torch.Tensor:
    seg = torch.ones(1, h, w, dtype=torch.long)
    seg[:, : h // 2, w // 2 :], seg[:, h // 2 :, : w // 2], seg[:, h // 2 :, w // 2 :] = 2, 3, 4
    return seg


def _affine_per_segment(seg: torch.Tensor) -> torch.Tensor:
    h, w = seg.shape[-2:]
    ys, xs = torch.meshgrid(torch.arange(h, dtype=torch.float32), torch.arange(w, dtype=torch.float32), indexing="ij")
    flow = torch.zeros(1, 2, h, w)
    for s in range(1, int(seg.max()) + 1):
        m = seg[0] == s
        flow[0, 0][m] = (0.05 * s * xs - 0.02 * ys + s)[m]
        flow[0, 1][m] = (0.01 * xs + 0.03 * s * ys - 2 * s)[m]
    return flow


def test_sequence_loss_zero_for_exact_and_weights_late_predictions_more():
    gt = torch.randn(2, 2, 8, 8)
    loss, m = sequence_loss([gt.clone(), gt.clone()], gt)
    assert float(loss) == 0 and float(m["epe"]) == 0 and float(m["px1"]) == 1
    early_bad, _ = sequence_loss([gt + 1, gt], gt, gamma=0.5)
    late_bad, _ = sequence_loss([gt, gt + 1], gt, gamma=0.5)
    assert float(late_bad) == pytest.approx(2.0) and float(early_bad) == pytest.approx(1.0)


def test_sequence_loss_ignores_invalid_and_huge_flow():
    gt = torch.zeros(1, 2, 4, 4)
    pred = torch.zeros(1, 2, 4, 4)
    pred[..., 0, 0] = 10.0
    valid = torch.ones(1, 4, 4)
    valid[0, 0, 0] = 0
    assert float(sequence_loss([pred], gt, valid)[0]) == 0
    gt2 = gt.clone()
    gt2[..., 0, 0] = 1000.0
    pred2 = gt2.clone()
    pred2[..., 0, 0] = 0
    assert float(sequence_loss([pred2], gt2, max_flow=400)[0]) == 0


def test_photometric_zero_for_true_flow_positive_for_wrong_flow():
    img0, img1, flow = _texture_pair()
    inner = (..., slice(4, -4), slice(8, -8))
    warped, inside = warp(img1, flow)
    assert bool(inside[inner].all())
    d_true = census_distance(img0, warped)[inner].mean()
    d_zero = census_distance(img0, warp(img1, torch.zeros_like(flow))[0])[inner].mean()
    d_wrong = census_distance(img0, warp(img1, -flow)[0])[inner].mean()
    assert float(d_true) < 0.02
    assert float(d_zero) > 0.1 and float(d_wrong) > 0.1


def test_fb_occlusion_consistent_vs_inconsistent():
    _, _, flow = _texture_pair(h=16, w=32)
    occ = fb_occlusion(flow, -flow)
    assert not bool(occ[..., :, :-4].any())  # consistent away from the right border
    assert bool(occ[..., :, -2:].all())  # these pixels leave the frame
    assert bool(fb_occlusion(flow, flow)[..., :, :-4].all())


def test_smoothness_zero_for_constant_and_linear_flow():
    img = torch.rand(1, 3, 16, 16)
    const = torch.full((1, 2, 16, 16), 2.0)
    xs = torch.arange(16.0).expand(16, 16)
    linear = torch.stack([0.3 * xs, 0.1 * xs])[None]
    assert float(edge_aware_smoothness(const, img, order=1)) == 0
    assert float(edge_aware_smoothness(linear, img, order=2)) < 1e-6
    assert float(edge_aware_smoothness(linear, img, order=1)) > 0


def test_segment_affine_loss_zero_for_affine_and_positive_otherwise():
    seg = _quadrants()
    flow = _affine_per_segment(seg)
    loss, used = segment_affine_loss(flow, seg)
    assert int(used) == 4 and float(loss) < 1e-2
    ys = torch.arange(32.0)[:, None].expand(32, 32)
    bent = flow.clone()
    bent[0, 0] += 0.4 * torch.sin(ys / 2)  # within the 1-px inlier threshold, but not affine
    loss2, used2 = segment_affine_loss(bent, seg)
    assert int(used2) == 4 and float(loss2) > 0.1


def test_segment_affine_guards():
    seg = _quadrants()
    seg[0, 0, :3] = 9  # a 3-pixel segment: fewer than 4 pixels
    flow = _affine_per_segment(_quadrants())
    _, used = segment_affine_loss(flow, seg, max_segments=6)
    assert int(used) == 4
    vis = torch.ones(1, 1, 32, 32, dtype=torch.bool)
    vis[..., :16, :14] = False  # segment 1 only 2/16 visible (< 20%)
    _, used = segment_affine_loss(flow, _quadrants(), vis)
    assert int(used) == 3
    noisy = flow.clone()
    noisy[0, :, 16:, :16] += 5 * torch.randn(2, 16, 16, generator=torch.Generator().manual_seed(0))
    _, used = segment_affine_loss(noisy, _quadrants())  # segment 3 has < 50% inliers
    assert int(used) == 3
    many = torch.arange(10).repeat_interleave(4)[None, None].expand(1, 32, 40) + 1  # 10 stripes
    _, used = segment_affine_loss(torch.zeros(1, 2, 32, 40), many.contiguous())
    assert int(used) == 6


def test_segment_consistency_zero_inside_rigid_segments():
    seg = _quadrants()
    flow = torch.zeros(1, 2, 32, 32)
    for s in range(1, 5):
        flow[0, 0][seg[0] == s] = float(s)
    assert float(segment_consistency_loss(flow, seg)) < 1e-2
    assert float(segment_consistency_loss(_affine_per_segment(seg), seg)) > 0.1


def test_boundary_sharpness_prefers_motion_edges_on_segment_boundaries():
    seg = torch.ones(1, 16, 16, dtype=torch.long)
    seg[..., 8:] = 2
    on = torch.zeros(1, 2, 16, 16)
    on[:, 0, :, 8:] = 3.0
    off = torch.zeros(1, 2, 16, 16)
    off[:, 0, :, 5:] = 3.0
    assert float(boundary_sharpness(on, seg)) < 0.5 * float(boundary_sharpness(off, seg))


def test_discontinuity_penalises_smeared_motion_edges():
    seg = torch.ones(1, 8, 16, dtype=torch.long)
    seg[..., 8:] = 2
    sharp = torch.zeros(1, 2, 8, 16)
    sharp[:, 0, :, 8:] = 4.0
    smear = sharp.clone()
    smear[:, 0, :, 7] = 2.0
    smear[:, 0, :, 8] = 2.0
    assert float(cross_segment_discontinuity_loss(sharp, seg)) == pytest.approx(0.0, abs=1e-5)
    assert float(cross_segment_discontinuity_loss(smear, seg)) > 0.5


def test_unsupervised_loss_prefers_true_flow_over_zero_and_runs_without_segments():
    img0, img1, flow = _texture_pair()
    seg = torch.ones(1, 48, 64, dtype=torch.long)
    seg[..., 32:] = 2
    loss_fn = UnsupervisedFlowLoss(UnsupLossConfig(discontinuity_weight=0.1))
    true, m = loss_fn(img0, img1, flow, -flow, seg, seg)
    zero, _ = loss_fn(img0, img1, torch.zeros_like(flow), torch.zeros_like(flow), seg, seg)
    assert float(true) < 0.5 * float(zero)
    assert set(m) >= {"photo", "smooth", "affine", "consistency", "boundary", "discontinuity", "occ_frac"}
    assert all(isinstance(v, float) for v in m.values())
    f = flow.clone().requires_grad_(True)
    loss, m2 = loss_fn(img0, img1, f, -flow)
    loss.backward()
    assert m2["affine"] == 0 and f.grad is not None and torch.isfinite(f.grad).all()
