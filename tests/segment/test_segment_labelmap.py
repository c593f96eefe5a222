import numpy as np
import pytest

from segcorr.errors import InputError
from segcorr.io.labelmap import write_labelmap
from segcorr.segment import build
from segcorr.segment.base import Prompts
from segcorr.segment.labelmap import LabelMapSegmenter, save_labelmap_to_cache
from segcorr.segment.regions import components_of_keys, fill_from_nearest, merge_small, relabel_sequential


def _scene():
    """Background 1 touching every border, a character of parts 2 (body) and 3 (head), a prop 4 outside."""
    lab = np.ones((60, 80), np.int32)
    lab[20:50, 30:45] = 2
    lab[10:20, 33:42] = 3
    lab[40:55, 60:75] = 4
    return lab


BOX = np.array([[28, 8, 47, 52]], np.float32)


def test_box_selects_segments_mostly_inside_and_not_background():
    seg = LabelMapSegmenter(_scene())
    res = seg.segment(np.zeros((60, 80, 3), np.uint8), Prompts(boxes=BOX))
    assert res.masks.shape == (1, 60, 80)
    assert (res.masks[0] == np.isin(_scene(), [2, 3])).all()
    assert res.scores[0] == pytest.approx(1.0)


def test_enclosed_background_touching_the_box_frame_is_excluded():
    lab = np.full((60, 80), 5, np.int32)  # a panel filling the box, inside the page
    lab[0:5], lab[55:], lab[:, :5], lab[:, 75:] = 1, 1, 1, 1
    lab[20:40, 30:50] = 2
    res = LabelMapSegmenter(lab).segment(np.zeros((60, 80), np.uint8), Prompts(boxes=np.array([[5, 5, 75, 55]])))
    assert (res.masks[0] == (lab == 2)).all()


def test_empty_answer_scores_zero():
    res = LabelMapSegmenter(np.ones((20, 20), np.int32)).segment(
        np.zeros((20, 20), np.uint8), Prompts(boxes=np.array([[2, 2, 6, 6]]))
    )
    assert not res.masks[0].any() and res.scores[0] == 0.0


def test_folder_source_by_key_and_missing_entry_names_the_file(tmp_path):
    write_labelmap(tmp_path / "frame_001.png", _scene())
    seg = build("labelmap", source=tmp_path)
    img = np.zeros((60, 80, 3), np.uint8)
    assert (seg.segment_all(img, key="frame_001") == _scene()).all()
    assert (seg.with_key("frame_001").segment_all(img) == _scene()).all()
    with pytest.raises(InputError, match="frame_002.png"):
        seg.segment_all(img, key="frame_002")
    with pytest.raises(InputError, match="key="):
        seg.segment_all(img)
    with pytest.raises(InputError, match="80x60"):
        seg.segment_all(np.zeros((10, 10), np.uint8), key="frame_001")


def test_single_png_and_rle_cache_sources(tmp_path):
    write_labelmap(tmp_path / "one.png", _scene())
    img = np.zeros((60, 80), np.uint8)
    assert (LabelMapSegmenter(tmp_path / "one.png").segment_all(img) == _scene()).all()
    cache = tmp_path / "masks.json"
    save_labelmap_to_cache(cache, "page_000", _scene())
    seg = LabelMapSegmenter(cache, key="page_000")
    assert (seg.segment_all(img) == _scene()).all()
    fewer = np.where(_scene() == 4, 1, _scene())  # re-segmented: id 4 retired
    save_labelmap_to_cache(cache, "page_000", fewer)
    assert (LabelMapSegmenter(cache, key="page_000").segment_all(img) == fewer).all()
    with pytest.raises(InputError, match="page_001"):
        LabelMapSegmenter(cache).segment_all(img, key="page_001")


def test_bad_sources_and_options(tmp_path):
    with pytest.raises(InputError, match="not found"):
        LabelMapSegmenter(tmp_path / "nope")
    with pytest.raises(InputError, match="needs source"):
        build("labelmap")
    with pytest.raises(InputError, match="unknown option"):
        build("labelmap", source=_scene(), colour=1)
    with pytest.raises(InputError, match="text"):
        LabelMapSegmenter(_scene()).segment(np.zeros((60, 80), np.uint8), Prompts(text=["cat"]))


def test_unknown_segmenter_name():
    with pytest.raises(InputError, match="flat, labelmap, sam2"):
        build("sam3")


def test_region_helpers():
    keys = np.array([[1, 1, 2], [3, 1, 2], [3, 3, 1]])
    comp = components_of_keys(keys)
    assert comp.max() == 4  # the lone 1 at the corner is not 4-connected to the other 1s
    assert comp[0, 0] == comp[1, 1] and comp[2, 2] != comp[0, 0]
    assert (fill_from_nearest(np.array([[0, 0, 5]])) == 5).all()
    assert (relabel_sequential(np.array([[0, 7], [3, 7]])) == [[0, 2], [1, 2]]).all()
    lab = np.ones((20, 20), np.int32)
    lab[5:7, 5:7] = 2  # 4 px speck
    assert merge_small(lab, min_area=10).max() == 1


def test_components_of_keys_match_per_key_labelling_in_row_major_order():
    from scipy.ndimage import label

    rng = np.random.default_rng(3)
    keys = rng.integers(0, 3, size=(37, 53))
    valid = rng.random(keys.shape) > 0.1
    comp = components_of_keys(keys, valid)
    assert (comp[~valid] == 0).all()
    ref = np.zeros(keys.shape, np.int64)
    for k in range(3):  # 4-connected components of each key on its own
        lab, _n = label((keys == k) & valid)
        ref[lab > 0] = lab[lab > 0] + k * 10_000
    # same partition: a one-to-one map between the two labellings
    pairs = np.unique(np.stack([comp[valid], ref[valid]]), axis=1)
    assert pairs.shape[1] == len(np.unique(comp[valid])) == len(np.unique(ref[valid]))
    # ids 1..S in row-major order of first appearance
    _, first = np.unique(comp.ravel()[valid.ravel()], return_index=True)
    order = comp.ravel()[valid.ravel()][np.sort(first)]
    assert (order == np.arange(1, comp.max() + 1)).all()


def test_fill_from_nearest_takes_a_nearest_label():
    from scipy.ndimage import distance_transform_edt

    rng = np.random.default_rng(4)
    lab = np.zeros((60, 80), np.int32)
    ys, xs = rng.integers(0, 60, 25), rng.integers(0, 80, 25)
    lab[ys, xs] = np.arange(1, 26)
    out = fill_from_nearest(lab)
    assert (out[lab > 0] == lab[lab > 0]).all() and (out > 0).all()
    d_true = distance_transform_edt(lab == 0)
    d_out = np.zeros_like(d_true)
    for k in range(1, 26):  # distance from each pixel to the seed of the label it got
        m = out == k
        d_out[m] = np.hypot(*(np.argwhere(m) - [ys[k - 1], xs[k - 1]]).T)
    assert (d_out <= d_true * 1.03 + 0.5).all()


def test_registry_builds_protocol_segmenters_and_segment_image():
    from segcorr.segment import segment_image
    from segcorr.segment.base import Segmenter

    assert isinstance(build("flat"), Segmenter)
    assert isinstance(build("labelmap", source=_scene()), Segmenter)
    res = segment_image(np.zeros((60, 80, 3), np.uint8), Prompts(boxes=BOX), "labelmap", source=_scene())
    assert (res.masks[0] == np.isin(_scene(), [2, 3])).all()
