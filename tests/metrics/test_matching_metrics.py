"""Matching metrics: AUC of error curves, precision, the accumulator's keys."""

from __future__ import annotations

import math

import numpy as np

from segcorr.metrics.matching import (
    MATCH_KEYS,
    MatchMetricAccumulator,
    epipolar_precision,
    error_auc,
    homography_aucs,
    homography_precision,
    pose_aucs,
)


def test_auc_is_one_for_zero_errors_and_zero_for_failures():
    assert homography_aucs([0.0, 0.0]) == {"auc3": 1.0, "auc5": 1.0, "auc10": 1.0}
    assert pose_aucs([math.inf, math.nan]) == {"pose_auc5": 0.0, "pose_auc10": 0.0, "pose_auc20": 0.0}


def test_auc_known_values():
    # one error of 5 at threshold 10: recall rises linearly from (0, 0) to (5, 1) (SuperGlue's trapezoid),
    # then stays 1: area 2.5 + 5 over 10
    assert abs(error_auc([5.0], [10])[0] - 0.75) < 1e-12
    # half fail, half exact: recall 0.5 everywhere
    assert abs(error_auc([0.0, math.inf], [3])[0] - 0.5) < 1e-12
    # errors beyond the threshold add nothing
    assert error_auc([20.0], [10]) == [0.0]
    # errors 1..10 at threshold 10: linear to recall 0.9 at 9 (4.05), flat to 10 (0.9); 10 itself is not < 10
    a = error_auc(list(range(1, 11)), [10])[0]
    assert abs(a - 0.495) < 1e-12
    assert math.isnan(error_auc([], [5])[0])


def test_homography_precision():
    H = np.eye(3)
    k0 = np.array([[0, 0], [10, 10], [20, 20], [30, 30]], np.float64)
    k1 = k0 + np.array([[0, 0], [2.9, 0], [3.1, 0], [0, 10]])
    assert homography_precision(k0, k1, H) == 0.5
    assert math.isnan(homography_precision(np.zeros((0, 2)), np.zeros((0, 2)), H))


def test_epipolar_precision_pure_translation():
    K = np.array([[100.0, 0, 50], [0, 100.0, 50], [0, 0, 1]])
    T = np.eye(4)
    T[0, 3] = 1.0  # horizontal baseline -> horizontal epipolar lines
    k0 = np.array([[10, 10], [20, 40]], np.float64)
    k1 = np.array([[30, 10], [25, 60]], np.float64)  # same row (good), 20 px off the line (bad)
    assert epipolar_precision(k0, k1, T, K, K) == 0.5


def test_accumulator_keys_and_values():
    acc = MatchMetricAccumulator()
    acc.add_homography(0.0, 10, 1.0)
    acc.add_pose(3.0, 7.0, 30, 0.5)  # pose error = max = 7 deg
    acc.add_pose(math.inf, math.inf, 0, math.nan)
    r = acc.result()
    assert set(r) == set(MATCH_KEYS)
    assert r["auc3"] == 1.0
    assert abs(r["pose_auc10"] - error_auc([7.0, math.inf], [10])[0]) < 1e-12
    assert r["matches"] == (10 + 30 + 0) / 3
    assert r["precision"] == 0.75  # the pair without matches has no precision


def test_accumulator_empty_is_none():
    assert all(v is None for v in MatchMetricAccumulator().result().values())
