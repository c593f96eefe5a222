"""PromptSnap: the click and box snapping options of Sam3Predictor.predict (mean vote, box share, outline)."""

from __future__ import annotations

import numpy as np
import pytest

from segcorr.segment.predictor import Sam3Predictor
from segcorr.segment.prompt_snap import PromptSnap, claim_lines, click_shares, line_thickness, region_chroma
from segcorr.segment.snap import snap_to_regions
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


def test_claim_lines_keep_holds_the_answers_own_line_pixels():
    line = np.zeros((1, 9), bool)
    line[0, 3:6] = True
    mask = np.zeros((1, 9), bool)
    mask[0, :4] = True  # pixel 3 is line art the nearest-region fill gave the answer
    assert np.flatnonzero(claim_lines(mask, line, 1, keep=True)[0]).tolist() == [0, 1, 2, 3, 4]
    assert np.flatnonzero(claim_lines(mask, line, 1)[0]).tolist() == [0, 1, 2, 3]  # dropped, then claimed back
    boxed = claim_lines(mask, line, 1, box=np.array([0.0, 0.0, 3.0, 1.0]), keep=True)
    assert np.flatnonzero(boxed[0]).tolist() == [0, 1, 2]  # a line pixel outside the box does not stay


def _stroke(width: int) -> tuple[np.ndarray, np.ndarray]:
    """A fill (columns 0..9) beside a vertical stroke of ``width`` px, then more fill; 21 rows."""
    line = np.zeros((21, 30), bool)
    line[:, 10 : 10 + width] = True
    mask = np.zeros_like(line)
    mask[:, :10] = True
    return mask, line


def test_line_thickness_is_about_the_stroke_width():
    for width in (2, 3, 4, 5, 8):
        _, line = _stroke(width)
        t = line_thickness(line, 5)
        assert width - 1 <= t[10, 10] <= width + 1  # every pixel of the stroke, even the first one
        assert width - 1 <= t[10, 9 + width] <= width + 1
    assert line_thickness(_stroke(4)[1], 5)[10, 10] < 5.0 <= line_thickness(_stroke(5)[1], 5)[10, 10]


def test_thick_lines_join_across_their_width_and_thin_lines_are_not_followed():
    mask, line = _stroke(8)
    t = line_thickness(line, 5)
    plain = claim_lines(mask, line, 2, keep=True)
    assert plain[10, 10:12].all() and not plain[10, 12:18].any()  # 2 px of an 8-px stroke
    thick = claim_lines(mask, line, 2, keep=True, thickness=t, thick_line=5.0)
    assert thick[:, 10:18].all() and not thick[:, 18:].any()  # the whole stroke, nothing past it
    thin_mask, thin = _stroke(2)
    thin[0, 12:30] = True  # the thin stroke turns and runs along the top, away from the answer
    out = claim_lines(thin_mask, thin, 2, keep=True, thickness=line_thickness(thin, 5), thick_line=5.0)
    assert out[:, 10:12].all() and not out[0, 13:].any()  # its width joins; the line is not followed along


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


def _predictor(weights, image, snap: PromptSnap) -> Sam3Predictor:
    p = Sam3Predictor.from_pretrained(str(weights), zoom=ZoomConfig(enabled=False), prompt_snap=snap)
    p.set_image(image)
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


def test_click_veto_answers_with_the_models_mask_when_it_rejects_the_clicked_region(weights, outlined):
    """The model is sure of a small patch beside the click and not of the clicked square: the veto keeps its
    mask (the flat segmentation may have merged a small part into the region); without the veto the square
    is forced in. An empty mask still gives the clicked region."""
    prob = np.zeros((1, 48, 64), np.float32)
    prob[0, 2:7, 48:56] = 0.9
    click = np.array([[30.0, 20.0]])
    out = _predictor(weights, outlined, PromptSnap())._finish_prompt(prob, click, None, None)[0]
    np.testing.assert_array_equal(out, prob[0] > 0.5)
    off = _predictor(weights, outlined, PromptSnap(click_veto=0.0))._finish_prompt(prob, click, None, None)[0]
    assert off[13:31, 19:41].all()
    prob[0, 13:31, 19:41] = 0.3  # the model half-sure of the square: above the veto, the square stays in
    kept = _predictor(weights, outlined, PromptSnap())._finish_prompt(prob, click, None, None)[0]
    assert kept[13:31, 19:41].all()


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


