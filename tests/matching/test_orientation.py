"""Orientation search: quarter turns of image 1 and the mapping of its points back."""

from __future__ import annotations

import numpy as np
import pytest

from segcorr.matching.orientation import OrientationSearch, turn_image, unturn_points, view_image, view_points_back
from segcorr.matching.predictor import MatchPredictor, to_grey_float


@pytest.mark.parametrize("turns", [0, 1, 2, 3, 5])
def test_unturn_points_inverts_turn_image(turns):
    h, w = 7, 11
    img = np.arange(h * w).reshape(h, w)  # each pixel's value names it
    turned = turn_image(img, turns)
    ys, xs = np.mgrid[0 : turned.shape[0], 0 : turned.shape[1]]
    pts = np.stack([xs.ravel(), ys.ravel()], -1).astype(np.float32)
    back = unturn_points(pts, turns, (h, w)).astype(int)
    np.testing.assert_array_equal(img[back[:, 1], back[:, 0]], turned.ravel())
    assert turned.flags["C_CONTIGUOUS"]


@pytest.mark.parametrize("turns", [0.5, 1.5, 2.5, 3.5])
def test_eighth_turns_hold_the_whole_image_and_their_points_come_back(turns):
    h, w = 48, 80
    img = np.zeros((h, w), np.float32)
    img[8:13, 58:63] = img[38:43, 3:8] = 1.0  # two 5 x 5 marks centred on (60, 10) and (5, 40)
    turned = turn_image(img, turns)
    assert turned.shape[0] == turned.shape[1] == 91  # ceil((48 + 80) / sqrt(2))
    assert turned.sum() == pytest.approx(50.0, rel=0.1)  # both marks inside the canvas
    ys, xs = np.nonzero(turned > 0.99)
    back = unturn_points(np.stack([xs, ys], -1).astype(np.float32), turns, (h, w))
    near = [np.linalg.norm(back - q, axis=1).min() for q in ([60, 10], [5, 40])]
    assert max(near) < 1.0
    assert turn_image(img.astype(np.uint8), turns).dtype == np.uint8


def _picture(h: int, w: int) -> np.ndarray:
    """Image 0 of the predictor doubles: any content but a flat one (a flat image is not matched at all)."""
    return (np.arange(h * w) % 251).astype(np.uint8).reshape(h, w)


class _Turned(MatchPredictor):
    """A predictor double whose one matching pass only agrees when image 1 is seen through the view ``good``
    (a number of quarter turns, or a crop box)."""

    def __init__(self, original: np.ndarray, good, orientation: OrientationSearch, prealign: bool = False):
        self.original, self.good, self.tries = original, good, []
        from segcorr.matching.patch_refine import PatchRefine
        from segcorr.matching.prealign import PreAlign

        self.refine, self.orientation, self.longer_side = PatchRefine(), orientation, 640
        self.prealign = PreAlign(enabled=prealign)

    def _match(self, img0, img1, side=None):
        views = [(0, None)] + self.orientation.views(self.original.shape)
        grey = to_grey_float(self.original)  # what __call__ hands every pass
        v = next(v for v in views if np.array_equal(view_image(grey, v), img1))
        k = v[0] if v[1] is None else v[1]
        self.tries.append(k if side is None else (k, side))
        pts = np.array([[1.0, 2.0], [4.0, 0.0]], np.float32)  # in the view
        out = {"mkpts0": pts.copy(), "mkpts1": pts, "mconf": np.ones(2, np.float32)}
        return out, 100 if k == self.good else 3


def test_the_turn_with_most_support_wins_and_its_points_come_back():
    img1 = np.arange(6 * 9, dtype=np.uint8).reshape(6, 9)
    every = OrientationSearch(turns=(1, 2, 3), probe_side=None, crop_share=0, enough=None)
    pred = _Turned(img1, good=2, orientation=every)
    out = pred(_picture(6, 9), img1)
    assert pred.tries == [0, 1, 2, 3]
    first = _Turned(img1, good=2, orientation=OrientationSearch(turns=(1, 2, 3), probe_side=None, crop_share=0))
    np.testing.assert_array_equal(first(_picture(6, 9), img1)["mkpts1"], out["mkpts1"])
    assert first.tries == [0, 1, 2]  # 100 consistent matches >= enough (64): turn 3 is not tried
    np.testing.assert_array_equal(out["mkpts1"], unturn_points(np.array([[1.0, 2.0], [4.0, 0.0]]), 2, (6, 9)))
    np.testing.assert_array_equal(out["mkpts0"], [[1.0, 2.0], [4.0, 0.0]])  # image 0 is never turned


