"""Isolation: the formula on hand-built masks, every fallback, the RLE cache, the written outputs."""

from __future__ import annotations

import json

import numpy as np
import pytest

from segcorr.errors import InputError
from segcorr.io.image import read_gray
from segcorr.layering import IsolationConfig, ZBufferConfig, isolate_cli, isolate_page, write_isolation
from segcorr.layering.evaluate import GivenMasks
from segcorr.segment.base import Masks

H, W = 60, 80
PAGE = np.full((H, W), 255, np.uint8)
PANELS = [[0, 0, 80, 60]]


def _rect(x0, y0, x1, y1) -> np.ndarray:
    m = np.zeros((H, W), bool)
    m[y0:y1, x0:x1] = True
    return m


FRONT, BACK = [10, 20, 40, 58], [25, 5, 55, 40]  # front: lower and larger
CHARS = [{"id": "a", "body_box": FRONT}, {"id": "b", "body_box": BACK}]
MASKS = [_rect(*FRONT), _rect(*BACK)]


class Boom:
    """Poses as the GivenMasks that filled the cache (the cache key holds the segmenter's name and settings)."""

    name = "given"

    def __init__(self, masks):
        self.masks, self.amodal = masks, False

    def segment(self, image, prompts):
        raise AssertionError("the segmenter should not be called")


class Short:
    """Answers only the first box; counts the boxes it was asked for."""

    name = "short"

    def __init__(self, masks):
        self.masks, self.asked = masks, []

    def segment(self, image, prompts):
        self.asked.append(len(prompts.boxes))
        return Masks(masks=np.stack(self.masks[:1]), scores=np.ones(1, np.float32))


def test_front_character_is_subtracted_from_the_one_behind() -> None:
    res = isolate_page(PAGE, CHARS, GivenMasks(MASKS), panels=PANELS)
    assert res.order == {0: ["a", "b"]} and res.keys["a"].d < res.keys["b"].d
    np.testing.assert_array_equal(res.masks["a"], MASKS[0])
    np.testing.assert_array_equal(res.masks["b"], MASKS[1] & ~MASKS[0])
    assert res.sources == {"a": "segmenter", "b": "segmenter"} and res.soft is None


def test_same_plane_characters_keep_a_two_pixel_seam() -> None:
    cfg = IsolationConfig(zbuffer=ZBufferConfig(same_plane_tol=1.0), same_plane="seam")
    res = isolate_page(PAGE, CHARS, GivenMasks(MASKS), cfg, panels=PANELS)
    a, b = res.masks["a"], res.masks["b"]
    assert not a[30, 30] and not b[30, 30]  # inside the overlap: given to neither
    assert a[30, 25] and a[30, 26] and not a[30, 27]  # 2 px of the overlap stay with each side
    assert b[30, 39] and b[30, 38] and not b[30, 37]
    assert a[50, 15] and b[10, 50]  # outside the overlap nothing changes


def test_closing_fills_a_one_pixel_hole_and_masks_stay_in_their_panel() -> None:
    holed = _rect(*FRONT)
    holed[30, 20] = False
    leaky = _rect(*BACK) | _rect(60, 0, 80, 60)
    res = isolate_page(PAGE, CHARS, GivenMasks([holed, leaky]), panels=[[0, 0, 60, 60]])
    assert res.masks["a"][30, 20]
    assert not res.masks["b"][:, 60:].any()


def test_missing_and_corrupt_masks_fall_back_to_boxes() -> None:
    seg = Short([_rect(0, 0, 80, 8)])  # its one answer lies mostly outside box a -> corrupt; b gets none
    res = isolate_page(PAGE, CHARS, seg, panels=PANELS)
    assert res.sources == {"a": "box:corrupt", "b": "box:missing"}
    np.testing.assert_array_equal(res.masks["a"], _rect(*FRONT))
    empty = isolate_page(PAGE, CHARS, GivenMasks([np.zeros((H, W), bool)] * 2), panels=PANELS)
    assert empty.sources == {"a": "box:missing", "b": "box:missing"}
    wrong = isolate_page(PAGE, CHARS, GivenMasks([np.ones((H, W + 1), bool)] * 2), panels=PANELS)
    assert wrong.sources == {"a": "box:corrupt", "b": "box:corrupt"}


