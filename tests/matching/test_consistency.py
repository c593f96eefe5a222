"""Neighbourhood consistency: matches that move with their neighbours stay, the others go."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from segcorr.matching.consistency import consistent_matches
from segcorr.matching.patch_refine import PatchRefine, refine_and_filter, refine_matches


def _matches(seed: int = 0, n: int = 120):
    rng = np.random.default_rng(seed)
    h = np.array([[0.9, -0.35, 40.0], [0.3, 0.95, -10.0], [2e-4, -1e-4, 1.0]])  # rotation, scale, perspective
    k0 = np.stack([rng.uniform(20, 300, n), rng.uniform(20, 220, n)], -1)
    k1 = cv2.perspectiveTransform(k0[None], h)[0]
    return k0, k1 + rng.normal(0, 0.3, k1.shape), h, rng


def test_smooth_matches_stay_and_displaced_ones_go():
    k0, k1, _, rng = _matches()
    bad = np.array([3, 17, 40, 77])
    k1 = k1.copy()
    k1[bad[:2]] += 60.0 * rng.uniform(-1, 1, (2, 2))  # gross outliers
    k1[bad[2:]] += np.array([4.0, -3.0])  # off by 5 px: wrong at the protocol's 3 px
    keep = consistent_matches(k0, k1, neighbours=20, max_px=2.0)
    assert keep.dtype == bool and keep.shape == (120,)
    assert not keep[bad].any()
    assert keep.sum() >= 120 - len(bad) - 3  # almost every good match stays


def test_a_given_neighbour_index_gives_the_same_answer():
    from segcorr.matching.patch_refine import neighbour_index

    k0, k1, _, _ = _matches()
    k1 = k1.copy()
    k1[[5, 50]] += 30.0
    idx = neighbour_index(k0, 20)
    assert np.array_equal(consistent_matches(k0, k1, 20, 2.0, idx=idx), consistent_matches(k0, k1, 20, 2.0))


def test_too_few_matches_to_judge_keep_everything():
    k0, k1, _, _ = _matches(n=4)
    assert consistent_matches(k0, k1 + 50.0 * np.eye(4, 2)).all()  # 4 matches: no neighbourhood of 4 others
    k0, k1, _, _ = _matches(n=30)
    k1[:25] += np.random.default_rng(1).uniform(-80, 80, (25, 2))  # 25 of 30 wrong: fewer than min_kept agree
    assert consistent_matches(k0, k1, min_kept=8).all()


def test_refine_and_filter_drops_outliers_and_refines_the_rest():
    rng = np.random.default_rng(2)
    g0 = cv2.GaussianBlur(rng.random((240, 320)).astype(np.float32), (0, 0), 1.5)
    h = np.array([[1.05, 0.08, 6.0], [-0.06, 1.0, 4.0], [0.0, 0.0, 1.0]])
    g1 = cv2.warpPerspective(g0, h, (320, 240), flags=cv2.INTER_LINEAR)
    k0 = np.stack([rng.uniform(40, 260, 100), rng.uniform(40, 190, 100)], -1)
    truth = cv2.perspectiveTransform(k0[None], h)[0]
    k1 = truth + rng.uniform(-2, 2, truth.shape)
    k1[:6] += 25.0  # coarse-stage outliers
    out, keep, support = refine_and_filter(g0, g1, k0, k1, PatchRefine(consistency_px=2.0), (240, 320))
    assert not keep[:6].any() and keep[6:].mean() > 0.95 and support == int(keep.sum())
    assert out.shape == (int(keep.sum()), 2) and out.dtype == np.float32
    assert np.median(np.linalg.norm(out - truth[keep], axis=1)) < 0.2
    _, keep_all, s = refine_and_filter(g0, g1, k0, k1, PatchRefine(consistency_px=2.0, consistency_min=95), (240, 320))
    assert keep_all.all() and s == support  # fewer than consistency_min pass: all kept, the support still told
    plain, keep0, _ = refine_and_filter(g0, g1, k0, k1, PatchRefine(consistency_px=0.0), (240, 320))
    assert keep0.all()  # off: exactly refine_matches
    np.testing.assert_array_equal(plain, refine_matches(g0, g1, k0, k1, PatchRefine(), (240, 320)))


def test_consistency_settings_are_checked():
    with pytest.raises(ValueError):
        PatchRefine(consistency_px=-1.0)
    with pytest.raises(ValueError):
        PatchRefine(refit_iterations=-1)
    with pytest.raises(ValueError):
        PatchRefine(consistency_min=-1)
