"""Orientation search: quarter turns of image 1 and the mapping of its points back."""

from __future__ import annotations

import numpy as np
import pytest

from segcorr.matching.orientation import OrientationSearch, turn_image, unturn_points
from segcorr.matching.predictor import MatchPredictor


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


class _Turned(MatchPredictor):
    """A predictor double whose one matching pass only agrees when image 1 is turned by ``good`` quarter turns."""

    def __init__(self, original: np.ndarray, good: int, orientation: OrientationSearch):
        self.original, self.good, self.tries = original, good, []
        from segcorr.matching.patch_refine import PatchRefine

        self.refine, self.orientation, self.longer_side = PatchRefine(), orientation, 640

    def _match(self, img0, img1, side=None):
        k = next(t for t in range(4) if np.array_equal(turn_image(self.original, t), img1))
        self.tries.append(k if side is None else (k, side))
        pts = np.array([[1.0, 2.0], [4.0, 0.0]], np.float32)  # in the turned image
        out = {"mkpts0": pts.copy(), "mkpts1": pts, "mconf": np.ones(2, np.float32)}
        return out, 100 if k == self.good else 3


def test_the_turn_with_most_support_wins_and_its_points_come_back():
    img1 = np.arange(6 * 9, dtype=np.uint8).reshape(6, 9)
    pred = _Turned(img1, good=2, orientation=OrientationSearch(probe_side=None))
    out = pred(np.zeros((6, 9), np.uint8), img1)
    assert pred.tries == [0, 1, 2, 3]
    np.testing.assert_array_equal(out["mkpts1"], unturn_points(np.array([[1.0, 2.0], [4.0, 0.0]]), 2, (6, 9)))
    np.testing.assert_array_equal(out["mkpts0"], [[1.0, 2.0], [4.0, 0.0]])  # image 0 is never turned


def test_the_probe_tries_the_turns_small_and_matches_only_the_best_at_full_size():
    img1 = np.arange(6 * 9, dtype=np.uint8).reshape(6, 9)
    pred = _Turned(img1, good=3, orientation=OrientationSearch(probe_side=320))
    out = pred(np.zeros((6, 9), np.uint8), img1)
    assert pred.tries == [0, (1, 320), (2, 320), (3, 320), 3]
    np.testing.assert_array_equal(out["mkpts1"], unturn_points(np.array([[1.0, 2.0], [4.0, 0.0]]), 3, (6, 9)))
    pred = _Turned(img1, good=3, orientation=OrientationSearch(probe_side=640))  # not below longer_side: no probe
    pred(np.zeros((6, 9), np.uint8), img1)
    assert pred.tries == [0, 1, 2, 3]


def test_no_search_when_the_first_try_agrees_or_the_search_is_off():
    img1 = np.arange(6 * 9, dtype=np.uint8).reshape(6, 9)
    pred = _Turned(img1, good=0, orientation=OrientationSearch())
    pred(np.zeros((6, 9), np.uint8), img1)
    assert pred.tries == [0]
    pred = _Turned(img1, good=1, orientation=OrientationSearch(enabled=False))
    out = pred(np.zeros((6, 9), np.uint8), img1)
    assert pred.tries == [0] and np.array_equal(out["mkpts1"], [[1.0, 2.0], [4.0, 0.0]])


def test_settings_are_checked():
    with pytest.raises(ValueError):
        OrientationSearch(turns=(4,))
    with pytest.raises(ValueError):
        OrientationSearch(retry_below=-1)
    with pytest.raises(ValueError):
        OrientationSearch(probe_side=32)
