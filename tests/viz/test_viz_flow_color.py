"""Middlebury flow colours: known directions, white at rest, robust normalisation, the legend."""

from __future__ import annotations

import numpy as np
import pytest

from segcorr.viz.flow_color import add_legend, colorwheel, colorwheel_legend, flow_to_color


def _px(u, v, max_mag=1.0):
    f = np.array([u, v], np.float32).reshape(2, 1, 1)
    return flow_to_color(f, max_mag=max_mag)[0, 0].astype(int)


def test_wheel_has_55_steps_starting_red():
    w = colorwheel()
    assert w.shape == (55, 3)
    assert w[0].tolist() == [255, 0, 0] and w[15].tolist() == [255, 255, 0] and w[21].tolist() == [0, 255, 0]


def test_known_directions():
    r, g, b = _px(1, 0)
    assert r > 200 and g < 60 and b < 60  # right: red
    r, g, b = _px(-1, 0)
    assert r < 60 and g > 150 and b > 200  # left: cyan
    r, g, b = _px(0, 1)
    assert r > 200 and g > 150 and b < 60  # down: yellow
    r, g, b = _px(0, -1)
    assert b > 200 and g < 60  # up: blue-violet
    assert _px(0, 0).tolist() == [255, 255, 255]


def test_saturation_grows_with_magnitude_and_overflow_is_darker():
    small, full, over = _px(0.2, 0), _px(1, 0), _px(3, 0)
    assert small[1] > full[1]  # less saturated: closer to white
    assert over[0] < full[0]  # beyond max_mag: darkened


def test_default_scale_ignores_nan_inf_and_unknown():
    f = np.zeros((2, 2, 2), np.float32)
    f[0, 0, 0] = 4.0
    f[0, 0, 1] = np.nan
    f[1, 1, 0] = np.inf
    f[0, 1, 1] = 1e10  # Middlebury "unknown"
    out = flow_to_color(f)
    assert out[0, 0].tolist() == _px(1, 0).tolist()  # 4 px is the max of the finite vectors
    assert out[0, 1].tolist() == out[1, 0].tolist() == out[1, 1].tolist() == [0, 0, 0]
    assert flow_to_color(np.zeros((2, 3, 3))).min() == 255  # all-zero flow: white, no division by zero


def test_rejects_wrong_layout():
    with pytest.raises(ValueError, match=r"\[2, H, W\]"):
        flow_to_color(np.zeros((4, 4, 2)))


def test_legend_shape_and_layout():
    leg = colorwheel_legend(64)
    assert leg.shape == (64, 64, 3) and leg.dtype == np.uint8
    assert leg[0, 0].tolist() == [255, 255, 255]  # corner outside the disc
    r, g, b = leg[32, 62].astype(int)  # right rim
    assert r > 150 and g < 80 and b < 80


def test_add_legend_only_touches_one_corner():
    img = np.zeros((100, 120, 3), np.uint8)
    out = add_legend(img, size=30, corner="br", margin=2)
    assert np.array_equal(out[:68], img[:68]) and np.array_equal(out[:, :88], img[:, :88])
    assert out[68:98, 88:118].any()
    assert np.array_equal(add_legend(np.zeros((10, 10, 3), np.uint8)), np.zeros((10, 10, 3), np.uint8))
