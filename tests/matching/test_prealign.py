"""Pre-alignment: the probe's homography, the warp of image 1 onto image 0, and the points mapped back."""

from __future__ import annotations

import numpy as np
import pytest

from segcorr.geometry.homography import warp_points
from segcorr.matching.orientation import OrientationSearch
from segcorr.matching.patch_refine import PatchRefine
from segcorr.matching.prealign import PreAlign, fit_prealignment, points_through, warp_onto
from segcorr.matching.predictor import MatchPredictor


def test_warp_onto_samples_image_1_at_h_x_and_says_how_much_it_covers():
    rng = np.random.default_rng(0)
    img1 = rng.integers(0, 255, (40, 60, 3), dtype=np.uint8)
    H = np.array([[1.0, 0, 7], [0, 1, -5], [0, 0, 1]])  # image 0's (x, y) is image 1's (x + 7, y - 5)
    out, seen = warp_onto(img1, H, (30, 50))
    assert out.shape == (30, 50, 3) and out.dtype == np.uint8
    np.testing.assert_array_equal(out[5:30, 0:50], img1[0:25, 7:57])
    assert not out[:5].any()  # above image 1
    assert seen == pytest.approx(25 / 30)


def test_warp_onto_leaves_what_lies_behind_the_view_empty_instead_of_a_mirrored_copy():
    img1 = np.full((50, 50), 200, np.uint8)
    H = np.array([[1.0, 0, 0], [0, 1, 0], [-0.02, 0, 1]])  # w = 1 - 0.02 x: behind the view for x > 50
    out, seen = warp_onto(img1, H, (50, 100))
    assert not out[:, 51:].any()
    xs = np.arange(100.0)
    w = 1 - 0.02 * xs
    inside = (w > 0) & (xs < 49.5 * np.maximum(w, 1e-9))
    assert seen <= inside.mean() + 1e-9 and out[:, 0].all()


def test_fit_prealignment_recovers_the_homography_through_outliers_and_needs_enough_inliers():
    rng = np.random.default_rng(1)
    H = np.array([[0.9, -0.3, 40], [0.25, 1.1, -10], [2e-4, -1e-4, 1]])
    k0 = rng.uniform(0, 600, (60, 2))
    k1 = warp_points(H, k0) + rng.normal(0, 0.3, (60, 2))
    k1[:15] = rng.uniform(0, 600, (15, 2))  # a quarter of the matches are wrong
    est = fit_prealignment(k0, k1, PreAlign(), px_scale=2.0)
    corners = np.array([[0.0, 0], [639, 0], [639, 479], [0, 479]])
    assert np.abs(warp_points(est, corners) - warp_points(H, corners)).max() < 3.0
    assert fit_prealignment(k0[10:20], k1[10:20], PreAlign(min_inliers=8), 2.0) is None  # 5 right, 5 wrong


def test_points_through_maps_the_warped_images_points_to_image_1():
    H = np.array([[2.0, 0, 3], [0, 2, 1], [0, 0, 1]])
    pts = np.array([[1.0, 1.0], [10.0, 0.0]], np.float32)
    back = points_through(H, pts)
    assert back.dtype == np.float32
    np.testing.assert_allclose(back, [[5.0, 3.0], [23.0, 1.0]])