def test_the_probe_tries_the_turns_small_and_matches_only_the_best_at_full_size():
    img1 = np.arange(6 * 9, dtype=np.uint8).reshape(6, 9)
    pred = _Turned(img1, good=3, orientation=OrientationSearch(turns=(1, 2, 3), probe_side=320, crop_share=0))
    out = pred(_picture(6, 9), img1)
    assert pred.tries == [0, (1, 320), (2, 320), (3, 320), 3]
    np.testing.assert_array_equal(out["mkpts1"], unturn_points(np.array([[1.0, 2.0], [4.0, 0.0]]), 3, (6, 9)))
    pred = _Turned(
        img1, good=3, orientation=OrientationSearch(turns=(1, 2, 3), probe_side=640, crop_share=0)
    )  # 640: no probe
    pred(_picture(6, 9), img1)
    assert pred.tries == [0, 1, 2, 3]


def test_a_crop_of_image_1_can_win_and_its_points_come_back_with_its_offset():
    img1 = np.arange(120 * 180, dtype=np.uint16).reshape(120, 180)
    search = OrientationSearch(turns=(1, 2, 3), crop_share=0.6)
    views = search.views(img1.shape)
    assert len(views) == 3 + 5 and views[3][1] == (0, 0, 108, 72) and views[6][1] == (72, 48, 180, 120)
    assert len(OrientationSearch().views(img1.shape)) == 7 + 5  # the default: seven turns, five crops
    good = views[6]
    pred = _Turned(img1, good=good[1], orientation=search)
    out = pred(_picture(120, 180), img1)
    assert pred.tries[0] == 0 and pred.tries[-1] == good[1] and len(pred.tries) == 1 + 7 + 1  # first, probes, full
    assert pred.tries[-2] == (good[1], 320)  # the probes stopped at the good view (the 7th of 8)
    np.testing.assert_array_equal(out["mkpts1"], [[73.0, 50.0], [76.0, 48.0]])
    np.testing.assert_array_equal(view_points_back(np.array([[1.0, 2.0]]), good, (120, 180)), [[73.0, 50.0]])
    small = _Turned(img1[:80, :100], good=1, orientation=search)  # crops of 48 x 60 px are too small to match
    small(_picture(80, 100), img1[:80, :100])
    assert small.tries == [0, (1, 320), 1]  # no crops (too small), and turn 1 is enough


def test_enough_is_checked():
    with pytest.raises(ValueError):
        OrientationSearch(retry_below=16, enough=8)


def test_no_search_when_the_first_try_agrees_or_the_search_is_off():
    img1 = np.arange(6 * 9, dtype=np.uint8).reshape(6, 9)
    pred = _Turned(img1, good=0, orientation=OrientationSearch())
    pred(_picture(6, 9), img1)
    assert pred.tries == [0]
    pred = _Turned(img1, good=1, orientation=OrientationSearch(enabled=False))
    out = pred(_picture(6, 9), img1)
    assert pred.tries == [0] and np.array_equal(out["mkpts1"], [[1.0, 2.0], [4.0, 0.0]])


def test_with_prealignment_the_views_are_only_probed_and_the_best_probe_is_kept(monkeypatch):
    import segcorr.matching.predictor as predictor

    img1 = np.arange(6 * 9, dtype=np.uint8).reshape(6, 9)
    fitted = []
    monkeypatch.setattr(predictor, "fit_prealignment", lambda k0, k1, cfg, px: fitted.append(k1.copy()))  # no H
    pred = _Turned(img1, good=3, orientation=OrientationSearch(turns=(1, 2, 3), crop_share=0), prealign=True)
    out = pred(_picture(6, 9), img1)
    # the first try and every view at the probe's size, then (no homography) the pair as given at full size
    assert pred.tries == [(0, 320), (1, 320), (2, 320), (3, 320), 0]
    np.testing.assert_array_equal(fitted[0], unturn_points(np.array([[1.0, 2.0], [4.0, 0.0]]), 3, (6, 9)))
    np.testing.assert_array_equal(out["mkpts1"], [[1.0, 2.0], [4.0, 0.0]])


