"""The colour check of colour phrases: which colour a phrase asks for, the named colour of each stride-4 cell, and a
query mask's share of the asked colour."""

from __future__ import annotations

import numpy as np
import pytest

from segcorr.data.synth import palette
from segcorr.segment.concept_colour import colour_index, colour_shares, phrase_colour


@pytest.mark.parametrize(
    ("text", "colour"),
    [
        ("red hair", "red"),
        ("Navy shoes", "navy"),
        ("blonde hair", "yellow"),
        ("silver hair", "white"),
        ("character with silver hair", None),
        ("character in teal", None),
        ("hair", None),
        ("striped chair", None),
        ("character", None),
        ("red", None),
    ],
)
def test_phrase_colour(text, colour):
    assert phrase_colour(text) == colour


def test_colour_index_names_cells_and_marks_the_padding():
    img = np.zeros((40, 80, 3), np.uint8)
    img[:, :40] = palette.COLORS["red"]
    img[:, 40:] = (palette.COLORS["blue"][0] - 10, palette.COLORS["blue"][1], palette.COLORS["blue"][2] + 10)
    # the model sees it at 20 x 40 padded to 32 x 64: a stride-4 grid of 8 x 16 with 5 x 10 image cells
    idx = colour_index(img, (20, 40), (8, 16))
    names = list(palette.COLORS)
    assert (idx[:5, :4] == names.index("red")).all() and (idx[:5, 6:10] == names.index("blue")).all()
    assert (idx[5:] == -1).all() and (idx[:, 10:] == -1).all()


def test_colour_shares_count_the_mask_cells_of_the_asked_colour():
    names = list(palette.COLORS)
    idx = np.full((4, 4), names.index("blue"))
    idx[:, :2] = names.index("red")
    logits = np.full((3, 4, 4), -1.0)
    logits[0, :, :2] = 1.0  # all red
    logits[1, :, 1:3] = 1.0  # half red
    # mask 2 empty
    np.testing.assert_allclose(colour_shares(logits, idx, "red"), [1.0, 0.5, 0.0])
    np.testing.assert_allclose(colour_shares(logits, idx, "blue"), [0.0, 0.5, 0.0])
