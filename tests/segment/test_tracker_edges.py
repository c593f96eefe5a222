"""The frame edge in region propagation: where DIS points out of the frame on a leaving object's last slivers the
object's own motion stands in (``edge_motion``), and a sliver at the edge is not taken for a mask left on background
by the exit check (``exit_edge_band``)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from segcorr.segment.model import build
from segcorr.segment.predictor import Sam3Predictor
from segcorr.segment.tracker import ObjectPrompt, Sam3Tracker, TrackerConfig
from segcorr.segment.tracker_masks import edge_sliver, edge_touch
from segcorr.segment.tracker_regions import edge_flow, mask_motion, outside_frame

H, W = 48, 64
GREEN, GREY = (40, 200, 90), 220


def test_outside_frame_and_edge_flow_replace_only_vectors_leaving_the_frame():
    flow = np.zeros((2, H, W), np.float32)
    flow[0, :, :4] = -5.0  # points left of x = 0 for x < 4.5
    flow[1, 40:, 60:] = 10.0  # points below the last row
    out = outside_frame(flow)
    assert out[:, :4].all() and out[40:, 60:].all() and out.sum() == 4 * H + 8 * 4
    f = edge_flow(flow, np.array([3.0, -1.0], np.float32))
    assert (f[0][out] == 3.0).all() and (f[1][out] == -1.0).all()
    assert np.array_equal(f[:, ~out], flow[:, ~out]) and flow[0, 0, 0] == -5.0  # the input is not changed
    still = np.zeros((2, H, W), np.float32)
    assert edge_flow(still, np.ones(2, np.float32)) is still


def test_mask_motion_is_the_median_flow_of_the_mask_inside_the_frame():
    flow = np.zeros((2, H, W), np.float32)
    flow[0] = 2.0
    flow[1, :, 10:12] = 7.0
    flow[0, :, :2] = -9.0  # out of the frame: left out
    m = np.zeros((H, W), bool)
    m[5:10, 0:12] = True
    assert mask_motion(m, flow).tolist() == [2.0, 0.0]
    assert mask_motion(np.zeros((H, W), bool), flow) is None
    edge = np.zeros((H, W), bool)
    edge[:, :2] = True
    assert mask_motion(edge, flow) is None


def test_edge_sliver_needs_most_pixels_near_the_frame_edge():
    m = np.zeros((H, W), bool)
    m[10:20, 0:6] = True
    assert edge_sliver(m, 8) and edge_sliver(m, 4) and not edge_sliver(m, 0) and not edge_sliver(m, 2)
    m[10:30, 20:40] = True  # most of it is inside now
    assert not edge_sliver(m, 8)
    assert not edge_sliver(np.zeros((H, W), bool), 8)


def _model():
    torch.manual_seed(0)
    model = build("sam3-test").eval()
    with torch.no_grad():  # the model always says "present": absence comes from the masks
        model.mask_decoder.pred_obj_score_head.weight.zero_()
        model.mask_decoder.pred_obj_score_head.bias.fill_(10.0)
    return model


def _block(x0, x1, colour=GREEN):
    img = np.full((H, W, 3), GREY, np.uint8)
    m = np.zeros((H, W), bool)
    m[12:30, max(x0, 0) : x1] = True
    img[m] = colour
    return img, m


def _leave(monkeypatch, last_colour=GREEN, keep=None, **cfg):
    """A block moves left by 6 px a frame and leaves through x = 0; on the last frame DIS points out of the frame
    on it (as it does on real slivers). Returns the last frame's result and the block's true mask there."""
    import segcorr.flow.classical as classical

    good = np.zeros((2, H, W), np.float32)
    good[0] = 6.0  # this frame's x came from x + 6
    lost = np.zeros((2, H, W), np.float32)
    lost[0] = -30.0
    flows = iter([good, lost])
    monkeypatch.setattr(classical, "estimate_flow", lambda a, b, method: next(flows))
    cfg = {"min_pixels": 0, "line_fill": 0, "reentry": "none", **cfg}  # no re-entry: it would find the block again
    tr = Sam3Tracker(Sam3Predictor(_model(), refine="none"), TrackerConfig(**cfg))
    img, m = _block(10, 26)
    tr.step(img, [ObjectPrompt(obj_id=1, mask=m)])
    img, m = _block(4, 20)
    r = tr.step(img)
    assert r.present[0] and np.array_equal(r.masks[0], m)
    assert tr.tracks[1].edge_motion.tolist() == [6.0, 0.0]
    img, m = _block(-2, 14, last_colour)
    if keep is not None:
        keep["tracker"] = tr
    return tr.step(img), m


def test_a_leaving_object_keeps_its_sliver_where_the_flow_points_out_of_the_frame(monkeypatch):
    r, m = _leave(monkeypatch)
    assert r.present[0] and np.array_equal(r.masks[0], m)
    r, m = _leave(monkeypatch, edge_motion=False)  # the warped mask is empty: the object is lost
    assert not r.present[0] and not r.masks[0].any()


@pytest.mark.parametrize("band, shrink, present", [(0, 0.9, False), (8, 0.9, True), (8, 0.0, False)])
def test_exit_check_spares_a_shrinking_sliver_at_the_frame_edge(monkeypatch, band, shrink, present):
    # the sliver's colour has shifted (small regions at the edge blend): none of it is in the object's own colours;
    # it is spared as a sliver at the edge that shrinks (a mask left on the background there would not shrink)
    tracker = {}
    r, m = _leave(monkeypatch, last_colour=(60, 215, 40), keep=tracker, exit_edge_band=band, exit_edge_shrink=shrink)
    assert r.present[0] == present
    assert np.array_equal(r.masks[0], m if present else np.zeros_like(m))
    tr = tracker["tracker"].tracks[1]
    assert tr.last_area == 16 * 18  # a recovery starts from the last full view, not from the sliver
    assert np.array_equal(tr.last_mask, m) == present  # propagation goes on from the sliver


@pytest.mark.parametrize("band, back", [(0, False), (8, True)])
def test_a_sliver_coming_back_at_the_frame_edge_may_be_small(monkeypatch, band, back):
    import segcorr.flow.classical as classical

    monkeypatch.setattr(classical, "estimate_flow", lambda a, b, method: np.zeros((2, H, W), np.float32))
    cfg = TrackerConfig(min_pixels=0, line_fill=0, reentry="none", exit_edge_band=band)
    tr = Sam3Tracker(Sam3Predictor(_model(), refine="none"), cfg)
    img, m = _block(10, 26)
    tr.step(img, [ObjectPrompt(obj_id=1, mask=m)])
    tr.step(np.full((H, W, 3), GREY, np.uint8))  # it left: its mask there is on plain background
    assert not tr.tracks[1].present and tr.tracks[1].last_area == 16 * 18
    img, sliver = _block(-12, 4)  # a quarter of it is in view again, at the edge
    inside = np.zeros((H, W), bool)
    inside[12:30, 40:44] = True  # as small a patch of its colour away from the edge
    img[inside] = GREEN
    tr.step(img)
    assert tr._plausible(tr.tracks[1], sliver, {1: sliver}) == back
    assert tr._regions.colour_share(inside, tr.tracks[1].palette) == 1.0
    assert not tr._plausible(tr.tracks[1], inside, {1: inside})  # too small for the object, as before


def test_edge_touch_counts_mask_pixels_on_the_outermost_rows_and_columns():
    m = np.zeros((H, W), bool)
    m[10:20, 0:30] = True
    m[0, 40:45] = True
    m[H - 1, W - 1] = True
    assert edge_touch(m) == 10 + 5 + 1
    assert edge_touch(np.zeros((H, W), bool)) == 0


@pytest.mark.parametrize("touch, present", [(0, False), (16, True), (19, False)])
def test_exit_check_spares_a_shrinking_mask_that_touches_the_frame_edge(monkeypatch, touch, present):
    # a wide block leaves through x = 0: most of it is still inside (no sliver), its colour has shifted; touching the
    # edge along 18 rows while it shrinks, it is spared with exit_edge_touch up to 18
    import segcorr.flow.classical as classical

    flow = np.zeros((2, H, W), np.float32)
    flow[0] = 14.0
    monkeypatch.setattr(classical, "estimate_flow", lambda a, b, method: flow)
    cfg = TrackerConfig(min_pixels=0, line_fill=0, reentry="none", exit_edge_touch=touch)
    tr = Sam3Tracker(Sam3Predictor(_model(), refine="none"), cfg)
    for k, (x0, colour) in enumerate([(20, GREEN), (6, GREEN), (-8, (60, 215, 40))]):
        img, m = _block(x0, x0 + 40, colour)
        r = tr.step(img, [ObjectPrompt(obj_id=1, mask=m)] if k == 0 else [])
    assert not edge_sliver(m, 8) and edge_touch(m) == 18
    assert r.present[0] == present
    assert np.array_equal(r.masks[0], m if present else np.zeros_like(m))
    if present:  # not a sliver: its last good state follows it (a recovery starts from where it was last seen)
        assert tr.tracks[1].last_area == m.sum() and np.array_equal(tr.tracks[1].last_mask, m)


@pytest.mark.parametrize("field", ["exit_edge_touch", "occlusion", "occlusion_band"])
def test_negative_edge_and_occlusion_settings_are_refused(field):
    from segcorr.errors import InputError

    with pytest.raises(InputError, match=field):
        TrackerConfig(**{field: -1})
