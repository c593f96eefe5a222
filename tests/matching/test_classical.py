"""SIFT / ORB baselines: the predictor contract, correct matches on a known homography, input handling."""

from __future__ import annotations

import numpy as np
import pytest
from match_cases import H_TRUE, warped_pair

from segcorr.errors import InputError
from segcorr.matching.classical import ClassicalMatcher, to_gray_u8, top_matches
from segcorr.metrics.matching import homography_precision


@pytest.mark.parametrize("kind", ["sift", "orb"])
def test_matcher_finds_correct_matches(kind):
    a, b = warped_pair()
    out = ClassicalMatcher(kind, longer_side=None)(a, b)
    assert set(out) == {"mkpts0", "mkpts1", "mconf"}
    assert out["mkpts0"].dtype == np.float32 and out["mkpts0"].shape[1] == 2
    assert len(out["mkpts0"]) >= 15
    assert homography_precision(out["mkpts0"], out["mkpts1"], H_TRUE) > 0.7


def test_resizing_returns_original_coordinates():
    a, b = warped_pair(240, 320)
    out = ClassicalMatcher("sift", longer_side=200)(a, b)
    assert len(out["mkpts0"]) >= 10
    assert out["mkpts0"][:, 0].max() > 200  # beyond the resized width: mapped back
    assert homography_precision(out["mkpts0"], out["mkpts1"], H_TRUE) > 0.7


def test_max_matches_keeps_most_confident():
    a, b = warped_pair()
    full = ClassicalMatcher("orb", longer_side=None, max_matches=None)(a, b)
    cut = ClassicalMatcher("orb", longer_side=None, max_matches=5)(a, b)
    assert len(cut["mconf"]) == 5
    assert cut["mconf"].min() >= np.sort(full["mconf"])[-5]


def test_top_matches_order():
    r = {"mkpts0": np.arange(8.0).reshape(4, 2), "mkpts1": np.zeros((4, 2)), "mconf": np.array([0.1, 0.9, 0.5, 0.7])}
    t = top_matches(r, 2)
    np.testing.assert_array_equal(t["mconf"], [0.9, 0.7])
    np.testing.assert_array_equal(t["mkpts0"], [[2, 3], [6, 7]])


def test_grey_rgba_float_and_different_sizes_are_fine():
    a, b = warped_pair()
    grey = a[:, :, 0]
    rgba = np.concatenate([b, np.full(b.shape[:2] + (1,), 255, np.uint8)], axis=2)
    out = ClassicalMatcher("sift", longer_side=None)(grey, rgba)
    assert len(out["mkpts0"]) > 0
    small = b[:100, :130]
    out = ClassicalMatcher("sift", longer_side=None)(a.astype(np.float32) / 255, small)
    assert len(out["mkpts1"]) == 0 or out["mkpts1"][:, 0].max() < 130


def test_flat_images_give_no_matches():
    flat = np.full((64, 64), 100, np.uint8)
    out = ClassicalMatcher("sift")(flat, flat)
    assert out["mkpts0"].shape == (0, 2) and out["mconf"].shape == (0,)


def test_bad_inputs_are_input_errors():
    with pytest.raises(InputError, match="at least"):
        to_gray_u8(np.zeros((8, 8), np.uint8))
    with pytest.raises(InputError, match="shape"):
        to_gray_u8(np.zeros((32, 32, 2), np.uint8))
    with pytest.raises(InputError, match="unknown classical"):
        ClassicalMatcher("surf")
