"""Crop-and-zoom refinement (segment/zoom.py): the window rules, the mask prompt, and the predictor's zoomed path
with a tiny random-weight model (behaviour, not quality: the shipped weights' figures are in the model card)."""

from __future__ import annotations

import numpy as np
import pytest

from segcorr.segment.predictor import Sam3Predictor
from segcorr.segment.prompt_snap import PromptSnap
from segcorr.segment.zoom import ZoomConfig, grow_window, point_window_box, window_mask_logits
from segcorr.segment.zoom_features import fine_embedding, window_features


@pytest.fixture(scope="module")
def image():
    rng = np.random.default_rng(0)
    img = np.full((96, 160, 3), 200, np.uint8)
    img[20:60, 40:100] = (200, 40, 40)
    img[30:40, 60:70] = (40, 40, 200)
    return np.clip(img.astype(int) + rng.integers(-3, 4, img.shape), 0, 255).astype(np.uint8)


def test_grow_window_margin_aspect_min_side_and_shift():
    hw = (100, 200)
    # 20 x 10 box, margin 0.5 x 20 = 10 px on every side -> 40 x 30, aspect 1.33 <= 1.5: kept
    assert grow_window(np.array([50, 40, 70, 50]), 0.5, hw, 8, 1.5) == (40, 30, 80, 60)
    # a thin box is widened to the aspect limit about its centre
    assert grow_window(np.array([50, 40, 110, 46]), 0.0, hw, 8, 2.0) == (50, 28, 110, 58)
    # a tiny box grows to min_side
    assert grow_window(np.array([10, 10, 12, 12]), 0.0, hw, 32, 1.5) == (0, 0, 32, 32)
    # shifted (not shrunk) to lie inside the image; at most the image
    assert grow_window(np.array([180, 80, 200, 100]), 0.5, hw, 8, 1.5) == (160, 60, 200, 100)
    assert grow_window(np.array([0, 0, 200, 100]), 0.5, hw, 8, 1.5) == (0, 0, 200, 100)
    # a scale grows the window about the same centre
    assert grow_window(np.array([90, 40, 110, 60]), 0.0, hw, 8, 1.5, scale=2.0) == (80, 30, 120, 70)


def test_point_window_box_from_first_answer_or_share():
    first = np.zeros((50, 80), bool)
    first[10:20, 30:45] = True
    b, grow = point_window_box(np.array([[35.0, 15.0]]), first, (50, 80), 0.0)
    assert grow and b.tolist() == [30, 10, 45, 20]
    b, grow = point_window_box(np.array([[5.0, 40.0]]), first, (50, 80), 0.0)  # a click outside joins the box
    assert b.tolist() == [5, 10, 45, 41]
    b, grow = point_window_box(np.array([[5.0, 40.0]]), np.zeros_like(first), (50, 80), 0.0)
    assert b.tolist() == [5, 40, 6, 41]
    b, grow = point_window_box(np.array([[40.0, 20.0]]), first, (50, 80), 0.25)
    assert not grow and b.tolist() == [30, 10, 50, 30]  # 0.25 x 80 = 20 px square around the click


def test_window_mask_logits_on_the_stride4_grid():
    prob = np.zeros((20, 40), np.float32)
    prob[:, :20] = 1.0
    m = window_mask_logits(prob, (16, 32), (8, 12))  # image part 16 x 32 of a 32 x 48 padded input
    assert m.shape == (8, 12) and m.dtype == np.float32
    assert (m[:4, :4] == 8.0).all() and (m[:4, 4:8] == -8.0).all() and (m[4:] == -8.0).all()


