"""Growth by the model's box answer (``tracker_grow``, ``TrackerConfig.box_grow``): the acceptance rule with
answers given by a scripted predictor (what is tested is the rule, not a network's masks), the predictor's
unzoomed box answer, and the tracker running with it."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from segcorr.errors import InputError
from segcorr.segment.model import build
from segcorr.segment.predictor import Sam3Predictor
from segcorr.segment.tracker import ObjectPrompt, Sam3Tracker, TrackerConfig
from segcorr.segment.tracker_grow import grow_by_box
from segcorr.segment.zoom import ZoomConfig

H, W = 60, 80

pytestmark = pytest.mark.usefixtures("one_thread")


class Answers:
    """Answers every box prompt with a fixed mask and object score; records the boxes and zoom flags."""

    def __init__(self, mask: np.ndarray, obj: float = 5.0) -> None:
        self.mask, self.obj, self.calls = mask, obj, []

    def predict(self, box=None, zoom=True):
        self.calls.append((np.asarray(box).tolist(), zoom))
        return self.mask[None], np.ones(1, np.float32), np.zeros((1, 4, 4), np.float32), self.obj


def _rect(y0, y1, x0, x1):
    m = np.zeros((H, W), bool)
    m[y0:y1, x0:x1] = True
    return m


CFG = TrackerConfig(box_grow=1.5)


def test_an_answer_that_grows_and_holds_the_mask_replaces_it_less_other_objects():
    part, whole, other = _rect(20, 40, 30, 40), _rect(10, 50, 25, 45), _rect(10, 12, 25, 45)  # whole: 4x part
    p = Answers(whole)
    out = grow_by_box(p, {1: part, 2: other}, [1], TrackerConfig(box_grow=1.5, box_grow_max=5.0))
    assert set(out) == {1} and np.array_equal(out[1], whole & ~other)
    assert p.calls == [([30.0, 20.0, 40.0, 40.0], False)]  # the mask's tight box, unzoomed


@pytest.mark.parametrize(
    "answer, obj, why",
    [
        (_rect(20, 40, 30, 44), 5.0, "grows by 1.4 < 1.5"),
        (_rect(0, 60, 0, 80), 5.0, "more than box_grow_max (3) times the area"),
        (_rect(10, 50, 36, 50), 5.0, "holds under 0.95 of the mask"),
        (_rect(12, 48, 27, 43), 5.0, "over 0.1 of it on object 2 (below)"),
        (_rect(15, 45, 28, 42), -1.0, "object score <= 0"),
    ],
)
def test_answers_that_fail_a_check_leave_the_mask(answer, obj, why):
    part = _rect(20, 40, 30, 40)
    other = _rect(10, 20, 25, 45) if "object 2" in why else _rect(55, 58, 0, 5)
    assert grow_by_box(Answers(answer, obj), {1: part, 2: other}, [1], CFG) == {}, why


def test_unzoomed_box_answer_equals_the_predictor_without_zoom():
    torch.manual_seed(0)
    model = build("sam3-test").eval()
    rng = np.random.default_rng(1)
    img = rng.integers(0, 255, (H, W, 3), dtype=np.uint8)
    box = np.array([10, 12, 50, 40], np.float32)
    zoomed, plain = Sam3Predictor(model, refine="none"), Sam3Predictor(model, refine="none", zoom=ZoomConfig(False))
    zoomed.set_image(img)
    plain.set_image(img)
    a, b = zoomed.predict(box=box, zoom=False), plain.predict(box=box)
    assert np.array_equal(a[0], b[0]) and np.allclose(a[2], b[2]) and a[3] == b[3]


def test_tracker_runs_with_box_grow_and_checks_its_settings():
    torch.manual_seed(0)
    model = build("sam3-test").eval()
    with torch.no_grad():
        model.mask_decoder.pred_obj_score_head.weight.zero_()
        model.mask_decoder.pred_obj_score_head.bias.fill_(10.0)
    img = np.full((H, W, 3), 220, np.uint8)
    img[20:40, 30:50] = (200, 40, 40)
    tr = Sam3Tracker(Sam3Predictor(model, refine="none"), TrackerConfig(box_grow=1.5, motion="none"))
    calls = []
    real = tr.predictor.predict
    tr.predictor.predict = lambda **kw: calls.append(kw) or real(**kw)
    tr.step(img, [ObjectPrompt(obj_id=1, mask=_rect(20, 40, 30, 50))])
    r = tr.step(img)
    assert r.ids == [1] and calls and all(c["zoom"] is False for c in calls)  # asked once the object is present
    with pytest.raises(InputError, match="box_grow"):
        TrackerConfig(box_grow=2.0, box_grow_max=1.5)
