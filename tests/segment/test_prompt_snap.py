"""PromptSnap: the click and box snapping options of Sam3Predictor.predict (mean vote, box share, outline)."""

from __future__ import annotations

import numpy as np
import pytest

from segcorr.segment.predictor import Sam3Predictor, snap_to_regions
from segcorr.segment.prompt_snap import PromptSnap, claim_lines
from segcorr.segment.zoom import ZoomConfig


def test_mean_vote_drops_a_region_the_model_covers_half_heartedly():
    labels = np.array([[1, 1, 1, 1, 2, 2]])
    prob = np.array([[0.55, 0.55, 0.55, 0.1, 0.9, 0.9]])  # region 1: 3 of 4 pixels above 0.5, mean 0.44
    assert snap_to_regions(prob, labels).tolist() == [[True] * 6]
    assert snap_to_regions(prob, labels, share=0.6, vote="mean").tolist() == [[False] * 4 + [True] * 2]


def test_box_share_decides_regions_on_the_box_edge():
    labels = np.array([[1, 1, 1, 1, 1, 2, 2, 2, 2, 2]])
    prob = np.full((1, 10), 0.9)
    box = np.array([0.0, 0.0, 7.0, 1.0])  # region 2: 2 of its 5 pixels inside (40%)
    assert snap_to_regions(prob, labels, box=box, box_share=0.4).tolist()[0] == [True] * 10  # whole regions
    assert snap_to_regions(prob, labels, box=box, box_share=0.5).tolist()[0] == [True] * 5 + [False] * 5


def test_claim_lines_takes_the_outline_up_to_its_width_and_inside_the_box():
    line = np.zeros((1, 9), bool)
    line[0, 3:6] = True  # a 3-px line between two fills
    mask = np.zeros((1, 9), bool)
    mask[0, :4] = True  # the fill plus one line pixel from the nearest-region fill
    assert claim_lines(mask, line, 0).tolist() == mask.tolist()  # width 0: off
    assert np.flatnonzero(claim_lines(mask, line, 1)[0]).tolist() == [0, 1, 2, 3]
    assert np.flatnonzero(claim_lines(mask, line, 3)[0]).tolist() == [0, 1, 2, 3, 4, 5]
    boxed = claim_lines(mask, line, 3, box=np.array([0.0, 0.0, 5.0, 1.0]))
    assert np.flatnonzero(boxed[0]).tolist() == [0, 1, 2, 3, 4]
    far = np.zeros((1, 9), bool)
    far[0, 8] = True
    assert not claim_lines(mask, far, 3)[0, 8]  # line art not touching the answer stays out


def test_unknown_vote_is_refused():
    with pytest.raises(ValueError, match="click_vote"):
        PromptSnap(click_vote="max")


@pytest.fixture(scope="module")
def outlined():
    """A red square with a 3-px black outline on white: the flat regions and line art are known."""
    img = np.full((48, 64, 3), 255, np.uint8)
    img[10:34, 16:44] = (0, 0, 0)
    img[13:31, 19:41] = (220, 40, 40)
    return img


def _predictor(weights, outlined, snap: PromptSnap) -> Sam3Predictor:
    p = Sam3Predictor.from_pretrained(str(weights), zoom=ZoomConfig(enabled=False), prompt_snap=snap)
    p.set_image(outlined)
    return p


def test_empty_click_answer_gives_the_clicked_region_with_its_outline(weights, outlined):
    p = _predictor(weights, outlined, PromptSnap())
    prob = np.zeros((1, 48, 64), np.float32)
    out = p._finish_prompt(prob, np.array([[30.0, 20.0]]), None, None)[0]
    assert out[13:31, 19:41].all()  # the clicked region
    assert out[10:34, 30].all() and out[20, 16:44].all()  # and its outline (3 px deep)
    square = np.zeros_like(out)
    square[10:34, 16:44] = True
    assert not (out & ~square).any()  # and nothing outside it


def test_legacy_option_is_the_plain_snap(weights, outlined):
    p = _predictor(weights, outlined, PromptSnap.legacy())
    rng = np.random.default_rng(0)
    prob = rng.random((1, 48, 64)).astype(np.float32)
    pos, box = np.array([[30.0, 20.0]]), np.array([12.0, 8.0, 50.0, 40.0])
    labels = p.region_labels()
    assert (p._finish_prompt(prob, pos, None, None)[0] == snap_to_regions(prob[0], labels, pos)).all()
    assert (p._finish_prompt(prob, None, None, box)[0] == snap_to_regions(prob[0], labels, box=box)).all()
    # the default differs from the plain snap on this picture: the whole outline joins the clicked square
    q = _predictor(weights, outlined, PromptSnap())
    empty = np.zeros_like(prob)
    assert q._finish_prompt(empty, pos, None, None)[0][10:34, 30].all()
    assert not p._finish_prompt(empty, pos, None, None)[0][10:34, 30].all()
