"""The demo's matching section: which matches count as right, and the pictures' legend."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
from match_cases import H_TRUE

from segcorr.geometry import warp_points
from segcorr.matching.demo import correct_matches
from segcorr.viz.matches import draw_matches


def test_homography_matches_right_within_3px_only():
    pair = SimpleNamespace(kind="homography", H=H_TRUE)
    p0 = np.array([[10.0, 10.0], [50.0, 40.0], [90.0, 70.0]])
    p1 = warp_points(H_TRUE, p0)
    p1[1] += [2.0, 0.0]  # still right
    p1[2] += [0.0, 4.0]  # wrong
    np.testing.assert_array_equal(correct_matches(pair, p0, p1), [True, True, False])
    assert correct_matches(pair, np.zeros((0, 2)), np.zeros((0, 2))).shape == (0,)


def test_pose_matches_right_on_their_epipolar_line_only():
    K = np.array([[500.0, 0, 320], [0, 500.0, 240], [0, 0, 1]])
    T = np.eye(4)
    T[:3, 3] = [0.5, 0.0, 0.0]  # camera 1 sees the world shifted along x: epipolar lines are rows
    X = np.array([[0.2, 0.1, 4.0], [-0.5, 0.3, 6.0], [0.4, -0.2, 5.0]])  # points in camera 0

    def project(P):
        q = (K @ P.T).T
        return q[:, :2] / q[:, 2:]

    p0, p1 = project(X), project(X + T[:3, 3])
    p1[1, 0] += 30.0  # along its epipolar line (a row): still consistent with the pose
    p1[2, 1] += 10.0  # off it: wrong
    pair = SimpleNamespace(kind="pose", K0=K, K1=K, T_0to1=T)
    np.testing.assert_array_equal(correct_matches(pair, p0, p1), [True, True, False])


def test_draw_matches_writes_the_given_legend():
    a = np.full((40, 60, 3), 128, np.uint8)
    k = np.array([[5.0, 30.0]])
    plain = draw_matches(a, a, k, k, np.array([1.0]), title="t")
    other = draw_matches(a, a, k, k, np.array([1.0]), title="t", legend="green right, red wrong")
    assert plain.shape == other.shape
    header = slice(0, 22)
    assert not np.array_equal(plain[header], other[header])
    assert np.array_equal(plain[22:], other[22:])


def test_draw_matches_without_title_or_legend_has_no_header():
    a = np.full((40, 60, 3), 128, np.uint8)
    k = np.array([[5.0, 30.0]])
    assert draw_matches(a, a, k, k, np.array([1.0]), title="", legend="").shape == (40, 128, 3)
    assert draw_matches(a, a, k, k, np.array([1.0])).shape == (62, 128, 3)