def test_region_chroma_ignores_line_pixels_and_click_shares_follow_hue():
    img = np.zeros((2, 4, 3), np.uint8)
    img[:, :2] = (200, 40, 40)  # region 1: red, one pixel of it black line art
    img[0, 0] = (0, 0, 0)
    img[:, 2:] = (40, 40, 200)  # region 2: blue
    labels = np.array([[1, 1, 2, 2], [1, 1, 2, 2]])
    line = np.zeros((2, 4), bool)
    line[0, 0] = True
    ch = region_chroma(img, labels, line)
    red = region_chroma(np.full((1, 1, 3), (200, 40, 40), np.uint8), np.ones((1, 1), int), np.zeros((1, 1), bool))
    assert ch.shape == (3, 2) and np.allclose(ch[1], red[1])  # the black line pixel does not darken the red
    cfg = PromptSnap(click_share=0.5, other_hue_share=0.9, hue_distance=25.0)
    assert click_shares(cfg, ch, np.array([1])).tolist()[1:] == [0.5, 0.9]
    assert click_shares(cfg, ch, np.array([2])).tolist()[1:] == [0.9, 0.5]


def test_click_keeps_a_shadow_of_its_hue_and_drops_another_colour_the_model_half_covers(weights):
    img = np.full((40, 60, 3), 255, np.uint8)
    img[5:35, 5:20] = (220, 60, 60)  # the clicked light red
    img[5:35, 20:35] = (150, 40, 40)  # its shadow: darker, same hue
    img[5:35, 35:50] = (60, 60, 220)  # a blue neighbour
    p = _predictor(weights, img, PromptSnap())
    prob = np.zeros((1, 40, 60), np.float32)
    prob[0, 5:35, 5:50] = 0.7  # the model half-sure of all three
    out = p._finish_prompt(prob, np.array([[10.0, 20.0]]), None, None)[0]
    assert out[20, 10] and out[20, 27] and not out[20, 42]
    legacy = _predictor(weights, img, PromptSnap.legacy())._finish_prompt(prob, np.array([[10.0, 20.0]]), None, None)
    assert legacy[0, 20, 42]  # the plain snap takes the blue part too


def test_box_answers_snapped_in_a_crop_equal_the_whole_image_snap():
    """The cropped box snap gives the same masks as the whole-image one, also for a region that would pass the box
    share test inside the crop but not over the whole image (a long bar mostly outside the box), with the line art,
    and with a positive click on a region that reaches beyond the box."""
    from segcorr.segment.snap import ImageRegions

    rng = np.random.default_rng(0)
    img = np.full((60, 90, 3), 230, np.uint8)
    img[20:30, :] = (200, 40, 40)  # a bar across the image: 20 % of it in the box below
    img[10:45, 35:55] = (40, 40, 200)  # a block inside the box
    img[35:38, 30:60] = 0  # a line
    img[48:58, 20:80] = (40, 200, 40)  # a region under the positive click, wider than the box
    regions = ImageRegions(img, 1024)
    box = np.array([32.0, 8.0, 58.5, 50.0], np.float32)
    prob = rng.random((3, 60, 90)).astype(np.float32)
    prob[1] = 0.9
    cfg = PromptSnap()
    for pos, neg in ((None, None), (np.array([[50.0, 52.0]]), np.array([[5.0, 25.0]]))):
        a = regions.snap_prompt(prob, cfg, pos, neg, box)
        b = regions.snap_prompt(prob, cfg, pos, neg, box, crop=False)
        np.testing.assert_array_equal(a, b)
    assert not a[1, 25, 5]  # the bar is out: most of it lies outside the box
    assert a[1, 52, 20]  # the clicked region is in, beyond the box
