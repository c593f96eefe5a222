"""Region propagation of the tracker (motion "regions"): the palette vote on flat regions, the colour share that
guards recoveries, and the tracker following a moved object along a given flow with its mask snapped to regions."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from segcorr.segment.model import build
from segcorr.segment.predictor import Sam3Predictor
from segcorr.segment.tracker import ObjectPrompt, Sam3Tracker, TrackerConfig
from segcorr.segment.tracker_regions import (
    RegionPropagator,
    disoccluded,
    fill_lines,
    palette_of,
    palette_share,
    palette_vote,
    region_colours,
)

H, W = 48, 64


def _image():
    """Left half red (label 1), right half blue (label 2), a line column (label 0) between them."""
    img = np.zeros((H, W, 3), np.uint8)
    img[:, :32] = (220, 30, 30)
    img[:, 33:] = (30, 30, 220)
    labels = np.where(np.arange(W)[None, :] < 32, 1, 2).repeat(H, 0)
    labels[:, 32] = 0
    return img, labels.astype(np.int64)


def test_palette_vote_lets_object_colours_join_on_less_coverage():
    img, labels = _image()
    mean, count = region_colours(img, labels)
    red = palette_of(labels == 1, labels, mean, count)
    assert red.shape == (1, 3)
    prob = np.zeros((H, W), np.float32)
    prob[:, :16] = 1.0  # half of the red region
    prob[:, 33:49] = 1.0  # half of the blue region
    prob[5, 32] = 1.0  # one line pixel
    m = palette_vote(prob, labels, mean, count, red, tol=15.0, share_in=0.3, share_out=0.8)
    assert m[:, :32].all() and not m[:, 33:].any()  # red is the object's colour, blue is not
    assert m[5, 32] and m[:, 32].sum() == 1  # line pixels keep the warped decision
    plain = palette_vote(prob, labels, mean, count, None)
    assert not plain[:, :32].any()  # without a palette a region needs more than half


def test_palette_share_counts_region_pixels_of_the_object_colours():
    img, labels = _image()
    mean, count = region_colours(img, labels)
    red = palette_of(labels == 1, labels, mean, count)
    both = np.ones((H, W), bool)
    assert palette_share(labels == 1, labels, mean, count, red, 15.0) == 1.0
    assert palette_share(both, labels, mean, count, red, 15.0) == pytest.approx(32 / 63)
    assert palette_share(labels == 2, labels, mean, count, red, 15.0) == 0.0
    assert palette_share(labels == 2, labels, mean, count, red[:0], 15.0) == 1.0


def test_fill_lines_gives_a_mask_its_outline_near_its_regions_and_not_anothers():
    labels = np.ones((H, W), np.int64)
    labels[10:30, 10:30] = 2
    labels[10:30, 10] = labels[10:30, 29] = labels[10, 10:30] = labels[29, 10:30] = 0  # the square's outline
    labels[:, 50] = 0  # a far line
    me = labels == 2  # the inside only, as the warped decision may leave it
    other = np.zeros((H, W), bool)
    other[10:30, 29] = True  # the right side of the outline is another object's already
    out = fill_lines({1: me, 2: other}, labels, 2)
    outline = (labels == 0) & (np.arange(W)[None, :] < 40)
    want = me | (outline & ~other)
    assert np.array_equal(out[1], want) and np.array_equal(out[2], other)
    assert not out[1][:, 50].any() and np.array_equal(me, labels == 2)  # far lines stay out; input unchanged
    assert np.array_equal(fill_lines({1: me}, labels, 0)[1], me)


def test_region_propagator_warps_and_snaps():
    img, labels = _image()
    rp = RegionPropagator()
    assert not rp.ready and rp.next_frame(img, labels, labels == 0) is None and rp.ready
    last = np.zeros((H, W), bool)
    last[:, 2:30] = True  # most of red, shifted by 2 px
    flow = np.zeros((2, H, W), np.float32)
    flow[0] = 1.0  # this frame's x came from x + 1 on the previous one
    prob, m = rp.propagate(last, flow, rp.palette(labels == 1))
    assert prob.shape == (H, W) and np.array_equal(m, labels == 1)


def test_tracker_regions_motion_follows_the_flow_and_keeps_the_colours(monkeypatch):
    torch.manual_seed(0)
    model = build("sam3-test").eval()
    head = model.mask_decoder.pred_obj_score_head
    with torch.no_grad():
        head.weight.zero_()
        head.bias.fill_(10.0)
    sq = np.zeros((H, W), bool)
    sq[10:26, 10:26] = True

    def frame(m):
        img = np.full((H, W, 3), 220, np.uint8)
        img[m] = (40, 200, 90)
        return img

    import segcorr.flow.classical as classical

    shift = np.stack([np.full((H, W), -4.0, np.float32), np.zeros((H, W), np.float32)])
    monkeypatch.setattr(classical, "estimate_flow", lambda a, b, method: shift)
    tr = Sam3Tracker(Sam3Predictor(model, refine="none"), TrackerConfig(min_pixels=0))
    assert tr.config.motion == "regions"
    tr.step(frame(sq), [ObjectPrompt(mask=sq)])
    assert tr.tracks[1].palette is not None and len(tr.tracks[1].palette) == 1
    moved = np.roll(sq, 4, axis=1)
    r = tr.step(frame(moved))
    assert r.present[0] and np.array_equal(r.masks[0], moved)
    assert np.array_equal(tr.tracks[1].last_mask, moved)


def test_palette_vote_leaves_unknown_pixels_out_of_the_shares():
    img, labels = _image()
    mean, count = region_colours(img, labels)
    prob = np.zeros((H, W), np.float32)
    prob[:, :8] = 1.0  # a quarter of red is covered: under share_out without a palette colour
    unknown = np.zeros((H, W), bool)
    unknown[:, 12:32] = True  # most of red came from outside the previous frame
    none = np.zeros((0, 3), np.float32)
    assert not palette_vote(prob, labels, mean, count, none, share_out=0.6).any()
    m = palette_vote(prob, labels, mean, count, none, share_out=0.6, unknown=unknown)
    assert np.array_equal(m, labels == 1)  # 8 of its 12 known columns are covered
    unknown[:, 8:12] = True  # a quarter known: the least share that decides alone
    unknown[:, :4] = True
    assert not palette_vote(prob, labels, mean, count, none, share_out=0.6, unknown=unknown).any()


@pytest.mark.parametrize("entering", [False, True])
def test_region_propagation_decides_an_entering_region_by_its_part_in_view(monkeypatch, entering):
    import segcorr.flow.classical as classical

    model = build("sam3-test").eval()
    with torch.no_grad():
        model.mask_decoder.pred_obj_score_head.weight.zero_()
        model.mask_decoder.pred_obj_score_head.bias.fill_(10.0)
    flow = np.zeros((2, H, W), np.float32)
    flow[0] = 12.0  # it moves left by 12 px a frame, entering through the right edge
    monkeypatch.setattr(classical, "estimate_flow", lambda a, b, method: flow)
    cfg = TrackerConfig(min_pixels=0, line_fill=0, reentry="none", edge_entering=entering, exit_distinct=0.0)
    tr = Sam3Tracker(Sam3Predictor(model, refine="none"), cfg)
    masks = []
    for k, x0 in enumerate([W - 4, W - 16]):
        img = np.full((H, W, 3), 220, np.uint8)
        m = np.zeros((H, W), bool)
        m[12:30, x0:] = True
        img[m] = (40, 200, 90)
        masks.append(m)
        r = tr.step(img, [ObjectPrompt(obj_id=1, mask=m)] if k == 0 else [])
    # 4 of its 16 columns were in view and covered: a quarter of it, under share_in, but all of its known part
    assert r.present[0]
    if entering:
        assert np.array_equal(r.masks[0], masks[1])
    else:  # only a few line pixels of its outline keep their warped decision
        assert r.masks[0].sum() < masks[1].sum() / 4


def test_disoccluded_flags_pixels_whose_forward_backward_round_trip_fails():
    back = np.zeros((2, H, W), np.float32)
    back[0][:, 20:30] = 5.0  # x came from x + 5
    fwd = np.zeros((2, H, W), np.float32)
    fwd[0][:, 25:30] = -5.0  # only x + 5 in 25..29 goes back: x in 20..24 round-trips
    hidden = disoccluded(back, fwd, 3.0)
    assert hidden[:, 25:30].all() and hidden.sum() == 5 * H
    assert not disoccluded(back, fwd, 6.0).any()


@pytest.mark.parametrize("guarded", [False, True])
def test_region_propagator_leaves_hidden_pixels_out_where_guarded(monkeypatch, guarded):
    import segcorr.flow.classical as classical

    img, labels = _image()
    back = np.zeros((2, H, W), np.float32)
    fwd = np.zeros((2, H, W), np.float32)
    fwd[0][:, 33:46] = 9.0  # the covered part of blue fails the round trip
    flows = iter([back, fwd])
    monkeypatch.setattr(classical, "estimate_flow", lambda a, b, method: next(flows))
    rp = RegionPropagator(occlusion=3.0)
    rp.next_frame(img, labels, labels == 0)
    rp.next_frame(img, labels, labels == 0)
    last = np.zeros((H, W), bool)
    last[:, 33:46] = True  # 13 of blue's 31 columns: over share_in for a palette colour
    guard = np.ones((H, W), bool) if guarded else None
    _, m = rp.propagate(last, back, rp.palette(labels == 2), guard=guard)
    assert np.array_equal(m, np.zeros((H, W), bool) if guarded else labels == 2)


@pytest.mark.parametrize("occlusion", [0.0, 3.0])
def test_tracker_guards_pixels_near_other_objects_with_occlusion(occlusion):
    model = build("sam3-test").eval()
    with torch.no_grad():
        model.mask_decoder.pred_obj_score_head.weight.zero_()
        model.mask_decoder.pred_obj_score_head.bias.fill_(10.0)
    cfg = TrackerConfig(min_pixels=0, occlusion=occlusion, occlusion_band=2)
    tr = Sam3Tracker(Sam3Predictor(model, refine="none"), cfg)
    img, _ = _image()
    a, b = np.zeros((H, W), bool), np.zeros((H, W), bool)
    a[10:20, 5:15] = True
    b[10:20, 30:40] = True
    tr.step(img, [ObjectPrompt(obj_id=1, mask=a), ObjectPrompt(obj_id=2, mask=b)])
    near = tr._near_others()
    if not occlusion:
        assert near == {}
        return
    assert near[1][10:20, 30:40].all() and near[1][15, 28] and not near[1][15, 27] and not near[1][a].any()
    assert near[2][10:20, 5:15].all() and near[2][15, 16] and not near[2][15, 17]
