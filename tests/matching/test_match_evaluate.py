"""Matching evaluation: readers of both layouts, the shared protocol, bad pairs files."""

from __future__ import annotations

import numpy as np
import pytest
from match_cases import H_TRUE, write_homography_set, write_pose_set

from segcorr.data.matchsets import HomographyPairs, PosePairs, open_match_dataset, read_homography
from segcorr.errors import InputError
from segcorr.matching.evaluate import MatchProtocol, build_matcher, evaluate_matches
from segcorr.metrics.matching import MATCH_KEYS

KEYS = {"method", "data", "count", "ms_per_item", *MATCH_KEYS}


def oracle_h(img0, img1):
    """Perfect matches on a grid: every AUC must be 1."""
    ys, xs = np.mgrid[10:100:10, 10:140:10]
    p0 = np.stack([xs.ravel(), ys.ravel()], 1).astype(np.float64)
    from segcorr.geometry import warp_points

    return {"mkpts0": p0, "mkpts1": warp_points(H_TRUE, p0), "mconf": np.ones(len(p0))}


def test_homography_reader_and_oracle_scores_one(tmp_path):
    ds = open_match_dataset(write_homography_set(tmp_path / "h"))
    assert isinstance(ds, HomographyPairs) and len(ds) == 2
    p = ds[0]
    assert p.kind == "homography" and p.img0.shape == (120, 160, 3)
    np.testing.assert_allclose(p.H, H_TRUE)
    r = evaluate_matches(ds, oracle_h, "oracle", progress=False)
    assert set(r) == KEYS
    assert r["auc3"] > 0.999 and r["precision"] == 1.0 and r["pose_auc5"] is None and r["count"] == 2


def test_no_matches_scores_zero(tmp_path):
    ds = open_match_dataset(write_homography_set(tmp_path / "h", 1))

    def none(a, b):
        return {"mkpts0": np.zeros((0, 2)), "mkpts1": np.zeros((0, 2)), "mconf": np.zeros(0)}

    r = evaluate_matches(ds, none, "none", progress=False)
    assert r["auc10"] == 0.0 and r["matches"] == 0.0


def test_sift_on_homography_pairs(tmp_path):
    ds = open_match_dataset(write_homography_set(tmp_path / "h"))
    r = evaluate_matches(ds, build_matcher("sift", longer_side=None), "sift", progress=False)
    assert r["auc10"] > 0.5 and r["precision"] > 0.7


def test_pose_reader_and_sift(tmp_path):
    ds = open_match_dataset(write_pose_set(tmp_path / "p"))
    assert isinstance(ds, PosePairs) and len(ds) == 2
    p = ds[0]
    assert p.kind == "pose" and p.K0.shape == (3, 3) and p.T_0to1.shape == (4, 4)
    r = evaluate_matches(
        ds, build_matcher("sift", longer_side=None), "sift", progress=False, protocol=MatchProtocol(longer_side=None)
    )
    assert set(r) == KEYS and r["auc3"] is None
    assert r["pose_auc20"] > 0.3


def test_max_matches_is_enforced_by_the_protocol(tmp_path):
    ds = open_match_dataset(write_homography_set(tmp_path / "h", 1))
    r = evaluate_matches(ds, oracle_h, "oracle", protocol=MatchProtocol(max_matches=10), progress=False)
    assert r["matches"] == 10


def _pairs_file(tmp_path, text):
    (tmp_path / "pairs_with_gt.txt").write_text(text)
    return tmp_path


GOOD = "a.png b.png 0 0 " + " ".join(["100 0 50 0 100 40 0 0 1"] * 2) + " 1 0 0 1 0 1 0 0 0 0 1 0 0 0 0 1"


@pytest.mark.parametrize(
    "text, match",
    [
        ("a.png b.png 0 0 1 2 3\n", "line 1: expected 38 fields"),
        (GOOD + "\n" + GOOD.replace("100 0 50", "x 0 50", 1) + "\n", "line 2: expected 36 numbers"),
        (GOOD.replace("100 0 50", "-5 0 50", 1), "line 1: expected K0"),
        (GOOD.replace(" 0 0 0 1", " 0 0 0 2"), "line 1: expected T_0to1"),
        (GOOD.replace(" 0 0 100", " 1 0 100", 1), "EXIF rotations"),
        ("# only a comment\n", "at least one pair"),
    ],
)
def test_corrupt_pairs_file_names_file_and_line(tmp_path, text, match):
    with pytest.raises(InputError, match=match) as e:
        open_match_dataset(_pairs_file(tmp_path, text))
    assert "pairs_with_gt.txt" in str(e.value)


def test_missing_image_and_bad_homography(tmp_path):
    ds = open_match_dataset(_pairs_file(tmp_path, GOOD + "\n"))
    with pytest.raises(InputError, match="not found"):
        ds[0]
    h = tmp_path / "h"
    write_homography_set(h, 1)
    (h / "00000_H.txt").write_text("1 0 0\n0 1 0\n")
    with pytest.raises(InputError, match="expected 9 numbers"):
        HomographyPairs(h)
    (h / "00000_H.txt").write_text("0 0 0 0 0 0 0 0 0")
    with pytest.raises(InputError, match="singular"):
        read_homography(h / "00000_H.txt")
    (h / "00000_H.txt").unlink()
    with pytest.raises(InputError, match="missing 00000_H.txt"):
        open_match_dataset(h)


def test_unknown_method():
    with pytest.raises(InputError, match="unknown matching method"):
        build_matcher("superglue")


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
def test_jitter_moves_about_the_share_of_values_by_one_level_and_keeps_the_range(dtype):
    from segcorr.matching.evaluate import jitter_pixels

    rng = np.random.default_rng(0)
    top = 1.0 if dtype == np.float32 else np.iinfo(dtype).max
    img = (rng.random((60, 80, 3)) * top).astype(dtype)
    img[0, :] = 0
    img[1, :] = top  # the ends of the range: clipped, never wrapped
    out = jitter_pixels(img, np.random.default_rng(1), share=0.1)
    assert out.dtype == img.dtype and out.shape == img.shape
    step = 1.0 / 255.0 if dtype == np.float32 else 1.0
    d = (out.astype(np.float64) - img.astype(np.float64)) / step
    assert np.abs(d).max() <= 1.0 + 1e-4
    assert 0.07 < (np.abs(d) > 0.5).mean() < 0.13
    assert out.min() >= 0 and out.max() <= top
    assert np.array_equal(out, jitter_pixels(img, np.random.default_rng(1), share=0.1))  # seeded


def test_jittered_matcher_sees_changed_images_and_repeats_with_its_seed():
    from segcorr.matching.evaluate import jittered

    seen = []

    def matcher(a, b):
        seen.append((a.copy(), b.copy()))
        return {"mkpts0": np.zeros((0, 2)), "mkpts1": np.zeros((0, 2)), "mconf": np.zeros(0)}

    img = np.full((40, 50), 128, np.uint8)
    for seed in (3, 3):
        jittered(matcher, seed)(img, img)
    (a0, b0), (a1, b1) = seen
    assert not np.array_equal(a0, img) and not np.array_equal(a0, b0)  # each image its own change
    assert np.array_equal(a0, a1) and np.array_equal(b0, b1)
