"""Readable figure text and layouts: wrapping, the labelled grid, page-wide panels, legends."""

from __future__ import annotations

import numpy as np
import pytest

from segcorr.viz.error import error_legend
from segcorr.viz.flow_color import flow_legend
from segcorr.viz.grid import labelled_grid
from segcorr.viz.panel import FIGURE_WIDTH, page_panel, side_by_side
from segcorr.viz.text import READABLE_SCALE, text_block, text_width, wrap_text


def test_wrap_text_keeps_every_word_within_width():
    text = "aniflowformer-v3 (network only) EPE this pair 3.21 px"
    lines = wrap_text(text, 150, READABLE_SCALE)
    assert len(lines) > 1
    assert " ".join(lines) == text
    assert all(text_width(line, READABLE_SCALE) <= 150 for line in lines)


def test_wrap_text_cuts_a_word_too_long_for_a_line():
    lines = wrap_text("x" * 40, 60, READABLE_SCALE)
    assert "".join(lines) == "x" * 40 and len(lines) > 1
    assert all(text_width(line, READABLE_SCALE) <= 60 for line in lines)


def test_text_block_draws_dark_text_within_its_width():
    block = text_block(["title", "a longer line of text that wraps"], 120)
    assert block.shape[1] == 120 and block.dtype == np.uint8
    dark = block.min(axis=2) < 128
    assert dark.any() and not dark[:, -3:].any()  # right margin stays white
    assert block.shape[0] > text_block(["title"], 120).shape[0]


def test_labelled_grid_layout():
    tile = np.zeros((30, 40, 3), np.uint8)
    grid = labelled_grid(
        [[tile, tile], [tile]],
        [["method a", "EPE 1.00 px"], ["b"]],
        header=["flow", np.full((5, 10, 3), 7, np.uint8)],
        tile_width=80,
        label_width=100,
        pad=2,
    )
    assert grid.shape[1] == 100 + 2 * (2 + 82)
    col = grid[:, 103:183]  # inside the first picture column: black tiles scaled to 80x60, framed in grey
    assert (col.max(axis=(1, 2)) == 0).sum() == 2 * 60
    assert (grid[:, 102].min(axis=1) < 255).sum() == 2 * 62  # the frames' left edges
    assert (grid[:, 187:267].max(axis=(1, 2)) == 0).sum() == 60  # the second row has one picture only
    with pytest.raises(ValueError):
        labelled_grid([[tile]], [["a"], ["b"]])


def test_page_panel_fits_the_page_and_keeps_aspect():
    pages = [np.zeros((1088, 768, 3), np.uint8)] * 4
    out = page_panel(pages, ["page", "isolated (GT amodal masks)", "c", "d"], cols=2)
    assert out.shape[1] <= FIGURE_WIDTH
    assert out.shape[1] > FIGURE_WIDTH - 10  # uses the width it has
    small = page_panel([np.zeros((60, 80), np.uint8)] * 5, list("abcde"), cols=3)
    assert small.shape[1] == 3 * 80 + 2 * 4  # never enlarged


def test_long_titles_wrap_onto_two_lines_for_every_tile():
    imgs = [np.zeros((40, 120, 3), np.uint8)] * 2
    one = side_by_side(imgs, ["a", "b"], font_scale=READABLE_SCALE, title_lines=2)
    two = side_by_side(imgs, ["a", "box around character 3: IoU pred 0.91"], font_scale=READABLE_SCALE, title_lines=2)
    assert two.shape[0] > one.shape[0]
    bars = two[: two.shape[0] - 40]
    assert (bars[:, 124:].min(axis=2) < 128).sum() > (bars[: bars.shape[0] // 2, 124:].min(axis=2) < 128).sum()


def test_legends_have_the_requested_width():
    err = error_legend(300, 10.0)
    assert err.shape[1] == 300 and err.dtype == np.uint8
    assert (np.abs(np.diff(err.astype(int), axis=1)).sum(axis=2) > 0).any()  # the ramp varies
    flow = flow_legend(300)
    assert flow.shape[1] == 300 and len(np.unique(flow.reshape(-1, 3), axis=0)) > 50  # the colour wheel