def test_rle_cache_answers_second_run_and_corrupt_cache_is_rebuilt(tmp_path) -> None:
    cache = tmp_path / "masks.json"
    first = isolate_page(PAGE, CHARS, GivenMasks(MASKS), cache_path=cache, panels=PANELS)
    assert cache.exists() and set(first.sources.values()) == {"segmenter"}
    second = isolate_page(PAGE, CHARS, Boom(MASKS), cache_path=cache, panels=PANELS)
    assert set(second.sources.values()) == {"cache"}
    np.testing.assert_array_equal(second.masks["b"], first.masks["b"])
    cache.write_text("{corrupt")
    third = isolate_page(PAGE, CHARS, GivenMasks(MASKS), cache_path=cache, panels=PANELS)
    assert set(third.sources.values()) == {"segmenter"}
    assert len(json.loads(cache.read_text())["entries"]) == 2


def test_soft_edges_are_gaussian_ramps() -> None:
    res = isolate_page(PAGE, CHARS, GivenMasks(MASKS), IsolationConfig(soft_edge=True), panels=PANELS)
    s = res.soft["a"]
    assert s.dtype == np.float32 and s[40, 25] == pytest.approx(1.0) and s[40, 2] == 0.0
    assert 0.05 < s[40, 9] < 0.5 < s[40, 10] < 0.95  # the edge between columns 9 and 10


def test_write_isolation_outputs(tmp_path) -> None:
    res = isolate_page(PAGE, CHARS, GivenMasks(MASKS), panels=PANELS)
    out = write_isolation(res, PAGE, tmp_path / "iso")
    np.testing.assert_array_equal(read_gray(out / "char_b.png") == 255, res.masks["b"])
    doc = json.loads((out / "order.json").read_text())
    assert doc["panels"] == [{"panel": 0, "front_to_back": ["a", "b"], "frame_d": 1.0}]
    keys = {c["id"]: c for c in doc["characters"]}
    assert keys["a"]["d"] < keys["b"]["d"] and keys["a"]["source"] == "segmenter" and "nearer" in doc["sign"]
    assert (out / "overlay.png").exists()


def test_isolate_cli_on_a_generated_page_with_the_flat_segmenter(tmp_path) -> None:
    from segcorr.data.synth.manga import make_manga_page

    page = make_manga_page(3, 320, 240)
    spec = {
        "characters": [{k: v for k, v in c.items() if k != "depth"} for c in page.characters],
        "panels": page.panels,
    }
    out = isolate_cli(page.image, spec, "flat", {}, tmp_path / "out")
    doc = json.loads((out / "order.json").read_text())
    assert sorted(i for p in doc["panels"] for i in p["front_to_back"]) == sorted(c["id"] for c in page.characters)
    assert all((out / f"char_{c['id']}.png").exists() for c in page.characters)
    bad = {"characters": [{"id": 1, "body_box": [500, 500, 600, 600]}], "panels": []}
    with pytest.raises(InputError, match="b.json.*cover part"):
        isolate_cli(page.image, bad, "flat", {}, tmp_path / "bad", boxes_path="b.json")


@pytest.mark.parametrize("ids", [["a/b", "a_b"], ["Anna", "anna"], ["x y", "x?y"]])
def test_ids_that_share_a_file_name_are_refused_before_anything_is_written(tmp_path, ids) -> None:
    spec = {"characters": [{"id": i, "body_box": b} for i, b in zip(ids, [FRONT, BACK])], "panels": PANELS}
    with pytest.raises(InputError, match="b.json.*would both be written as char_"):
        isolate_cli(PAGE, spec, "flat", {}, tmp_path / "out", boxes_path="b.json")
    assert not (tmp_path / "out").exists()
    res = isolate_page(PAGE, spec["characters"], GivenMasks(MASKS), panels=PANELS)
    with pytest.raises(InputError, match="would both be written"):
        write_isolation(res, PAGE, tmp_path / "api")
    assert not (tmp_path / "api").exists()
