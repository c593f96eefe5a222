"""Patch refinement of matches: recovers sub-pixel positions under a known warp, leaves what it cannot refine."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from segcorr.matching.patch_refine import PatchRefine, local_affines, neighbour_index, refine_matches


def _pair(h: np.ndarray, seed: int = 0):
    rng = np.random.default_rng(seed)
    g0 = cv2.GaussianBlur(rng.random((160, 200)).astype(np.float32), (0, 0), 1.5)
    g1 = cv2.warpPerspective(g0, h, (200, 160), flags=cv2.INTER_LINEAR)
    k0 = np.stack([rng.uniform(40, 160, 80), rng.uniform(40, 120, 80)], -1)
    k1 = cv2.perspectiveTransform(k0[None], h)[0]
    return g0, g1, k0, k1, rng


def test_refine_recovers_subpixel_positions_under_rotation_and_scale():
    c, s = np.cos(0.3) * 1.15, np.sin(0.3) * 1.15  # 17 degrees and 15 % larger: a plain patch decorrelates
    h = np.array([[c, -s, 30.0], [s, c, -25.0], [0.0, 0.0, 1.0]])
    g0, g1, k0, k1, rng = _pair(h)
    noisy = k1 + rng.uniform(-2.5, 2.5, k1.shape)
    out = refine_matches(g0, g1, k0, noisy, PatchRefine(), (160, 200))
    before = np.linalg.norm(noisy - k1, axis=1)
    after = np.linalg.norm(out - k1, axis=1)
    assert np.median(before) > 1.0
    assert np.median(after) < 0.2
    assert out.dtype == np.float32 and out.shape == k1.shape


def test_local_affines_follow_the_warp_and_ignore_an_outlier():
    h = np.array([[1.2, 0.1, 5.0], [-0.05, 0.9, 3.0], [0.0, 0.0, 1.0]])
    _, _, k0, k1, _ = _pair(h)
    k1 = k1.copy()
    k1[0] += 40.0  # one wrong match among the neighbours
    a = local_affines(k0, k1, neighbour_index(k0, 12))
    assert a.shape == (80, 2, 2)
    assert np.abs(a[1:] - h[:2, :2]).max() < 0.05


def test_disabled_or_unrefinable_points_keep_their_positions():
    h = np.eye(3)
    g0, g1, k0, k1, _ = _pair(h)
    moved = k1 + 1.5
    assert np.array_equal(
        refine_matches(g0, g1, k0, moved, PatchRefine(enabled=False), (160, 200)), moved.astype(np.float32)
    )
    edge = np.array([[2.0, 2.0], [100.0, 80.0], [197.0, 150.0]])
    flat = np.zeros((160, 200), np.float32)
    out = refine_matches(flat, flat, edge, edge + 1.0, PatchRefine(), (160, 200))
    np.testing.assert_array_equal(out, (edge + 1.0).astype(np.float32))  # flat templates and windows off the image


def test_config_is_checked():
    with pytest.raises(ValueError):
        PatchRefine(radius=0)
