"""The concept model's components (tiny `sam3-test` variant, random weights): shapes, the stability rule,
NO_OBJ_SCORE, causal text encoding, position codes, window attention."""

from __future__ import annotations

import math

import pytest
import torch

from segcorr.errors import InputError
from segcorr.segment.model import NO_OBJ_SCORE, build
from segcorr.segment.model.mask_decoder import stability_scores
from segcorr.segment.model.neck import Sam3DualViTDetNeck
from segcorr.segment.model.position import PositionEmbeddingSine
from segcorr.segment.model.text_encoder import VETextEncoder
from segcorr.segment.model.vit import ViT, _window_partition, _window_unpartition


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return build("sam3-test").eval()


def _points(p: int = 2):
    coords = torch.tensor([[[10.0, 12.0], [0.0, 0.0]]]).expand(p, -1, -1).clone()
    labels = torch.tensor([[1, -1]]).expand(p, -1).clone()
    return coords, labels


def test_shapes_of_both_paths(model):
    x = torch.rand(2, 3, 64, 96)
    feats = model.encode_image(x)
    assert [tuple(f.shape[-2:]) for f in feats["det"]] == [(16, 24), (8, 12), (4, 6)]
    coords, labels = _points(3)
    out = model.predict_prompts(feats, torch.tensor([0, 1, 1]), coords, labels, multimask_output=True)
    assert out["masks"].shape == (3, 3, 16, 24) and out["iou_pred"].shape == (3, 3)
    assert out["all_masks"].shape == (3, 4, 16, 24) and out["object_score_logits"].shape == (3, 1)
    single = model.predict_prompts(feats, torch.tensor([0]), coords[:1], labels[:1])
    assert single["masks"].shape == (1, 1, 16, 24)
    tokens = torch.zeros(2, 16, dtype=torch.long)
    tokens[:, :3] = torch.tensor([49406, 736, 49407])
    c = model.predict_concept(feats, torch.tensor([1, 0]), tokens)
    q = model.config.num_queries
    assert c["pred_logits"].shape == (2, q) and c["presence_logit"].shape == (2,)
    assert c["pred_boxes"].shape == (2, q, 4) and c["pred_masks"].shape == (2, q, 16, 24)
    assert (c["pred_boxes"] >= 0).all() and (c["pred_boxes"] <= 1).all()


def test_image_size_must_be_multiple_of_32(model):
    with pytest.raises(ValueError, match="multiples of 32"):
        model.encode_image(torch.rand(1, 3, 60, 64))


def test_stability_score_is_area_ratio():
    logits = torch.tensor([[[-1.0, 0.0, 0.04], [0.06, 1.0, -0.04]]])  # > 0.05: 2 px; > -0.05: 5 px
    assert math.isclose(float(stability_scores(logits, 0.05)), 2 / 5, rel_tol=1e-6)
    assert float(stability_scores(torch.full((1, 2, 2), -5.0), 0.05)) == 1.0  # both empty


def test_dynamic_multimask_keeps_stable_single_else_best_multimask(model):
    dec = model.mask_decoder
    b, h, w = 2, 4, 4
    logits = torch.full((b, 4, h, w), -5.0)
    logits[0, 0] = 5.0  # stable single mask
    logits[1, 0, :2] = 0.0  # unstable: every pixel within +-delta of 0 -> ratio 0
    logits[1, 2, :1] = 5.0
    iou = torch.tensor([[0.9, 0.1, 0.2, 0.3], [0.9, 0.1, 0.8, 0.3]])
    masks, chosen_iou, idx = dec._dynamic_multimask_via_stability(logits, iou)
    assert idx.tolist() == [0, 2]
    assert torch.equal(masks[0, 0], logits[0, 0]) and torch.equal(masks[1, 0], logits[1, 2])
    assert chosen_iou[:, 0].tolist() == pytest.approx([0.9, 0.8])


def test_dynamic_multimask_only_at_inference():
    torch.manual_seed(0)
    m = build("sam3-test")
    feats = m.encode_image(torch.rand(1, 3, 64, 64))
    coords, labels = _points(1)
    m.train()
    out = m.predict_prompts(feats, torch.tensor([0]), coords, labels)
    assert torch.equal(out["masks"][:, 0], out["all_masks"][:, 0])  # training: always the single output


def test_no_object_masks_get_no_obj_score():
    torch.manual_seed(0)
    m = build("sam3-test").eval()
    with torch.no_grad():
        m.mask_decoder.pred_obj_score_head.bias.fill_(-100.0)
    feats = m.encode_image(torch.rand(1, 3, 64, 64))
    coords, labels = _points(1)
    out = m.predict_prompts(feats, torch.tensor([0]), coords, labels)
    assert (out["masks"] == NO_OBJ_SCORE).all()