class _Shifted(MatchPredictor):
    """A predictor double: image 1 is image 0 moved by (dx, dy); each pass returns a grid of matches, exact
    when image 1 is already aligned with image 0 (the warped view), else with the shift found only roughly."""

    def __init__(self, dx: float, dy: float, prealign: PreAlign, probe_finds: int = 50, aligned_finds: int = 104):
        self.dx, self.dy, self.tries, self.probe_finds, self.aligned_finds = dx, dy, [], probe_finds, aligned_finds
        self.refine, self.orientation, self.prealign = PatchRefine(), OrientationSearch(), prealign
        self.longer_side = 640

    def _match(self, img0, img1, side=None):
        aligned = np.allclose(img0[20:-20, 20:-20], img1[20:-20, 20:-20], atol=2e-3)  # H is fitted: sub-pixel off
        self.tries.append(("aligned" if aligned else "given", side))
        ys, xs = np.mgrid[40:200:20, 40:300:20]
        k0 = np.stack([xs.ravel(), ys.ravel()], -1).astype(np.float32)
        shift = np.float32([0, 0]) if aligned else np.float32([self.dx, self.dy])
        n = self.probe_finds if side else (self.aligned_finds if aligned else len(k0))
        out = {"mkpts0": k0[:n], "mkpts1": k0[:n] + shift, "mconf": np.ones(n, np.float32)}
        return out, n


def _pair(dx: int, dy: int):
    rng = np.random.default_rng(2)
    big = rng.integers(0, 255, (280, 380), dtype=np.uint8)
    return big[30:270, 30:350], big[
        30 - dy : 270 - dy, 30 - dx : 350 - dx
    ]  # image 0's (x, y) is image 1's (x + dx, y + dy)


def test_the_full_pass_matches_the_warped_image_and_its_points_come_back_through_h():
    img0, img1 = _pair(6, -4)
    pred = _Shifted(6, -4, PreAlign(recheck_below=0))  # the double's 104 matches would trigger the recheck
    out = pred(img0, img1)
    assert pred.tries == [("given", 320), ("aligned", None)]
    np.testing.assert_allclose(out["mkpts1"], out["mkpts0"] + np.float32([6, -4]), atol=1e-3)


def test_after_a_strong_probe_the_full_pass_matches_the_pair_as_given():
    img0, img1 = _pair(6, -4)
    strong = _Shifted(6, -4, PreAlign(plain_above=50, recheck_below=0), probe_finds=50)
    out = strong(img0, img1)
    assert strong.tries == [("given", 320), ("given", None)]  # no warp, no fallback
    np.testing.assert_allclose(out["mkpts1"], out["mkpts0"] + np.float32([6, -4]))
    weaker = _Shifted(6, -4, PreAlign(plain_above=51, recheck_below=0), probe_finds=50)  # one short: warped
    weaker(img0, img1)
    assert weaker.tries == [("given", 320), ("aligned", None)]
    with pytest.raises(ValueError, match="plain_above"):
        PreAlign(plain_above=-1)


def test_without_a_homography_or_with_prealignment_off_the_pair_is_matched_as_given():
    img0, img1 = _pair(6, -4)
    few = _Shifted(6, -4, PreAlign(min_inliers=64), probe_finds=20)  # the probe's 20 matches are too few
    few.orientation = OrientationSearch(enabled=False)
    few(img0, img1)
    assert few.tries == [("given", 320), ("given", None)]
    off = _Shifted(6, -4, PreAlign(enabled=False))
    out = off(img0, img1)
    assert off.tries == [("given", None)]
    np.testing.assert_allclose(out["mkpts1"], out["mkpts0"] + np.float32([6, -4]))


def test_when_the_warped_pass_finds_less_than_the_probe_the_pair_is_also_matched_as_given():
    img0, img1 = _pair(6, -4)
    # fewer than the probe's 50: the warp did not help
    pred = _Shifted(6, -4, PreAlign(recheck_below=0), aligned_finds=30)
    out = pred(img0, img1)
    assert pred.tries == [("given", 320), ("aligned", None), ("given", None)]
    assert len(out["mkpts0"]) == 104  # the plain pass found more and wins
    pred = _Shifted(6, -4, PreAlign(fallback=False, recheck_below=0), aligned_finds=30)
    assert len(pred(img0, img1)["mkpts0"]) == 30 and len(pred.tries) == 2


def test_settings_are_checked():
    for bad in (dict(probe_side=32), dict(min_inliers=3), dict(threshold_px=0), dict(min_overlap=1.0)):
        with pytest.raises(ValueError):
            PreAlign(**bad)
