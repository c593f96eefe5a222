"""Re-entry (``TrackerConfig.reentry == "regions"``): an absent object is found again anywhere in the frame by its
colours and keeps its id; a look-alike of other colours, or one sharing only a common colour, does not take it;
and the synthetic clips' ``exits`` option makes objects leave and come back while the default stays as it was."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from segcorr.segment.model import build
from segcorr.segment.predictor import Sam3Predictor
from segcorr.segment.tracker import ObjectPrompt, Sam3Tracker, TrackerConfig
from segcorr.segment.tracker_reentry import (
    ReentryRule,
    distinct_share,
    distinctive,
    find_reentry,
    grow_mask,
    own_colours,
)
from segcorr.segment.tracker_regions import palette_of, region_colours

H, W = 64, 96
RED, GREEN, BLUE, SKIN = (220, 30, 30), (30, 170, 60), (30, 30, 220), (240, 200, 170)


def _person(img, y, x, top, low=SKIN):
    """A two-colour figure: ``top`` over ``low``, 14 x 20 pixels at (y, x); returns its mask."""
    img[y : y + 10, x : x + 14] = top
    img[y + 10 : y + 20, x : x + 14] = low
    m = np.zeros((H, W), bool)
    m[y : y + 20, x : x + 14] = True
    return m


def _regions(img):
    """Flat regions of a frame without line art: one label per connected colour (background 220 grey too)."""
    import cv2

    labels = np.zeros((H, W), np.int64)
    for c in np.unique(img.reshape(-1, 3), axis=0):
        _, comp = cv2.connectedComponents(np.all(img == c, -1).astype(np.uint8), connectivity=4)
        labels = np.where(comp > 0, comp + labels.max(), labels)
    return labels


def test_find_reentry_takes_its_colours_back_and_not_a_look_alike():
    img = np.full((H, W, 3), 220, np.uint8)
    me = _person(img, 4, 4, RED)
    other = _person(img, 4, 40, BLUE)  # another tracked object: skin is shared, blue is its own
    lab = _regions(img)
    mean, count = region_colours(img, lab)
    pal, other_pal = palette_of(me, lab, mean, count), palette_of(other, lab, mean, count)
    assert len(pal) == 2
    distinct = distinctive(pal, [other_pal], 12.0)
    assert distinct.sum() == 1  # red only: skin is the other's too
    # a later frame: the object is back on the right, the other stays; a green look-alike in the middle
    img2 = np.full((H, W, 3), 220, np.uint8)
    back = _person(img2, 40, 78, RED)
    other2 = _person(img2, 4, 40, BLUE)
    _person(img2, 40, 30, GREEN)
    lab2 = _regions(img2)
    mean2, count2 = region_colours(img2, lab2)
    m, ev = find_reentry(lab2, mean2, count2, pal, distinct, int(me.sum()), other2)
    assert m is not None and np.array_equal(m, back) and ev == pytest.approx(0.5)
    # without it, neither the green look-alike (shared skin only) nor the other object (taken) answers
    img3 = img2.copy()
    img3[back] = 220
    lab3 = _regions(img3)
    mean3, count3 = region_colours(img3, lab3)
    m, ev = find_reentry(lab3, mean3, count3, pal, distinct, int(me.sum()), other2)
    assert m is None and ev == 0.0
    # too small a sliver (under min_area of the last area) waits
    rule = ReentryRule(min_area=1.5)
    assert find_reentry(lab2, mean2, count2, pal, distinct, int(me.sum()), other2, rule)[0] is None


def test_own_colours_leave_out_what_the_rest_of_the_frame_has_and_measure_a_mask():
    img = np.full((H, W, 3), 220, np.uint8)
    me = _person(img, 4, 4, RED, GREEN)
    img[40:60, 60:90] = GREEN  # a green patch of background
    lab = _regions(img)
    mean, count = region_colours(img, lab)
    pal = palette_of(me, lab, mean, count)
    own = own_colours(pal, me, lab, mean, count, 12.0)
    assert own.sum() == 1 and np.allclose(pal[own][0], mean[lab[5, 5]])  # red only: green is also background
    assert distinct_share(me, lab, mean, pal, own, 12.0) == pytest.approx(0.5)
    patch = np.zeros((H, W), bool)
    patch[40:60, 60:90] = True  # a mask left on the green background has none of the object's own colour
    assert distinct_share(patch, lab, mean, pal, own, 12.0) == 0.0


def test_grow_mask_adds_touching_own_colour_parts_near_the_mask_within_a_limit():
    img = np.full((H, W, 3), 220, np.uint8)
    me = _person(img, 4, 4, RED, BLUE)
    far = np.zeros((H, W), bool)
    far[50:60, 60:80] = True
    img[far] = RED  # the same colour far away is not joined
    lab = _regions(img)
    mean, count = region_colours(img, lab)
    pal = palette_of(me, lab, mean, count)
    part = me.copy()
    part[4:10] = False  # the top half of the red block is missing
    rule = ReentryRule(grow_band=12)
    grown = grow_mask(lab, mean, count, pal, part, np.zeros((H, W), bool), 2 * me.sum(), rule)
    assert np.array_equal(grown, me)
    assert np.array_equal(grow_mask(lab, mean, count, pal, part, np.zeros((H, W), bool), part.sum(), rule), part)
    taken = np.zeros((H, W), bool)
    taken[4:14] = True  # pixels of another object stay out
    assert np.array_equal(grow_mask(lab, mean, count, pal, part, taken & ~part, 2 * me.sum(), rule), part)


def test_region_cap_keeps_a_floor_of_the_objects_colour_out_of_its_component():
    img = np.full((H, W, 3), 220, np.uint8)
    img[40:, :] = BLUE  # a blue floor, much larger than the object
    me = _person(img, 4, 4, RED, BLUE)
    lab = _regions(img)
    mean, count = region_colours(img, lab)
    pal = palette_of(me, lab, mean, count)
    img2 = img.copy()
    img2[4:24, 4:18] = 220
    back = _person(img2, 22, 60, RED, BLUE)  # back, standing on the floor: its blue joins the floor's
    lab2 = _regions(img2)
    mean2, count2 = region_colours(img2, lab2)
    distinct = np.array([np.linalg.norm(p - mean2[lab2[25, 62]]) < 12 for p in pal])  # red only
    none = np.zeros((H, W), bool)
    m, _ = find_reentry(lab2, mean2, count2, pal, distinct, int(me.sum()), none, ReentryRule(min_distinct=0.3))
    assert m is None  # red is a sliver of the component that the whole floor joins
    m, ev = find_reentry(lab2, mean2, count2, pal, distinct, int(me.sum()), none, ReentryRule(region_cap=1.0))
    top = back.copy()
    top[32:] = False  # its blue half is one region with the floor now, so only the red half comes back
    assert m is not None and np.array_equal(m, top) and ev == pytest.approx(1.0)


def test_a_shrunken_mask_is_looked_for_again_and_joins_what_is_found():
    from segcorr.segment.tracker_reentry import reenter
    from segcorr.segment.tracker_state import ObjectTrack

    img = np.full((H, W, 3), 220, np.uint8)
    me = _person(img, 30, 50, RED, BLUE)
    lab = _regions(img)
    mean, count = region_colours(img, lab)
    tr = ObjectTrack(1, None, 0, present=True, last_area=int(me.sum()), ref_area=int(me.sum()))
    tr.palette = palette_of(me, lab, mean, count)
    tr.distinct = np.ones(len(tr.palette), bool)
    left = np.zeros((H, W), bool)
    left[48:50, 50:53] = True  # the flow kept a scrap of it

    def run(below):
        masks = {1: left.copy()}
        rule = ReentryRule(grow_below=0, refind_below=below)
        reenter({1: tr}, (lab, mean, count), masks, {1: 5.0}, set(), rule)
        return masks[1]

    assert np.array_equal(run(0.5), me)
    assert np.array_equal(run(0.0), left)  # off: the scrap stays
    tr.ref_area = 6  # a mask not below the share of its prompted area is left alone
    assert np.array_equal(run(0.5), left)


def test_tracker_gives_a_returning_object_its_id_and_a_distractor_none(monkeypatch):
    torch.manual_seed(0)
    model = build("sam3-test").eval()
    with torch.no_grad():  # the model always says "present": absence comes from the vanished mask
        model.mask_decoder.pred_obj_score_head.weight.zero_()
        model.mask_decoder.pred_obj_score_head.bias.fill_(10.0)
    import segcorr.flow.classical as classical

    monkeypatch.setattr(classical, "estimate_flow", lambda a, b, method: np.zeros((2, H, W), np.float32))

    def run(reentry):
        tr = Sam3Tracker(Sam3Predictor(model, refine="none"), TrackerConfig(min_pixels=1, reentry=reentry))
        img = np.full((H, W, 3), 220, np.uint8)
        me, other = _person(img, 4, 4, RED), _person(img, 4, 40, BLUE)
        tr.step(img, [ObjectPrompt(obj_id=1, mask=me), ObjectPrompt(obj_id=2, mask=other)])
        gone = np.full((H, W, 3), 220, np.uint8)
        _person(gone, 4, 40, BLUE)
        out = [tr.step(gone)]
        _person(gone, 40, 70, GREEN)  # a look-alike of another colour
        out.append(tr.step(gone))
        back = gone.copy()
        m = _person(back, 40, 4, RED)
        out.append(tr.step(back))
        return out, m

    (r1, r2, r3), m = run("regions")
    assert not r1.present[0] and r1.present[1] and not r1.masks[0].any()
    assert not r2.present[0] and not r2.masks[0].any()  # the green figure does not take id 1
    assert r3.ids == [1, 2] and r3.present[0] and np.array_equal(r3.masks[0], m)
    assert (r3.labels() == 1).sum() == m.sum()
    (_, _, r3), _ = run("none")  # reprompted near where it left, it is not found
    assert not r3.present[0]


def test_clip_exits_option_makes_the_first_instance_leave_and_come_back():
    from segcorr.data.synth import make_clip

    plain, moved = make_clip(1, 12, 72, 96), make_clip(1, 12, 72, 96, exits=1)
    assert np.array_equal(plain.frames[0], make_clip(1, 12, 72, 96, exits=0).frames[0])
    vis = moved.masklets[1].reshape(12, -1).any(1)
    assert vis[:4].all() and not vis[4:8].any() and vis[8:].all()  # out between 0.4 and 0.55 of the clip
    assert plain.masklets[1].reshape(12, -1).any(1).all()  # it stayed in view without the option
    assert sorted(moved.masklets) == sorted(plain.masklets)
    for t in (0, 11):  # before leaving and after coming back the clip starts and ends as drawn
        np.testing.assert_array_equal(moved.inst[t] == 1, plain.inst[t] == 1)


def test_a_mask_left_on_look_alike_background_makes_the_object_absent(monkeypatch):
    torch.manual_seed(0)
    model = build("sam3-test").eval()
    with torch.no_grad():  # the model always says "present"
        model.mask_decoder.pred_obj_score_head.weight.zero_()
        model.mask_decoder.pred_obj_score_head.bias.fill_(10.0)
    import segcorr.flow.classical as classical

    monkeypatch.setattr(classical, "estimate_flow", lambda a, b, method: np.zeros((2, H, W), np.float32))
    img = np.full((H, W, 3), 220, np.uint8)
    me = _person(img, 4, 4, RED, GREEN)
    img[40:60, 60:90] = GREEN  # green is background too: red is the object's own colour
    gone = np.full((H, W, 3), 220, np.uint8)
    gone[40:60, 60:90] = GREEN
    gone[4:25, 2:21] = GREEN  # the object has left; a green patch lies where it was
    for exit_distinct, present in ((0.05, False), (0.0, True)):
        tr = Sam3Tracker(Sam3Predictor(model, refine="none"), TrackerConfig(min_pixels=1, exit_distinct=exit_distinct))
        tr.step(img, [ObjectPrompt(obj_id=1, mask=me)])
        assert tr.tracks[1].own_share == pytest.approx(0.5)
        r = tr.step(gone)
        assert r.present[0] == present and r.masks[0].any() == present


def test_a_mask_coming_in_at_the_edge_grows_by_shared_colours_away_from_other_objects():
    from segcorr.segment.tracker_reentry import reenter
    from segcorr.segment.tracker_state import ObjectTrack

    img = np.full((H, W, 3), 220, np.uint8)
    me = _person(img, 20, 0, RED, BLUE)  # coming in through the left edge: red head, blue body, both on the edge
    other = _person(img, 30, 70, GREEN, BLUE)  # blue is also this one's, so not ``me``'s own colour
    lab = _regions(img)
    mean, count = region_colours(img, lab)
    head = me.copy()
    head[30:] = False

    def track(i, m, last, motion):
        tr = ObjectTrack(i, None, 0, present=True, last_area=int(m.sum()), ref_area=int(m.sum()))
        tr.palette = palette_of(m, lab, mean, count)
        tr.distinct, tr.last_mask = np.ones(len(tr.palette), bool), last
        tr.edge_motion = np.array(motion, np.float32)
        return tr

    def run(edge_shared, last=head, near=other, motion=(-2.0, 0.0)):  # backward flow left: it moves right, inwards
        tracks = {1: track(1, me, last, motion), 2: track(2, other, other, (0.0, 0.0))}
        masks = {1: head.copy(), 2: near.copy()}
        reenter(tracks, (lab, mean, count), masks, {1: 5.0, 2: 5.0}, set(), ReentryRule(edge_shared=edge_shared))
        return masks[1]

    assert np.array_equal(run(0), head)  # own colours only: the blue body is shared, so it stays out
    assert np.array_equal(run(4), me)
    assert np.array_equal(run(4, last=me), head)  # smaller than on the previous frame: leaving, not grown
    assert np.array_equal(run(4, motion=(2.0, 0.0)), head)  # moving left, out through the left edge: leaving
    beside = np.zeros((H, W), bool)
    beside[30:38, 16:20] = True  # another object's mask 2 px from the blue body
    assert np.array_equal(run(4, near=beside), head)
    img[30:40, 0:3] = 220  # the body no longer reaches the edge it comes in through: nothing new came into view there
    lab = _regions(img)
    mean, count = region_colours(img, lab)
    assert not (run(4) & np.all(img == BLUE, -1)).any()
    flat = track(1, me, head, (-2.0, 0.0))
    flat.palette, flat.distinct = np.zeros((0, 3)), np.zeros(0, bool)  # no flat region in its prompt (shaded art)
    masks = {1: head.copy(), 2: other.copy()}
    reenter(
        {1: flat, 2: track(2, other, other, (0.0, 0.0))},
        (lab, mean, count),
        masks,
        {1: 5.0},
        set(),
        ReentryRule(edge_shared=4),
    )
    assert np.array_equal(masks[1], head)
