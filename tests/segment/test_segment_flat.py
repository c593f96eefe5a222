import cv2
import numpy as np
import pytest
from segment_pages import cel_image, tone_page

from segcorr.errors import InputError
from segcorr.segment.base import Prompts
from segcorr.segment.flat import FlatSegmenter, trapped_ball


def _iou(a, b):
    return (a & b).sum() / max((a | b).sum(), 1)


def test_segment_all_labels_every_pixel_with_consecutive_ids():
    img, _ = cel_image()
    labels = FlatSegmenter().segment_all(img)
    assert labels.dtype == np.int32 and labels.shape == img.shape[:2]
    assert labels.min() == 1
    assert set(np.unique(labels)) == set(range(1, labels.max() + 1))


def test_cel_parts_are_separate_whole_segments():
    img, parts = cel_image()
    labels = FlatSegmenter().segment_all(img)
    body, head = labels[parts == 1], labels[parts == 2]
    assert (body == np.bincount(body).argmax()).mean() > 0.97
    assert (head == np.bincount(head).argmax()).mean() > 0.97
    ids = {np.bincount(body).argmax(), np.bincount(head).argmax(), labels[5, 5], labels[90, 5]}
    assert len(ids) == 4  # body, head, sky, grass


def test_trapped_ball_closes_a_gap_that_plain_labelling_leaks_through():
    free = np.ones((40, 60), bool)
    free[:, 30] = False
    free[18:21, 30] = True  # a 3-px gap in the wall
    closed = trapped_ball(free, radius=2)
    assert closed[20, 10] != closed[20, 50] and closed[20, 10] > 0 and closed[20, 50] > 0
    leaky = trapped_ball(free, radius=0)
    assert leaky[20, 10] == leaky[20, 50]


def test_trapped_ball_gives_thin_parts_their_own_region():
    free = np.zeros((40, 60), bool)
    free[5:35, 5:30] = True  # a body
    free[18:21, 31:58] = True  # a 3-px wide arm behind a 1-px line
    lab = trapped_ball(free, radius=2, min_area=10)
    assert lab[19, 45] > 0 and lab[19, 45] != lab[20, 15]


def test_line_art_page_regions_split_at_small_gaps():
    page = np.full((80, 120), 255, np.uint8)
    cv2.rectangle(page, (10, 10), (110, 70), 0, 2)
    cv2.line(page, (60, 10), (60, 70), 0, 2)
    page[38:41, 59:62] = 255  # gap in the middle wall
    labels = FlatSegmenter().segment_all(page)
    assert labels[40, 30] != labels[40, 90]
    assert labels[40, 30] != labels[2, 2]


def test_merge_shading_joins_shadow_tone_of_one_part():
    img, parts = cel_image()
    shaded = img.copy()
    shade = (parts == 1) & (np.arange(img.shape[1])[None, :] > 68)
    shaded[shade] = (160, 30, 35)  # darker red: the body's cel shadow
    a = FlatSegmenter().segment_all(shaded)
    b = FlatSegmenter(merge_shading=True).segment_all(shaded)
    assert a[60, 60] != a[60, 75]
    assert b[60, 60] == b[60, 75]


def test_screentone_region_stays_one_segment_and_is_not_line_art():
    page, tone = tone_page(256)
    seg = FlatSegmenter()
    labels, line = seg.analyse(page)
    dots = labels[25:105, 25:115]
    assert (dots == np.bincount(dots.ravel()).argmax()).mean() > 0.95
    assert line[tone].mean() < 0.02
    no_filter = FlatSegmenter(screentone=False).segment_all(page)
    assert no_filter.max() > labels.max()  # without the filter the dots shatter the page


def test_box_prompt_answers_the_character_not_the_background():
    img, parts = cel_image()
    res = FlatSegmenter().segment(img, Prompts(boxes=np.array([[45, 8, 86, 90]], np.float32)))
    assert res.masks.shape == (1,) + img.shape[:2] and res.masks.dtype == bool
    char = parts > 0
    assert _iou(res.masks[0], char) > 0.9
    assert 0.9 <= res.scores[0] <= 1.0


def test_point_prompts_and_negative_points():
    img, parts = cel_image()
    seg = FlatSegmenter()
    head = seg.segment(img, Prompts(points=np.array([[65, 25]]), point_labels=np.array([1])))
    disc = np.zeros(parts.shape, np.uint8)
    cv2.circle(disc, (65, 25), 13, 1, -1)  # the head with its outline, which the answer claims
    assert _iou(head.masks[0], disc > 0) > 0.85
    both = seg.segment(
        img, Prompts(boxes=np.array([[45, 8, 86, 90]]), points=np.array([[65, 25]]), point_labels=np.array([0]))
    )
    assert not both.masks[0][25, 65] and both.masks[0][60, 65]


def test_mask_prompt_is_cleaned():
    img, parts = cel_image()
    m = parts == 1
    m = m.copy()
    m[60:64, 60:64] = False  # a hole
    m[2, 2] = True  # a speck
    res = FlatSegmenter().segment(img, Prompts(masks=m[None]))
    assert res.masks[0][61, 61] and not res.masks[0][2, 2]


def test_text_prompt_is_refused_clearly():
    img, _ = cel_image()
    with pytest.raises(InputError, match="text prompts"):
        FlatSegmenter().segment(img, Prompts(text=["red hair"]))


def test_bad_inputs():
    with pytest.raises(InputError, match="uint8"):
        FlatSegmenter().segment_all(np.zeros((10, 10, 3), np.float32))
    with pytest.raises(InputError, match="unknown flat segmenter option"):
        FlatSegmenter(ball_size=3)
    img, _ = cel_image()
    with pytest.raises(InputError, match="inside"):
        FlatSegmenter().segment(img, Prompts(points=np.array([[500, 5]])))