def test_sine_position_codes():
    pe = PositionEmbeddingSine(8)
    code = pe.encode_points(torch.tensor([0.0]), torch.tensor([0.0]))
    assert code.shape == (1, 8)
    assert torch.allclose(code[0, 0::2], torch.zeros(4))  # sin(0)
    assert torch.allclose(code[0, 1::2], torch.ones(4))  # cos(0)
    assert pe.encode_boxes(torch.rand(3), torch.rand(3), torch.rand(3), torch.rand(3)).shape == (3, 10)
    assert pe(4, 5).shape == (8, 4, 5)
    with pytest.raises(ValueError):
        PositionEmbeddingSine(6)


def test_text_encoder_is_causal_and_marks_padding():
    torch.manual_seed(0)
    enc = VETextEncoder(d_model=16, vocab_size=100, width=8, heads=2, layers=2, context_length=6).eval()
    a = torch.tensor([[1, 5, 7, 2, 0, 0]])
    b = a.clone()
    b[0, 3] = 9
    fa, pad = enc(a)
    fb, _ = enc(b)
    assert torch.allclose(fa[0, :3], fb[0, :3]) and not torch.allclose(fa[0, 3], fb[0, 3])
    assert pad.tolist() == [[False, False, False, False, True, True]]
    with pytest.raises(ValueError, match="at most 6 tokens"):
        enc(torch.ones(1, 7, dtype=torch.long))


def test_window_partition_roundtrip():
    x = torch.rand(2, 5, 7, 3)
    win, pad_hw = _window_partition(x, 4)
    assert win.shape == (2 * 2 * 2, 16, 3)
    assert torch.equal(_window_unpartition(win, 4, pad_hw, (5, 7)), x)


@pytest.mark.parametrize("pos", ["abs", "rope"])
def test_vit_positions(pos):
    vit = ViT(dim=32, depth=2, heads=2, window=2, global_blocks=(1,), pos=pos, pos_grid=(2, 2))
    t, f4, f8 = vit(torch.rand(1, 3, 64, 96))
    assert t.shape == (1, 32, 4, 6) and f4.shape == (1, 8, 16, 24) and f8.shape == (1, 16, 8, 12)


def test_neck_levels_and_dual():
    x, f4, f8 = torch.rand(1, 32, 4, 6), torch.rand(1, 8, 16, 24), torch.rand(1, 16, 8, 12)
    neck = Sam3DualViTDetNeck(32, 16, (4.0, 2.0, 1.0, 0.5), dual=True)
    det, inter = neck(x, f4, f8)
    assert [tuple(f.shape[-2:]) for f in det] == [(16, 24), (8, 12), (4, 6), (2, 3)]
    assert not torch.allclose(det[0], inter[0])  # separate weights
    det3, inter3 = Sam3DualViTDetNeck(32, 16, (4.0, 2.0, 1.0))(x, f4, f8)
    assert len(det3) == 3 and inter3 is det3


def test_registry_errors_and_overrides():
    with pytest.raises(InputError, match="unknown concept model"):
        build("sam3_huge")
    with pytest.raises(InputError, match="unknown option"):
        build("sam3-test", widthh=3)
    m = build("sam3-test", twoway_rope=True, vit_pos="rope", neck_dual=True)
    feats = m.encode_image(torch.rand(1, 3, 64, 64))
    out = m.predict_prompts(feats, torch.tensor([0]), *_points(1))
    assert out["masks"].shape[-2:] == (16, 16)


def test_click_maps_mark_clicks_and_box():
    from segcorr.segment.model.prompt_encoder import PromptEncoder

    pe = PromptEncoder(16, click_maps=True)
    coords = torch.tensor([[[8.0, 8.0], [56.0, 24.0], [16.0, 16.0], [48.0, 48.0]]])
    labels = torch.tensor([[1, 0, 2, 3]])
    maps = pe.draw_clicks(coords, labels, (64, 64), (4, 4))  # 16 px cells
    assert maps.shape == (1, 3, 4, 4)
    assert maps[0, 0].argmax() == 0 and maps[0, 1].argmax() == 1 * 4 + 3  # positive at cell (0,0), negative (1,3)
    assert maps[0, 2].tolist() == [[0, 0, 0, 0], [0, 1, 1, 0], [0, 1, 1, 0], [0, 0, 0, 0]]