def test_zoom_off_is_the_plain_answer_and_on_changes_only_point_and_box(weights, image, monkeypatch):
    plain = Sam3Predictor.from_pretrained(str(weights), zoom=ZoomConfig(enabled=False))
    zoomed = Sam3Predictor.from_pretrained(
        str(weights), zoom=ZoomConfig(min_side=32, point_windows="first", box_source="embed")
    )
    zoomed.model.load_state_dict(plain.model.state_dict())
    for p in (plain, zoomed):
        p.model.mask_decoder.pred_obj_score_head.bias.data += 100.0  # random weights: make the object present
        p.set_image(image)
    embeds = []
    orig = zoomed._embed
    monkeypatch.setattr(zoomed, "_embed", lambda img: (embeds.append(img.shape[:2]), orig(img))[1])
    pt, box = np.array([[65.0, 35.0]]), np.array([40.0, 20.0, 100.0, 60.0])
    for kw in ({"point_coords": pt, "point_labels": np.array([1])}, {"box": box}):
        a, _ia, la, oa = plain.predict(**kw)
        b, ib, lb, ob = zoomed.predict(**kw)
        assert b.shape == a.shape == (1, 96, 160) and b.dtype == bool and ib.shape == (1,)
        np.testing.assert_array_equal(la, lb)  # low-res logits stay those of the whole image (mask_input)
        assert oa == ob
    assert len(embeds) == 2
    # the box window: 60 x 40 box, margin 0.15 x 60 = 9 px -> 78 x 58
    assert embeds[1] == (58, 78)
    # multimask answers and mask-only prompts are not zoomed
    embeds.clear()
    _, _, low, _ = zoomed.predict(pt, np.array([1]), multimask_output=True)
    zoomed.predict(mask_input=low[0])
    assert embeds == []


def test_zoom_answer_is_the_window_answer_pasted(weights, image):
    """With a window the size of the whole image the zoomed answer equals the plain one (same input, the
    decoder's own choice of output)."""
    plain = Sam3Predictor.from_pretrained(str(weights), refine="none", zoom=ZoomConfig(enabled=False))
    zoomed = Sam3Predictor.from_pretrained(
        str(weights),
        refine="none",
        zoom=ZoomConfig(box_margin=2.0, max_aspect=1.0, box_bonus=None, box_fit=0.0, box_source="embed"),
    )
    zoomed.model.load_state_dict(plain.model.state_dict())
    for p in (plain, zoomed):
        p.model.mask_decoder.pred_obj_score_head.bias.data += 100.0
        p.set_image(image)
    box = np.array([40.0, 20.0, 100.0, 60.0])
    a, ia, _, _ = plain.predict(box=box)
    b, ib, _, _ = zoomed.predict(box=box)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(ia, ib, rtol=1e-5)


def test_builtin_zoom_option_and_cache_settings(weights):
    from segcorr.errors import InputError
    from segcorr.segment import build as build_segmenter

    on = build_segmenter("builtin", weights=str(weights))
    off = build_segmenter("builtin", weights=str(weights), zoom=False)
    assert on.predictor.zoom == ZoomConfig() and on.predictor.zoom.enabled
    assert not off.predictor.zoom.enabled
    assert on.cache_settings() != off.cache_settings()  # cached isolation masks answer for one setting only
    raw = build_segmenter("builtin", weights=str(weights), concept=False)
    assert raw.cache_settings() != on.cache_settings()  # phrase scoring is part of the key too
    legacy = build_segmenter("builtin", weights=str(weights))
    legacy.predictor.prompt_snap = PromptSnap.legacy()
    assert legacy.cache_settings() != on.cache_settings()  # and the click/box snapping
    with pytest.raises(InputError, match="zoom"):
        build_segmenter("builtin", weights=str(weights), zoom="yes")


def test_choose_output_raises_the_single_output_by_the_bonus():
    from segcorr.segment.zoom import choose_output

    iou = np.array([0.6, 0.7, 0.65, 0.2])
    assert choose_output(iou, 0.0) == 1  # the highest predicted IoU
    assert choose_output(iou, 0.15) == 0  # the single output, 0.75 > 0.7
    assert choose_output(iou, 0.05) == 1  # 0.65 < 0.7: the multimask output is clearly better
    assert choose_output(np.array([0.5, 0.5, 0.5, 0.5]), 0.0) == 0  # ties: the lower index


