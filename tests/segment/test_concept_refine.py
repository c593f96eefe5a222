"""Phrase answers: the calibration of query and presence scores, the colour check, the mask suppression, and that the
identity option is the model's own answer (a tiny random-weight model)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from segcorr.errors import InputError
from segcorr.segment import build as build_segmenter
from segcorr.segment.base import Prompts
from segcorr.segment.concept_refine import ConceptConfig, concept_instances, concept_scores, mask_nms, phrase_shares
from segcorr.segment.predictor import Sam3Predictor


def _sig(x: float) -> float:
    return 1.0 / (1.0 + np.exp(-x))


def test_identity_scores_are_query_times_presence_probabilities():
    ql = torch.tensor([-2.0, 0.0, 1.5])
    scores, presence = concept_scores(ql, torch.tensor(0.3), ConceptConfig.identity())
    assert presence == pytest.approx(_sig(0.3))
    np.testing.assert_allclose(scores.numpy(), [_sig(v) * _sig(0.3) for v in (-2.0, 0.0, 1.5)], rtol=1e-6)


def test_calibration_is_affine_on_both_logits_and_keeps_the_query_order():
    cfg = ConceptConfig(query_scale=3.0, query_bias=4.5, presence_scale=2.0, presence_bias=-1.0)
    ql = torch.tensor([-2.0, -1.0, 0.5])
    scores, presence = concept_scores(ql, 0.25, cfg)
    assert presence == pytest.approx(_sig(2.0 * 0.25 - 1.0))
    np.testing.assert_allclose(scores.numpy(), [_sig(3 * v + 4.5) * presence for v in (-2.0, -1.0, 0.5)], rtol=1e-6)
    assert torch.equal(torch.argsort(scores), torch.argsort(ql))
    assert (scores <= presence + 1e-7).all()  # the presence still bounds every instance


def test_mask_nms_drops_empty_and_overlapping_masks_and_stops_at_the_limit():
    m = torch.zeros(5, 4, 4, dtype=torch.bool)
    m[0, :2] = True  # 8 px
    m[1, :2, :3] = True  # 6 px inside mask 0: IoU 0.75
    m[2] = False  # empty
    m[3, 2:] = True  # disjoint from 0
    m[4, 3:] = True  # 4 px inside mask 3: IoU 0.5
    assert mask_nms(m, 0.7, 16) == [0, 3, 4]  # 0.75 > 0.7 goes, 0.5 stays
    assert mask_nms(m, 0.4, 16) == [0, 3]  # now 4 (IoU 0.5 with 3) goes too
    assert mask_nms(m, 0.8, 2) == [0, 1]


@pytest.fixture(scope="module")
def image():
    img = np.full((48, 80, 3), 200, np.uint8)
    img[10:30, 20:50] = (200, 40, 40)
    return img


def test_identity_option_reproduces_the_models_own_answer(weights, image):
    """ConceptConfig.identity() gives exactly the uncalibrated answer, computed here from the model's outputs."""
    p = Sam3Predictor.from_pretrained(str(weights), refine="none")
    p.set_image(image)
    r = p.predict_text("red hair", threshold=0.0)
    tokens = p._tokens(["red hair"])
    with torch.no_grad():
        out = p.model.predict_concept(p.features, torch.zeros(1, dtype=torch.long), tokens)
    presence = float(out["presence_logit"][0].sigmoid())
    want = np.sort((out["pred_logits"][0].sigmoid() * presence).numpy())[::-1]
    assert r.presence == pytest.approx(presence)
    assert len(r.scores) >= 1 and set(np.round(r.scores, 6)) <= set(np.round(want, 6))
    np.testing.assert_allclose(r.scores[0], want[0], rtol=1e-6)  # the best query always survives


def test_calibrated_backend_scores_and_bad_option(weights, image):
    seg = build_segmenter("builtin", weights=str(weights), refine="none", text_threshold=0.0)
    raw = build_segmenter("builtin", weights=str(weights), refine="none", text_threshold=0.0, concept=False)
    a, b = seg.segment(image, Prompts(text=["hair"])), raw.segment(image, Prompts(text=["hair"]))
    assert a.presence == pytest.approx(b.presence)  # presence is not recalibrated by default (no colour word)
    cfg = ConceptConfig()
    top = float(np.log(b.scores[0] / b.presence) - np.log1p(-b.scores[0] / b.presence))  # best query logit
    assert a.scores[0] == pytest.approx(_sig(cfg.query_scale * top + cfg.query_bias) * a.presence, rel=1e-5)
    with pytest.raises(InputError, match="concept"):
        build_segmenter("builtin", weights=str(weights), concept="yes")


