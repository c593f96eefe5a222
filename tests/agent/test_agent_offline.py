"""The offline verifier drives the same loop through the same text protocol, with no server."""

from __future__ import annotations

import json

import numpy as np
import pytest
from agent_doubles import GIRL_A, GIRL_C, BoxSegmenter, box_mask, sample_image

from segcorr.agent import Agent, AgentConfig, Message, OfflineVerifier, noun_phrase_variants
from segcorr.agent.prompts import CHECKER_PROMPT, checker_question
from segcorr.agent.protocol import parse_tool_call, parse_verdict


@pytest.mark.parametrize(
    "query, variants",
    [
        ("the girl holding the umbrella", ["the girl holding the umbrella", "girl holding the umbrella", "girl"]),
        ("a small red car", ["a small red car", "small red car", "red car", "car"]),
        ("red hair of the girl", ["red hair of the girl", "red hair", "hair"]),
        ("the building on the left", ["the building on the left", "building on the left", "building"]),
        ("Umbrella", ["Umbrella"]),
        ("girl  sitting", ["girl sitting", "girl"]),
    ],
)
def test_noun_phrase_variants_shorten_to_the_head_noun(query, variants):
    assert noun_phrase_variants(query) == variants


def test_offline_tries_shorter_phrases_and_returns_the_masks_it_accepts(segmenter):
    result = Agent(segmenter, OfflineVerifier()).run(sample_image(), "the girl holding the umbrella")
    assert segmenter.calls == ["the girl holding the umbrella", "girl holding the umbrella", "girl"]
    assert result.status == "selected" and result.generations == 5
    # scores 0.9 and 0.7 pass the 0.5 threshold, 0.3 does not
    assert [m.score for m in result.masks] == pytest.approx([0.9, 0.7])
    assert np.array_equal(result.masks[0].mask, box_mask(GIRL_A))
    assert np.array_equal(result.masks[1].mask, box_mask(GIRL_C))
    names = [s["call"]["name"] for s in result.transcript["steps"]]
    assert names == ["segment_phrase"] * 3 + ["examine_each_mask", "select_masks_and_return"]
    assert all("error" not in s for s in result.transcript["steps"])
    assert result.transcript["model"]["kind"] == "offline"


def test_threshold_decides_what_is_kept(segmenter):
    result = Agent(segmenter, OfflineVerifier(min_score=0.8)).run(sample_image(), "girl")
    assert [m.score for m in result.masks] == pytest.approx([0.9])


def test_low_presence_rejects_everything_and_ends_with_no_mask():
    seg = BoxSegmenter({"cat": (0.2, [((0, 0, 10, 10), 0.95)])})
    result = Agent(seg, OfflineVerifier()).run(sample_image(), "a black cat")
    assert seg.calls == ["a black cat", "black cat", "cat"]
    assert result.status == "no_mask" and result.masks == []
    assert result.transcript["steps"][3]["checks"][0]["verdict"] == "Reject"


def test_offline_respects_the_generation_budget(segmenter):
    result = Agent(segmenter, OfflineVerifier(), config=AgentConfig(max_generations=2)).run(
        sample_image(), "the girl holding the umbrella"
    )
    assert result.status == "max_generations" and result.masks == [] and result.generations == 2


def test_offline_answers_are_valid_protocol():
    checker = [
        Message.of("system", CHECKER_PROMPT),
        Message.of("user", checker_question("q", 1, 1, {"score": 0.6, "presence": None, "iou_pred": None})),
    ]
    assert parse_verdict(OfflineVerifier().complete(checker)) is True
    assert parse_verdict(OfflineVerifier(min_score=0.7).complete(checker)) is False
    first = OfflineVerifier().complete([Message.of("system", "s"), Message.of("user", "Query: the cat\nFind it.")])
    call = parse_tool_call(first)
    assert call.name == "segment_phrase" and call.parameters == {"text_prompt": "the cat"}
    json.dumps(OfflineVerifier().describe())