def test_settings_are_checked():
    with pytest.raises(ValueError):
        OrientationSearch(turns=(4,))
    with pytest.raises(ValueError):
        OrientationSearch(turns=(0.25,))
    assert OrientationSearch(turns=(0.5, 3.5)).turns == (0.5, 3.5)
    with pytest.raises(ValueError):
        OrientationSearch(retry_below=-1)
    with pytest.raises(ValueError):
        OrientationSearch(probe_side=32)
    with pytest.raises(ValueError):
        OrientationSearch(crop_share=1.0)


class _Scripted(MatchPredictor):
    """A predictor double whose passes return the consistent-match counts of ``supports`` in call order; pass k's
    points are all k, so the answer tells which pass it came from."""

    def __init__(self, supports, recheck_below: int):
        from segcorr.matching.patch_refine import PatchRefine
        from segcorr.matching.prealign import PreAlign

        self.supports, self.sides = list(supports), []
        self.refine, self.orientation, self.longer_side = PatchRefine(), OrientationSearch(), 640
        self.prealign = PreAlign(recheck_below=recheck_below)

    def _match(self, img0, img1, side=None):
        k = len(self.sides)
        self.sides.append(side or self.longer_side)
        pts = np.full((8, 2), float(k), np.float32)
        return {"mkpts0": pts.copy(), "mkpts1": pts, "mconf": np.ones(8, np.float32)}, self.supports[k]


def test_a_pass_with_little_support_after_a_good_probe_gets_the_views_after_all(monkeypatch):
    import segcorr.matching.predictor as predictor

    monkeypatch.setattr(predictor, "fit_prealignment", lambda k0, k1, cfg, px: np.eye(3))
    img = np.arange(96 * 128, dtype=np.uint16).reshape(96, 128)
    # probe 30 (>= retry_below 16: no search), full pass 40 (< 300): the views are probed; the second has 100
    # (>= enough 64, the search stops), is aligned and matched in full: 500 consistent matches win
    pred = _Scripted([30, 40, 5, 100, 500], recheck_below=300)
    out = pred(_picture(96, 128), img)
    assert pred.sides == [320, 640, 320, 320, 640] and out["mkpts0"][0, 0] == 4
    # the same, but the new full pass finds fewer than its probe (then the fallback, the pair as given, 20) and than
    # the first full pass: the first is kept
    pred = _Scripted([30, 40, 5, 100, 35, 20], recheck_below=300)
    assert pred(_picture(96, 128), img)["mkpts0"][0, 0] == 1 and len(pred.sides) == 6
    # no view beats the first probe (30): nothing more is matched in full (seven turns; crops of this image would
    # be under 64 px, so there are none)
    pred = _Scripted([30, 40] + [20] * 7, recheck_below=300)
    assert pred(_picture(96, 128), img)["mkpts0"][0, 0] == 1 and pred.sides == [320, 640] + [320] * 7
    # off, or a full pass with enough support, or a probe that was searched already: no recheck
    for supports, below in (([30, 40], 0), ([30, 400], 300)):
        pred = _Scripted(supports, recheck_below=below)
        pred(_picture(96, 128), img)
        assert pred.sides == [320, 640]
    pred = _Scripted([3] + [100] + [200], recheck_below=300)  # probe 3: searched (the first view wins), full 200
    pred(_picture(96, 128), img)
    assert pred.sides == [320, 320, 640]


def test_recheck_below_is_checked():
    from segcorr.matching.prealign import PreAlign

    with pytest.raises(ValueError, match="recheck_below"):
        PreAlign(recheck_below=-1)


def test_a_strong_first_probe_skips_the_warp_but_a_strong_view_does_not(monkeypatch):
    import segcorr.matching.predictor as predictor

    monkeypatch.setattr(predictor, "fit_prealignment", lambda k0, k1, cfg, px: np.eye(3))
    img = np.arange(96 * 128, dtype=np.uint16).reshape(96, 128)
    for supports, warped in (([400, 500], False), ([3, 400, 500], True), ([299, 500], True)):
        pred = _Scripted(supports, recheck_below=300)  # PreAlign's plain_above: 300
        calls = []
        aligned = pred._aligned
        pred._aligned = lambda *a, _f=aligned, _c=calls: _c.append(1) or _f(*a)
        pred(_picture(96, 128), img)
        # a view of the search is turned or cropped: it is aligned by its homography however many matches it has
        assert bool(calls) == warped, supports