def test_box_bonus_picks_the_window_answer_among_all_four_outputs(weights, image):
    """With a window the size of the whole image, the zoomed answer is the whole image's output that
    ``choose_output`` picks: a large bonus gives the single output, a large negative one the best multimask one."""
    import torch

    kw = {
        "refine": "none",
        "zoom": ZoomConfig(box_margin=2.0, max_aspect=1.0, box_bonus=10.0, box_fit=0.0, box_source="embed"),
    }
    big = Sam3Predictor.from_pretrained(str(weights), **kw)
    kw["zoom"] = ZoomConfig(box_margin=2.0, max_aspect=1.0, box_bonus=-10.0, box_fit=0.0, box_source="embed")
    small = Sam3Predictor.from_pretrained(str(weights), **kw)
    small.model.load_state_dict(big.model.state_dict())
    for p in (big, small):
        p.model.mask_decoder.pred_obj_score_head.bias.data += 100.0
        p.set_image(image)
    box = np.array([40.0, 20.0, 100.0, 60.0])
    with torch.no_grad():
        out = big.model.predict_prompts(
            big.features,
            torch.zeros(1, dtype=torch.long),
            torch.from_numpy(box.reshape(1, 2, 2).astype(np.float32) * big.scale),
            torch.tensor([[2, 3]]),
            multimask_output=True,
        )
    probs = big.to_image(out["all_masks"][0])
    iou = out["all_iou"][0].numpy()
    best_multi = 1 + int(np.argmax(iou[1:]))
    m_big, i_big, _, _ = big.predict(box=box)
    m_small, i_small, _, _ = small.predict(box=box)
    np.testing.assert_array_equal(m_big[0], probs[0] > 0.5)
    np.testing.assert_array_equal(m_small[0], probs[best_multi] > 0.5)
    np.testing.assert_allclose([i_big[0], i_small[0]], [iou[0], iou[best_multi]], rtol=1e-5)


def test_clicks_use_point_bonus_and_boxes_box_bonus(weights, image, monkeypatch):
    p = Sam3Predictor.from_pretrained(
        str(weights), zoom=ZoomConfig(point_bonus=0.25, box_bonus=None, box_fit=0.0, point_windows="first")
    )
    p.model.mask_decoder.pred_obj_score_head.bias.data += 100.0
    p.set_image(image)
    seen = []
    orig = p._decode
    monkeypatch.setattr(p, "_decode", lambda *a, **kw: (seen.append(kw.get("single_bonus")), orig(*a, **kw))[1])
    p.predict(np.array([[65.0, 35.0]]), np.array([1]))
    p.predict(box=np.array([40.0, 20.0, 100.0, 60.0]))
    assert seen == [0.25, None]  # the window of each prompt (the whole image's answer comes from _decode_all)


def test_point_windows_all_embeds_one_window_per_distinct_output(weights, image, monkeypatch):
    p = Sam3Predictor.from_pretrained(
        str(weights), zoom=ZoomConfig(point_windows="all", min_side=16, window_overlap=1.0, point_enough=10.0)
    )
    p.model.mask_decoder.pred_obj_score_head.bias.data += 100.0
    p.set_image(image)
    pt = np.array([[65.0, 35.0]])
    outputs, ious = p._all_outputs(pt * p.scale, np.array([1]), None, None)
    assert outputs.shape == (4, 96, 160) and ious.shape == (4,)
    want = set()
    for o in outputs:
        base, _ = point_window_box(pt, o > 0.5, (96, 160), 0.0)
        x0, y0, x1, y1 = grow_window(base, 0.15, (96, 160), 16, 1.5)
        want.add((y1 - y0, x1 - x0))
    embeds = []
    orig = p._embed
    monkeypatch.setattr(p, "_embed", lambda img: (embeds.append(img.shape[:2]), orig(img))[1])
    m, iou, _, _ = p.predict(pt, np.array([1]))
    assert m.shape == (1, 96, 160) and iou.shape == (1,)
    assert 1 <= len(embeds) <= 4 and set(embeds) == want
    with pytest.raises(ValueError, match="point_windows"):
        ZoomConfig(point_windows="every")


def test_box_fit_is_the_iou_of_the_masks_bounding_box_with_the_box():
    from segcorr.segment.zoom import box_fit

    m = np.zeros((20, 30), bool)
    m[5:10, 10:20] = True  # bounding box (10, 5, 20, 10)
    assert box_fit(m, np.array([10, 5, 20, 10])) == 1.0
    assert box_fit(m, np.array([10, 5, 30, 10])) == 0.5
    assert box_fit(np.zeros_like(m), np.array([0, 0, 5, 5])) == 0.0


def test_box_fit_weight_picks_the_output_that_fills_its_box(weights, image):
    """A large ``box_fit`` makes the box answer the output whose mask's bounding box fits the box best."""
    from segcorr.segment.zoom import box_fit

    cfg = ZoomConfig(box_margin=2.0, max_aspect=1.0, box_bonus=None, box_fit=100.0, box_source="embed")
    p = Sam3Predictor.from_pretrained(str(weights), refine="none", zoom=cfg)
    p.model.mask_decoder.pred_obj_score_head.bias.data += 100.0
    p.set_image(image)
    box = np.array([40.0, 20.0, 100.0, 60.0])
    outputs, _ = p._all_outputs(box.reshape(2, 2) * p.scale, np.array([2, 3]), None, None)  # = the window's
    fits = [box_fit(o > 0.5, box) for o in outputs]
    m, _, _, _ = p.predict(box=box)
    assert box_fit(m[0], box) == pytest.approx(max(fits))


