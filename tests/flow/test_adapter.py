"""Segment guidance: one-hot capping, area pooling at 1/8, low-rank cost bias, dense/on-the-fly lookups."""

from __future__ import annotations

import torch

from segcorr.flow.corr import DenseCorrPyramid, FeatureCorrLookup
from segcorr.flow.global_matcher import SAMGuidedGlobalMatcher
from segcorr.flow.padding import Padder
from segcorr.flow.sam_adapter import SAMGuidanceAdapterV3, relabel_largest, segment_guidance, upsample_affinity
from segcorr.flow.upsample import ConvexUpsampler


def _stripes(sizes: list[int], height: int = 8) -> torch.Tensor:
    """Label map [1, height, sum(sizes)] of vertical stripes with ids 1..n and the given widths."""
    ids = torch.cat([torch.full((s,), i + 1) for i, s in enumerate(sizes)])
    return ids.expand(height, -1)[None].clone()


def test_relabel_keeps_the_16_largest_of_20_segments():
    sizes = [30 + i for i in range(20)]  # id 1 is the smallest, id 20 the largest
    seg = _stripes(sizes)
    chan = relabel_largest(seg, 16)
    kept = {int(seg[chan == c][0]) for c in range(16)}
    assert kept == set(range(5, 21))
    assert bool((chan[(seg >= 1) & (seg <= 4)] == -1).all())
    assert int(chan[seg == 20][0]) == 0  # largest first


def test_relabel_per_image_and_background_zero():
    seg = torch.stack([_stripes([5, 10, 1])[0], _stripes([1, 1, 14])[0]])
    seg[:, :, 0] = 0
    chan = relabel_largest(seg, 16)
    assert bool((chan[seg == 0] == -1).all())
    assert int(chan[0][seg[0] == 2][0]) == 0 and int(chan[1][seg[1] == 3][0]) == 0


def test_area_pooling_keeps_thin_segments_that_nearest_resize_drops():
    seg = torch.ones(1, 16, 16, dtype=torch.long)
    seg[:, :, 3] = 2  # a 1-px line: nearest-neighbour resizing to 2x2 samples columns 0 and 8 only
    g = segment_guidance(seg, 16, 1, 16, 16, torch.zeros(1))
    assert g.present[0, :2].tolist() == [True, True]
    assert torch.allclose(g.frac.sum(1), torch.ones(1, 2, 2))
    assert abs(float(g.frac[0, 1, :, 0].mean()) - 1 / 8) < 1e-6
    assert g.boundary[0, 0, :, 0].tolist() == [1.0, 1.0] and g.boundary[0, 0, :, 1].tolist() == [0.0, 0.0]


def test_several_segments_survive_padding_of_an_odd_size_map():
    seg = torch.zeros(1, 67, 93, dtype=torch.long)
    seg[:, :30, :40], seg[:, 30:, :40], seg[:, :, 40:90] = 1, 2, 3
    seg[:, :, 90:] = 4  # 3-px stripe at the right border, next to the padding
    pad = Padder(67, 93)
    g = segment_guidance(pad.pad_labels(seg), 16, 1, 72, 96, torch.zeros(1))
    assert int(g.present.sum()) == 4
    assert abs(float(g.frac[0, :4].sum()) * 64 - 67 * 93) < 1e-2


def test_missing_label_maps_give_zero_guidance():
    g = segment_guidance(None, 16, 2, 64, 64, torch.zeros(1))
    assert g.frac.shape == (2, 16, 8, 8) and float(g.frac.abs().sum()) == 0 and not bool(g.present.any())


def test_cost_bias_low_rank_matches_its_definition():
    torch.manual_seed(0)
    ad = SAMGuidanceAdapterV3(8, 8, 8, num_segments=4)
    seg0 = torch.randint(1, 4, (1, 16, 24))
    seg1 = torch.randint(1, 4, (1, 16, 24))
    g0 = segment_guidance(seg0, 4, 1, 16, 24, torch.zeros(1))
    g1 = segment_guidance(seg1, 4, 1, 16, 24, torch.zeros(1))
    f0, f1 = torch.randn(1, 8, 2, 3), torch.randn(1, 8, 2, 3)
    left, right = ad.cost_bias(f0, f1, g0, g1)
    bias = left @ right
    d0 = torch.nn.functional.normalize(
        torch.einsum("bchw,bshw->bsc", f0, g0.frac) / g0.frac.sum((2, 3))[..., None].clamp_min(1e-6), dim=-1
    )
    d1 = torch.nn.functional.normalize(
        torch.einsum("bchw,bshw->bsc", f1, g1.frac) / g1.frac.sum((2, 3))[..., None].clamp_min(1e-6), dim=-1
    )
    p0, p1 = g0.frac.flatten(2)[0], g1.frac.flatten(2)[0]  # [S, HW]
    i, j = 1, 4
    want = sum(float(p0[s, i] * (d0[0, s] @ d1[0, t]) * p1[t, j]) for s in range(4) for t in range(4))
    assert abs(float(bias[0, i, j].detach()) - want) < 1e-5


