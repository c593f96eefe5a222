"""Sam3Tracker on the tiny random-weight model: ids, absence (NO_OBJ_SCORE) and recovery, the bounded memory bank,
prompts on later frames, text detection and association, and bad input. The object-score head is forced (bias
+-10) where a test needs an object present or absent; what is tested is the tracker's bookkeeping, not the
random network's masks."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from segcorr.errors import InputError
from segcorr.segment.memory import build_memory
from segcorr.segment.model import NO_OBJ_SCORE, build
from segcorr.segment.predictor import ConceptResult, Sam3Predictor
from segcorr.segment.tracker import ObjectPrompt, ObjectTrack, Sam3Tracker, TrackerConfig, innermost_point
from segcorr.segment.tracker_masks import shift_cells

H, W = 48, 64


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return build("sam3-test").eval()


def _objectness(model, value: float) -> None:
    head = model.mask_decoder.pred_obj_score_head
    with torch.no_grad():
        head.weight.zero_()
        head.bias.fill_(value)


def _square(y, x, s=12):
    m = np.zeros((H, W), bool)
    m[y : y + s, x : x + s] = True
    return m


def _frame(*masks):
    img = np.full((H, W, 3), 220, np.uint8)
    for k, m in enumerate(masks):
        img[m] = (40 + 60 * k, 200 - 50 * k, 90)
    return img


def _tracker(model, **cfg):
    return Sam3Tracker(
        Sam3Predictor(model, refine="none"),
        TrackerConfig(**cfg),
        memory=build_memory("track-test") if cfg.get("mode") == "memory" else None,
    )


def test_mask_prompts_are_the_answer_and_label_map_holds_ids(model):
    _objectness(model, 10.0)
    a, b = _square(5, 5), _square(20, 40)
    tr = _tracker(model)
    r = tr.step(_frame(a, b), [ObjectPrompt(mask=a), ObjectPrompt(obj_id=7, mask=b)])
    assert r.ids == [1, 7] and r.present.all()
    assert np.array_equal(r.masks[0], a) and np.array_equal(r.masks[1], b)
    lab = r.labels()
    assert lab.dtype == np.uint16 and set(np.unique(lab)) == {0, 1, 7} and (lab[b] == 7).all()


def test_overlapping_prompts_never_share_a_pixel(model):
    _objectness(model, 10.0)
    a, b = _square(5, 5, 20), _square(15, 15, 20)
    r = _tracker(model).step(_frame(a), [ObjectPrompt(mask=a), ObjectPrompt(mask=b)])
    assert not (r.masks[0] & r.masks[1]).any() and (r.masks[0] | r.masks[1]).sum() == (a | b).sum()


@pytest.mark.parametrize("mode", ["reprompt", "memory"])
def test_absent_object_gets_no_obj_score_and_comes_back_with_its_id(model, mode):
    a = _square(10, 10)
    tr = _tracker(model, mode=mode, min_pixels=0, recover_area_ratio=1e9, max_overlap=1.0, recover_colour=0.0)
    assert tr.mode == mode
    _objectness(model, 10.0)
    r0 = tr.step(_frame(a), [ObjectPrompt(mask=a)])
    assert r0.present.tolist() == [True]
    _objectness(model, -10.0)
    for _ in range(2):
        r = tr.step(_frame(a))
        assert r.ids == [1] and r.scores.tolist() == [NO_OBJ_SCORE] and not r.masks.any() and not r.present[0]
    assert tr.tracks[1].last_box is not None  # the last good state is kept for recovery
    _objectness(model, 10.0)
    r = tr.step(_frame(a))
    assert r.ids == [1] and r.present[0] and r.scores[0] == pytest.approx(10.0, abs=1e-3)


def test_memory_bank_is_a_bounded_fifo_with_the_prompted_frame_kept(model):
    _objectness(model, 10.0)
    a = _square(10, 10)
    tr = _tracker(model, mode="memory", min_pixels=0)
    tr.step(_frame(a), [ObjectPrompt(mask=a)])
    for _ in range(9):
        tr.step(_frame(a))
    obj = tr.tracks[1]
    assert obj.cond.t == 0 and obj.cond.cond
    assert [e.t for e in obj.recent] == [4, 5, 6, 7, 8, 9]  # num_maskmem 7: 1 conditioning + the 6 newest
    tr.step(_frame(a), [ObjectPrompt(obj_id=1, points=np.array([[15.0, 15.0]]))])  # a corrective click
    assert obj.cond.t == 10 and [e.t for e in obj.recent] == [4, 5, 6, 7, 8, 9]
    small = _tracker(model, mode="memory", num_maskmem=3, min_pixels=0)
    small.step(_frame(a), [ObjectPrompt(mask=a)])
    for _ in range(5):
        small.step(_frame(a))
    assert len(small.tracks[1].memories()) == 3


@pytest.mark.parametrize("mask_prompt", [False, True])
def test_memory_mode_gives_the_decoder_the_last_mask_only_with_mask_prompt(model, monkeypatch, mask_prompt):
    _objectness(model, 10.0)
    a = _square(10, 10)
    tr = Sam3Tracker(
        Sam3Predictor(model, refine="none"),
        TrackerConfig(min_pixels=0),
        memory=build_memory("track-test", mask_prompt=mask_prompt),
    )
    tr.step(_frame(a), [ObjectPrompt(mask=a)])
    seen, decode = [], tr._coder.decode
    monkeypatch.setattr(tr._coder, "decode", lambda *a: seen.append(a[4]) or decode(*a))
    last = tr.tracks[1].last_prompt.copy()
    tr.step(_frame(a))
    (mask_in,) = seen
    assert (mask_in[0] is None) if not mask_prompt else np.array_equal(mask_in[0], last)


def test_mode_choice(model):
    p = Sam3Predictor(model, refine="none")
    assert Sam3Tracker(p).mode == "reprompt"  # no trained memory: the image-model path
    assert Sam3Tracker(p, memory=build_memory("track-test")).mode == "memory"
    with pytest.raises(InputError, match="needs trained memory"):
        Sam3Tracker(p, TrackerConfig(mode="memory"))
    with pytest.raises(InputError, match="unknown tracker mode"):
        TrackerConfig(mode="magic")
    with pytest.raises(InputError, match="width"):
        Sam3Tracker(p, memory=build_memory("track_tiny"))


def test_new_objects_on_later_frames_and_reset(model):
    _objectness(model, 10.0)
    a, b = _square(5, 5), _square(25, 40)
    tr = _tracker(model, min_pixels=0)
    tr.step(_frame(a, b), [ObjectPrompt(mask=a)])
    tr.step(_frame(a, b))
    r = tr.step(_frame(a, b), [ObjectPrompt(box=np.array([40, 25, 52, 37]))])
    assert r.ids == [1, 2] and r.t == 2
    tr.reset()
    r = tr.step(_frame(a), [ObjectPrompt(mask=a)])
    assert r.ids == [1] and r.t == 0


def test_reprompt_inputs_follow_the_last_displacement(model):
    _objectness(model, 10.0)
    tr = _tracker(model, reprompt_inputs=("mask", "point", "box"), motion="velocity")
    tr.step(_frame(_square(10, 10)), [ObjectPrompt(mask=_square(10, 10))])
    tr.t = 1  # as if frame 1 were being processed: the object was seen on the frame before
    obj = tr.tracks[1]
    obj.velocity = np.array([4.0, -2.0], np.float32)
    c, lab, m = tr._reprompt_inputs(obj)
    assert lab.tolist() == [1, 2, 3]
    assert np.allclose(c[0], obj.last_point + [4, -2]) and np.allclose(c[1:].ravel(), obj.last_box + [4, -2, 4, -2])
    assert m.shape == obj.last_prompt.shape and not np.array_equal(m, obj.last_prompt)


def test_flow_motion_moves_the_reprompt_and_the_gate_keeps_the_warped_mask(model, monkeypatch):
    """Frame 1's flow says everything moved 4 px right: the reprompt follows it, and since the random decoder's
    mask does not overlap the warped one (IoU < flow_gate), the warped mask is the answer."""
    _objectness(model, 10.0)
    a = _square(10, 10)
    tr = _tracker(model, min_pixels=0, motion="flow")
    flows = iter([None, np.stack([np.full((H, W), -4.0, np.float32), np.zeros((H, W), np.float32)])])
    monkeypatch.setattr(tr, "_flow_back", lambda img: next(flows))
    tr.step(_frame(a), [ObjectPrompt(mask=a)])
    obj = tr.tracks[1]
    p0 = obj.last_point.copy()
    flow = np.stack([np.full((H, W), -4.0, np.float32), np.zeros((H, W), np.float32)])
    c, lab, _m = tr._reprompt_inputs(obj, flow)  # tr.t is 1 now: the object was seen on the frame before
    assert np.allclose(c[0], p0 + [4, 0]) and lab.tolist() == [1]
    r = tr.step(_frame(np.roll(a, 4, axis=1)))
    assert tr.config.flow_gate > 0 and np.array_equal(r.masks[0], np.roll(a, 4, axis=1))


def test_warp_backward_follows_a_constant_flow():
    from segcorr.segment.tracker import warp_backward

    m = _square(10, 10).astype(np.float32)
    back = np.stack([np.full((H, W), -3.0, np.float32), np.full((H, W), 2.0, np.float32)])
    assert np.array_equal(warp_backward(m, back) > 0.5, np.roll(np.roll(m > 0.5, 3, axis=1), -2, axis=0))


def test_text_detections_start_masklets_keep_ids_and_bring_back_the_absent(model, monkeypatch):
    """An oracle propagator (each masklet follows the true object near its last centre) isolates the text logic:
    detection on frames 0, 2, 4 (K = 2), association by IoU, an exit and a re-entry keeping the id, a newcomer."""
    a = [_square(5, 5 + t) for t in range(6)]
    b = [_square(25, 30 + t) if t < 2 else (_square(25, 10) if t >= 4 else None) for t in range(6)]
    c = [_square(2, 48) if t >= 4 else None for t in range(6)]
    tr = _tracker(model, detect_every=2)

    def truth(t):
        return [m for m in (a[t], b[t], c[t]) if m is not None]

    def detect(phrase, threshold=None):
        ms = truth(tr.t)
        sc = np.array([0.9, 0.8, 0.7][: len(ms)], np.float32)
        boxes = np.stack(
            [
                np.array(
                    [
                        np.nonzero(m)[1].min(),
                        np.nonzero(m)[0].min(),
                        np.nonzero(m)[1].max() + 1,
                        np.nonzero(m)[0].max() + 1,
                    ],
                    np.float32,
                )
                for m in ms
            ]
        )
        return ConceptResult(np.stack(ms), sc, boxes, 0.95)

    def oracle(tracks, probs, scores):
        for o in tracks:
            near = [m for m in truth(tr.t) if np.abs(np.argwhere(m).mean(0)[::-1] - o.last_centroid).max() < 4]
            probs[o.obj_id] = near[0].astype(np.float32) if near else np.zeros((H, W), np.float32)
            scores[o.obj_id] = 5.0 if near else NO_OBJ_SCORE

    monkeypatch.setattr(tr.predictor, "predict_text", detect)
    monkeypatch.setattr(tr, "_propagate_reprompt", oracle)
    tr.add_text("square")
    seen = []
    for t in range(6):
        r = tr.step(_frame(*truth(t)))
        seen.append({i: bool(p) for i, p in zip(r.ids, r.present)})
        if t in (2, 3):
            assert r.scores[r.ids.index(2)] == NO_OBJ_SCORE
    assert seen[0] == {1: True, 2: True}
    assert seen[2] == {1: True, 2: False} and seen[3] == {1: True, 2: False}
    assert seen[4] == {1: True, 2: True, 3: True}  # b re-enters elsewhere: still id 2; c is new
    assert np.array_equal(r.masks[r.ids.index(2)], b[5]) and tr.tracks[3].phrase == "square"


def test_bad_input(model):
    _objectness(model, 10.0)
    a = _square(5, 5)
    tr = _tracker(model)
    tr.step(_frame(a), [ObjectPrompt(mask=a)])
    with pytest.raises(InputError, match="one size"):
        tr.step(np.zeros((H + 4, W, 3), np.uint8))
    with pytest.raises(InputError, match="outside"):
        tr.step(_frame(a), [ObjectPrompt(points=np.array([[500.0, 5.0]]))])
    with pytest.raises(InputError, match="twice"):
        tr.step(
            _frame(a),
            [ObjectPrompt(obj_id=3, points=np.array([[5.0, 5.0]])), ObjectPrompt(obj_id=3, box=np.array([1, 1, 9, 9]))],
        )
    with pytest.raises(InputError, match="object id"):
        tr.step(_frame(a), [ObjectPrompt(obj_id=70000, points=np.array([[5.0, 5.0]]))])
    with pytest.raises(InputError, match="x1 > x0"):
        tr.step(_frame(a), [ObjectPrompt(box=np.array([9, 1, 1, 9]))])
    with pytest.raises(InputError, match="mask prompt"):
        tr.step(_frame(a), [ObjectPrompt(mask=np.ones((4, 4), bool))])
    with pytest.raises(InputError, match="non-empty"):
        tr.add_text("  ")


def test_shift_and_innermost_point():
    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    s = shift_cells(a, 1, -1, fill=-1)
    assert s.tolist() == [[-1, 4, 5, 6], [-1, 8, 9, 10], [-1, -1, -1, -1]]
    assert (shift_cells(a, 9, 0, fill=0) == 0).all() and shift_cells(a, 0, 0, fill=0) is a
    m = np.zeros((9, 15), bool)
    m[1:8, 2:13] = True
    assert innermost_point(m).tolist() == [7.5, 4.5]


def test_object_track_fifo_length_follows_num_maskmem():
    o = ObjectTrack(1, None, num_recent=2)
    for t in range(5):
        o.recent.append(t)
    assert list(o.recent) == [3, 4]
