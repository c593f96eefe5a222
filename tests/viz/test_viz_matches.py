"""Match-lines picture: layout, colours by confidence, line cap."""

from __future__ import annotations

import numpy as np

from segcorr.viz.matches import confidence_colors, draw_matches


def test_layout_and_lines_drawn():
    a = np.zeros((40, 50, 3), np.uint8)
    b = np.zeros((30, 60), np.uint8)
    img = draw_matches(a, b, np.array([[10.0, 10.0]]), np.array([[20.0, 20.0]]), np.array([1.0]))
    assert img.dtype == np.uint8 and img.shape[1] == 50 + 8 + 60 and img.shape[0] >= 40
    mid = img[22:, 50:58]  # the gap between the images is crossed by the line
    assert (mid[..., 1] > 100).any()


def test_confidence_colours_red_to_green():
    c = confidence_colors(np.array([0.0, 0.5, 1.0]))
    assert c[0, 0] > 200 and c[0, 1] == 0
    assert c[2, 1] > 200 and c[2, 0] == 0
    assert c[1, 0] > 200 and c[1, 1] > 200


def test_no_matches_is_fine():
    img = draw_matches(
        np.zeros((20, 20, 3), np.uint8),
        np.zeros((20, 20, 3), np.uint8),
        np.zeros((0, 2)),
        np.zeros((0, 2)),
        np.zeros(0),
    )
    assert img.shape[1] == 48