def test_feature_lookup_equals_dense_pyramid():
    torch.manual_seed(0)
    f0, f1 = torch.randn(2, 6, 8, 12), torch.randn(2, 6, 8, 12)
    corr = torch.einsum("bcn,bcm->bnm", f0.flatten(2), f1.flatten(2))
    dense = DenseCorrPyramid(corr.reshape(2, 96, 8, 12), 3)
    onfly = FeatureCorrLookup(f0, f1, 3)
    coords = torch.rand(2, 2, 8, 12) * torch.tensor([12.0, 8.0]).view(1, 2, 1, 1)
    from_feat = DenseCorrPyramid(corr.reshape(2, 96, 8, 12), 3, f0, f1)
    a, b, c = dense(coords, 2, 3), onfly(coords, 2, 3), from_feat(coords, 2, 3)
    assert a.shape == (2, 3 * 25, 8, 12)
    assert torch.allclose(a, b, atol=1e-4) and torch.allclose(a, c, atol=1e-4)


def test_matcher_chunked_path_equals_dense():
    torch.manual_seed(0)
    dense = SAMGuidedGlobalMatcher(16, num_layers=2, heads=2, window=4, max_dense_tokens=10_000, attn_bias=True)
    chunked = SAMGuidedGlobalMatcher(
        16, num_layers=2, heads=2, window=4, max_dense_tokens=10, chunk_rows=7, attn_bias=True
    )
    chunked.load_state_dict(dense.state_dict())
    f0, f1 = torch.randn(1, 16, 6, 10), torch.randn(1, 16, 6, 10)
    frac = torch.rand(1, 3, 6, 10)
    left, right = torch.randn(1, 60, 3), torch.randn(1, 3, 60)
    a = dense(f0, f1, frac, frac, lambda x, y: (left, right))
    b = chunked(f0, f1, frac, frac, lambda x, y: (left, right))
    assert a["corr"] is not None and b["corr"] is None
    assert torch.allclose(a["flow"], b["flow"], atol=1e-4)


def test_attention_bias_changes_matcher_features():
    torch.manual_seed(0)
    m = SAMGuidedGlobalMatcher(16, num_layers=1, heads=2, window=4, attn_bias=True)
    f0, f1 = torch.randn(1, 16, 6, 10), torch.randn(1, 16, 6, 10)
    frac = torch.zeros(1, 2, 6, 10)
    frac[:, 0, :, :5], frac[:, 1, :, 5:] = 1, 1
    plain = m(f0, f1)["f0"]
    biased = m(f0, f1, frac, frac)["f0"]
    assert not torch.allclose(plain, biased)


def test_upsample_affinity_is_the_same_segment_share_of_each_neighbour_cell():
    # two segments split inside coarse column 1 (x 8..15): ids 1 left of x = 12, 2 from there on
    seg = torch.ones(1, 16, 32, dtype=torch.long)
    seg[..., 12:] = 2
    g = segment_guidance(seg, 16, 1, 16, 32, torch.zeros(1))
    aff = upsample_affinity(g)  # [1, 9, 8, 8, 2, 4]
    assert aff.shape == (1, 9, 8, 8, 2, 4)
    # pixel (y 0, x 9): coarse cell (0, 1), sub-pixel (0, 1); its segment (1) covers half of its own cell,
    # all of the cell on its left, none of the cell on its right, nothing outside the grid (row above)
    centre, left, right, up = 4, 3, 5, 1
    px = aff[0, :, 0, 1, 0, 1]
    assert torch.allclose(px[centre], torch.tensor(0.5)) and px[left] == 1 and px[right] == 0 and px[up] == 0
    # pixel (y 0, x 13), segment 2: the mirror image
    px = aff[0, :, 0, 5, 0, 1]
    assert torch.allclose(px[centre], torch.tensor(0.5)) and px[left] == 0 and px[right] == 1
    assert upsample_affinity(segment_guidance(None, 16, 1, 16, 32, torch.zeros(1))) is None


def test_segment_aware_upsampling_keeps_a_motion_edge_inside_a_cell():
    # coarse flow: u = 0 on the left two columns, 1 coarse px (8 px) on the right two; the true edge is at
    # x = 12, inside coarse column 1, so column 1's coarse vector (0) is wrong for x 12..15
    seg = torch.ones(1, 16, 32, dtype=torch.long)
    seg[..., 12:] = 2
    truth = torch.zeros(1, 2, 16, 32)
    truth[:, 0, :, 12:] = 8.0
    coarse = torch.zeros(1, 2, 2, 4)
    coarse[:, 0, :, 2:] = 1.0
    up = ConvexUpsampler(4)
    with torch.no_grad():  # uniform weights over the 3x3 neighbours: a blurring upsampler
        for p in up.parameters():
            p.zero_()
    feat = torch.zeros(1, 4, 2, 4)
    plain = up(coarse, feat)
    guided = up(coarse, feat, upsample_affinity(segment_guidance(seg, 16, 1, 16, 32, feat)))
    assert guided.shape == plain.shape == truth.shape
    err_plain = (plain - truth).abs()[:, 0, :, 4:28].mean()  # away from the frame's left and right edges
    err_guided = (guided - truth).abs()[:, 0, :, 4:28].mean()
    assert err_guided < 0.6 * err_plain