def test_colour_shares_raise_presence_and_rank_the_right_colour_first():
    cfg = ConceptConfig(
        query_scale=1.0, query_bias=0.0, colour_presence_weight=4.0, colour_presence_bias=-1.0, colour_query_weight=6.0
    )
    assert cfg.colour_check and not ConceptConfig.identity().colour_check
    ql = torch.tensor([0.5, 0.0])  # query 0 is the model's favourite, query 1 covers the asked colour
    plain, p0 = concept_scores(ql, 0.2, cfg)
    red, p1 = concept_scores(ql, 0.2, cfg, np.array([0.0, 1.0]))
    _, p2 = concept_scores(ql, 0.2, cfg, np.array([0.0, 0.0]))
    assert p0 == pytest.approx(_sig(0.2))  # not a colour phrase: no colour term
    w = np.array([_sig(0.5), _sig(0.0)])
    assert p1 == pytest.approx(_sig(0.2 - 1.0 + 4.0 * w[1] / w.sum()), rel=1e-5)
    assert p2 == pytest.approx(_sig(0.2 - 1.0), rel=1e-5) and p2 < p0 < p1
    assert int(torch.argmax(plain)) == 0 and int(torch.argmax(red)) == 1  # the colour share re-ranks the queries
    np.testing.assert_allclose(red.numpy(), [_sig(0.5 - 3.0) * p1, _sig(0.0 + 3.0) * p1], rtol=1e-5)


def test_concept_instances_use_the_colour_check_only_with_the_phrase(weights, image):
    cfg = ConceptConfig(colour_presence_bias=-3.0, colour_presence_weight=6.0, colour_query_weight=4.0)
    p = Sam3Predictor.from_pretrained(str(weights), refine="none", concept=cfg)
    p.set_image(image)
    with torch.no_grad():
        out = p.model.predict_concept(p.features, torch.zeros(1, dtype=torch.long), p._tokens(["red hair"]))
    no_text = concept_instances(p, out, 0.0)
    assert no_text.presence == pytest.approx(_sig(float(out["presence_logit"][0])), rel=1e-5)
    from segcorr.segment.concept_colour import colour_index, colour_shares

    masks = out["pred_masks"][0].numpy()
    shares = colour_shares(masks, colour_index(image, p.scaled_hw, masks.shape[-2:]), "red")
    red = concept_instances(p, out, 0.0, text="red hair")
    want = concept_scores(out["pred_logits"][0], out["presence_logit"][0], cfg, shares)[1]
    assert red.presence == pytest.approx(want, rel=1e-6) and red.presence != pytest.approx(no_text.presence)
    hair = concept_instances(p, out, 0.0, text="hair")  # no colour word: as without the phrase
    assert hair.presence == pytest.approx(no_text.presence)


def test_phrase_shares_work_on_outputs_that_carry_gradients(weights, image):
    p = Sam3Predictor.from_pretrained(str(weights), refine="none")
    p.set_image(image)
    out = p.model.predict_concept(p.features, torch.zeros(1, dtype=torch.long), p._tokens(["red hair"]))
    assert out["pred_masks"].requires_grad
    shares = phrase_shares(p, out, "red hair")
    assert shares.shape == (out["pred_logits"].shape[1],) and ((shares >= 0) & (shares <= 1)).all()
    assert phrase_shares(p, out, "hair") is None


def test_predict_text_gives_the_phrase_to_the_colour_check(weights, image):
    """A colour phrase through Sam3Predictor.predict_text reaches the colour check: its presence is the one
    concept_instances gives with the (normalised) phrase, not the one without it."""
    p = Sam3Predictor.from_pretrained(str(weights), refine="none", concept=ConceptConfig())
    p.set_image(image)
    r = p.predict_text("  Red   HAIR ", threshold=0.0)
    with torch.no_grad():
        out = p.model.predict_concept(p.features, torch.zeros(1, dtype=torch.long), p._tokens(["red hair"]))
    with_text = concept_instances(p, out, 0.0, text="red hair")
    without = concept_instances(p, out, 0.0)
    assert r.presence == pytest.approx(with_text.presence)
    assert with_text.presence != pytest.approx(without.presence)  # the image's red region moves the presence
