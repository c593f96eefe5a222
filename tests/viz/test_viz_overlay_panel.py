"""Mask overlays keep unmasked pixels; panels accept mixed sizes and kinds of image."""

from __future__ import annotations

import numpy as np
import pytest

from segcorr.viz.overlay import label_colors, overlay_masks
from segcorr.viz.panel import side_by_side


def _image(h=12, w=16, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3)).astype(np.uint8)


def test_overlay_keeps_unmasked_pixels_and_tints_masked_ones():
    img = _image()
    labels = np.zeros((12, 16), np.int32)
    labels[2:6, 3:9] = 1
    labels[7:11, 10:15] = 7
    out = overlay_masks(img, labels, alpha=0.5)
    assert out.shape == img.shape and out.dtype == np.uint8
    assert np.array_equal(out[labels == 0], img[labels == 0])
    assert (out[labels > 0] != img[labels > 0]).any(axis=1).mean() > 0.9


def test_mask_stack_and_label_map_agree():
    img = _image()
    masks = np.zeros((2, 12, 16), bool)
    masks[0, 1:5, 1:5] = True
    masks[1, 3:9, 3:9] = True  # drawn on top of mask 0
    labels = np.zeros((12, 16), np.int32)
    labels[masks[0]] = 1
    labels[masks[1]] = 2
    assert np.array_equal(overlay_masks(img, masks), overlay_masks(img, labels))


def test_grey_image_single_mask_and_given_colours():
    grey = np.full((5, 5), 100, np.uint8)
    mask = np.zeros((5, 5), bool)
    mask[1:4, 1:4] = True
    out = overlay_masks(grey, mask, alpha=1.0, colors=[(0, 255, 0)], draw_contours=False)
    assert out[2, 2].tolist() == [0, 255, 0] and out[0, 0].tolist() == [100, 100, 100]
    edged = overlay_masks(grey, mask, alpha=1.0, colors=[(0, 255, 0)])
    assert edged[1, 1].tolist() == [0, 153, 0] and edged[2, 2].tolist() == [0, 255, 0]


def test_colours_distinct_and_huge_ids_handled():
    cols = label_colors(40).astype(int)
    assert np.abs(np.diff(cols, axis=0)).sum(axis=1).min() > 150  # consecutive ids clearly differ
    d = np.abs(cols[:12, None] - cols[None, :12]).sum(axis=2) + np.eye(12, dtype=int) * 999
    assert d.min() > 40  # and any two of the first dozen
    assert len({tuple(c) for c in cols}) == 40
    labels = np.array([[0, 5_000_000], [123_456_789, 0]], np.int64)
    out = overlay_masks(np.zeros((2, 2), np.uint8), labels, draw_contours=False)
    assert out[0, 1].tolist() != out[1, 0].tolist() and out[0, 0].tolist() == [0, 0, 0]


def test_overlay_shape_mismatch_refused():
    with pytest.raises(ValueError, match="image is"):
        overlay_masks(_image(), np.zeros((3, 3), np.int32))


def test_side_by_side_mixed_inputs_and_titles():
    imgs = [_image(12, 16), np.zeros((6, 6), np.uint8), np.ones((24, 8), bool), np.full((12, 4), 0.5, np.float32)]
    plain = side_by_side(imgs, pad=2)
    # Common height 24: widths 32, 24, 8, 8 plus three gaps.
    assert plain.shape == (24, 32 + 24 + 8 + 8 + 3 * 2, 3) and plain.dtype == np.uint8
    titled = side_by_side(imgs, ["rgb", "grey \u00e9t\u00e9", None, "a very long title that cannot fit"], pad=2)
    assert titled.shape[0] > 24 and titled.shape[1] == plain.shape[1]
    assert (titled[:10, :30] < 128).any()  # some dark text in the first title bar
    grid = side_by_side(imgs, pad=2, max_cols=2)
    assert grid.shape[0] == 24 * 2 + 2
    with pytest.raises(ValueError):
        side_by_side([])
    with pytest.raises(ValueError, match="titles"):
        side_by_side(imgs, ["one"])