def test_window_iou():
    from segcorr.segment.zoom import window_iou

    assert window_iou((0, 0, 10, 10), (0, 0, 10, 10)) == 1.0
    assert window_iou((0, 0, 10, 10), (5, 0, 15, 10)) == pytest.approx(50 / 150)
    assert window_iou((0, 0, 10, 10), (20, 20, 30, 30)) == 0.0


def _click_windows(weights, image, monkeypatch, **zoom):
    """The windows (as embedded crop shapes, in order) of one click whose four first outputs are nested boxes of
    predicted IoU 0.5, 0.9, 0.7, 0.3, through ``zoom_answer``; and the shapes of all four windows by output."""
    import torch

    from segcorr.segment.zoom import zoom_answer

    p = Sam3Predictor.from_pretrained(str(weights), zoom=ZoomConfig(min_side=16, **zoom))
    p.model.mask_decoder.pred_obj_score_head.bias.data += 100.0
    p.set_image(image)
    pt = np.array([[65.0, 35.0]])
    probs = np.zeros((4, 96, 160), np.float32)
    for k, (x0, y0, x1, y1) in enumerate([(60, 30, 70, 40), (50, 25, 80, 45), (30, 15, 110, 70), (0, 0, 160, 96)]):
        probs[k, y0:y1, x0:x1] = 1.0
    ious = np.array([0.5, 0.9, 0.7, 0.3], np.float32)
    shapes = []
    for o in probs:
        x0, y0, x1, y1 = grow_window(point_window_box(pt, o > 0.5, (96, 160), 0.0)[0], 0.15, (96, 160), 16, 1.5)
        shapes.append((y1 - y0, x1 - x0))
    embeds = []
    orig = p._embed
    monkeypatch.setattr(p, "_embed", lambda img: (embeds.append(img.shape[:2]), orig(img))[1])
    with torch.no_grad():
        out, iou = zoom_answer(p, pt, np.array([1]), probs[1:2], ious[1:2], None, pt, (probs, ious))
    assert out.shape == (1, 96, 160) and iou.shape == (1,)
    return embeds, shapes


def test_window_overlap_skips_windows_like_an_earlier_one_in_order_of_predicted_iou(weights, image, monkeypatch):
    """overlap 1: every distinct window, those of outputs of higher predicted IoU first; overlap 0: only the window
    of the output of highest predicted IoU (every other window overlaps it by IoU >= 0)."""
    embeds, shapes = _click_windows(weights, image, monkeypatch, window_overlap=1.0, point_enough=10.0)
    assert len(set(shapes)) == 4 and embeds == [shapes[1], shapes[2], shapes[0], shapes[3]]
    embeds, shapes = _click_windows(weights, image, monkeypatch, window_overlap=0.0, point_enough=10.0)
    assert embeds == [shapes[1]]


def test_point_enough_stops_the_click_windows_at_a_confident_answer(weights, image, monkeypatch):
    """point_enough above any predicted IoU: every window; below any: only the first (the most trusted output's)."""
    embeds, shapes = _click_windows(weights, image, monkeypatch, window_overlap=1.0, point_enough=-10.0)
    assert embeds == [shapes[1]]


def test_a_zoomed_prompt_decodes_the_whole_image_once(weights, image, monkeypatch):
    """The first answer and the four outputs of the answer choice come from one decoder call on the whole image;
    each window then costs one more."""
    p = Sam3Predictor.from_pretrained(str(weights), zoom=ZoomConfig(min_side=16, window_overlap=0.0))
    p.model.mask_decoder.pred_obj_score_head.bias.data += 100.0
    p.set_image(image)
    calls = []
    orig = p._run_decoder
    monkeypatch.setattr(p, "_run_decoder", lambda feats, *a: (calls.append(feats is p.features), orig(feats, *a))[1])
    p.predict(np.array([[65.0, 35.0]]), np.array([1]))
    assert calls == [True, False]  # the whole image, then the one window
    calls.clear()
    p.predict(box=np.array([40.0, 20.0, 100.0, 60.0]))
    assert calls == [True, False]


