"""EPE heat maps: brighter means worse, invalid pixels grey, a scale bar when there is room."""

from __future__ import annotations

import numpy as np

from segcorr.viz.error import epe_map, error_map


def test_brightness_follows_error():
    gt = np.zeros((2, 4, 8), np.float32)
    pred = gt.copy()
    pred[0, :, 4:] = 3.0
    pred[1, :, 6:] = 4.0  # error 5 px in the last two columns
    out = error_map(pred, gt, max_err=5.0, scale_bar=False)
    assert out.shape == (4, 8, 3) and out.dtype == np.uint8
    lum = out.astype(int).sum(axis=2)
    assert lum[0, 0] < lum[0, 4] < lum[0, 7]
    assert np.allclose(epe_map(pred, gt)[0, [0, 4, 7]], [0, 3, 5])


def test_invalid_and_nan_pixels_are_grey():
    gt = np.zeros((2, 3, 3), np.float32)
    pred = np.ones_like(gt)
    pred[0, 0, 0] = np.nan
    valid = np.ones((3, 3), bool)
    valid[2, 2] = False
    out = error_map(pred, gt, valid=valid, scale_bar=False)
    assert out[0, 0].tolist() == out[2, 2].tolist() == [128, 128, 128]
    assert out[1, 1].tolist() != [128, 128, 128]


def test_scale_bar_drawn_bottom_left_only_when_it_fits():
    gt = np.zeros((2, 80, 160), np.float32)
    with_bar = error_map(gt, gt, max_err=2.0)
    without = error_map(gt, gt, max_err=2.0, scale_bar=False)
    diff = (with_bar != without).any(axis=2)
    ys, xs = np.nonzero(diff)
    assert diff.any() and ys.min() > 40 and xs.max() < 110
    tiny = np.zeros((2, 6, 6), np.float32)
    assert np.array_equal(error_map(tiny, tiny), error_map(tiny, tiny, scale_bar=False))