def test_crop_source_cuts_windows_from_one_fine_embedding(weights, image, monkeypatch):
    """``box_source="crop"``: the first zoomed box of an image embeds it once more at ``crop_zoom`` x image_size,
    later boxes embed nothing; a window's features are that embedding's cells over the window (grown to whole
    cells), with the decoder's position code of the crop's size."""
    cfg = ZoomConfig(box_source="crop", crop_zoom=2.0)
    p = Sam3Predictor.from_pretrained(str(weights), zoom=cfg)
    p.model.mask_decoder.pred_obj_score_head.bias.data += 100.0
    p.set_image(image)
    sides = []
    orig = p._embed
    monkeypatch.setattr(p, "_embed", lambda img, side=None: (sides.append(side), orig(img, side))[1])
    box = np.array([40.0, 20.0, 100.0, 60.0])
    m, iou, _, _ = p.predict(box=box)
    p.predict(box=np.array([10.0, 10.0, 50.0, 50.0]))
    assert sides == [2 * p.image_size] and m.shape == (1, 96, 160) and iou.shape == (1,)
    fine, s, (sh, sw) = fine_embedding(p)
    assert s == pytest.approx(2 * p.image_size / 160) and (sh, sw) == (77, 128)  # 96 x 0.8, rounded
    feats, ws, shw, window = window_features(p, (40, 20, 100, 60), "crop")
    x0, y0, x1, y1 = window
    assert x0 <= 40 and y0 <= 20 and x1 >= 100 and y1 >= 60 and ws == s  # the cells over the window
    c0, r0 = int(40 * s // 16), int(20 * s // 16)
    rows, cols = feats["inter"][2].shape[-2:]
    np.testing.assert_array_equal(
        feats["inter"][2].numpy(), fine["inter"][2][..., r0 : r0 + rows, c0 : c0 + cols].numpy()
    )
    assert feats["size"] == (16 * rows, 16 * cols) and tuple(feats["pos16"].shape[-2:]) == (rows, cols)
    assert feats["origin"] == pytest.approx((16 * c0 / s, 16 * r0 / s)) and shw == (16 * rows, 16 * cols)
    # set_image drops the fine embedding; clicks still embed their windows ("embed" by default)
    p.set_image(image)
    sides.clear()
    p.predict(np.array([[65.0, 35.0]]), np.array([1]))
    assert sides and None in sides and 2 * p.image_size not in sides
    with pytest.raises(ValueError, match="box_source"):
        ZoomConfig(box_source="tile")


def test_auto_source_crops_large_windows_and_embeds_small_ones(weights, image, monkeypatch):
    p = Sam3Predictor.from_pretrained(str(weights), zoom=ZoomConfig(crop_zoom=2.0, crop_ratio=1.0))
    p.set_image(image)
    # the fine embedding is at 2 x 64 / 160 = 0.8 px per pixel; a window embeds at 64 / its longer side
    big = window_features(p, (0, 0, 160, 96), "auto")[0]  # own scale 0.4: cropped
    small = window_features(p, (40, 20, 80, 50), "auto")[0]  # own scale 1.6: embedded
    assert "origin" in big and "origin" not in small


def test_mask_prompt_works_with_embedded_and_cropped_windows(weights, image):
    """``mask_prompt``: the window's first answer goes in on the stride-4 grid of the window's input, which is four
    times its stride-16 grid for an embedded window (the stride-4 features' own size) and for a window cut from the
    fine embedding (which keeps no stride-4 features of its own)."""
    p = Sam3Predictor.from_pretrained(str(weights), zoom=ZoomConfig(mask_prompt=True))
    p.model.mask_decoder.pred_obj_score_head.bias.data += 100.0
    p.set_image(image)
    feats = window_features(p, (40, 20, 100, 60), "embed")[0]
    assert tuple(feats["inter"][0].shape[-2:]) == tuple(4 * n for n in feats["inter"][2].shape[-2:])
    for source in ("crop", "embed"):
        p.zoom = ZoomConfig(mask_prompt=True, box_source=source)
        m, iou, _, _ = p.predict(box=np.array([40.0, 20.0, 100.0, 60.0]))
        assert m.shape == (1, 96, 160) and np.isfinite(iou).all()
