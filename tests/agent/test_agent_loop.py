"""The loop against a scripted OpenAI-compatible server over a real socket: the happy path, and every kind
of model mistake fed back as a tool error the model can correct, within max_generations."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest
from agent_doubles import GIRL_A, GIRL_B, GIRL_C, box_mask, sample_image, tool, verdict

from segcorr.agent import Agent, AgentConfig, ClientConfig, OpenAIChat

SECRET = "sk-test-NOT-A-REAL-KEY-31415"


def make_agent(server, segmenter, monkeypatch, max_generations: int = 8) -> tuple[Agent, OpenAIChat]:
    monkeypatch.setenv("SEGCORR_TEST_KEY", SECRET)
    chat = OpenAIChat(
        server.base_url, "scripted-mllm", api_key_env="SEGCORR_TEST_KEY", config=ClientConfig(timeout_s=5.0, retries=0)
    )
    return Agent(segmenter, chat, config=AgentConfig(max_generations=max_generations)), chat


def image_urls(message: dict) -> list[str]:
    content = message["content"]
    return [] if isinstance(content, str) else [p["image_url"]["url"] for p in content if p["type"] == "image_url"]


def last_text(message: dict) -> str:
    content = message["content"]
    return content if isinstance(content, str) else "\n".join(p["text"] for p in content if p["type"] == "text")


def test_happy_path_segment_examine_reject_one_return(server, segmenter, monkeypatch):
    server.push(
        tool("segment_phrase", text_prompt="girl"),
        tool("examine_each_mask"),
        verdict(True),
        verdict(True),
        verdict(False),  # masks 1 (A), 2 (C) accepted, 3 (B) rejected
        tool("select_masks_and_return", final_answer_masks=[1, 2]),
    )
    agent, _ = make_agent(server, segmenter, monkeypatch)
    result = agent.run(sample_image(), "the girls on the left and right")

    assert result.status == "selected" and result.generations == 3
    assert [m.score for m in result.masks] == pytest.approx([0.9, 0.7])
    assert np.array_equal(result.masks[0].mask, box_mask(GIRL_A))
    assert np.array_equal(result.masks[1].mask, box_mask(GIRL_C))
    assert result.masks[0].box == [4.0, 4.0, 20.0, 30.0] and result.masks[0].prompt == "girl"
    assert result.presence == pytest.approx(0.85) and result.masks[0].iou_pred == pytest.approx(0.8)
    assert segmenter.calls == ["girl"]
    assert len(server.requests) == 6
    # the image goes out as a PNG data URL; the checker sees an overlay and a zoomed crop per mask
    first = image_urls(server.messages(0)[1])
    assert len(first) == 1 and first[0].startswith("data:image/png;base64,")
    assert base64.b64decode(first[0].split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    for i in (2, 3, 4):
        msgs = server.messages(i)
        assert msgs[0]["role"] == "system" and "<verdict>Accept</verdict>" in msgs[0]["content"]
        assert len(image_urls(msgs[1])) == 2
    # after examine the model sees the survivors renumbered, with the rejected one named
    examined = last_text(server.messages(5)[-1])
    assert '"verdict": "Reject"' in examined and "2 of 3 mask(s) accepted" in examined
    # the key is sent to the server but never recorded; images are placeholders in the transcript
    assert server.requests[0]["headers"]["authorization"] == f"Bearer {SECRET}"
    dumped = json.dumps(result.transcript)
    assert SECRET not in dumped and "base64" not in dumped and "data:image" not in dumped
    assert "<image 80x48>" in dumped
    assert [s["call"]["name"] for s in result.transcript["steps"]] == [
        "segment_phrase",
        "examine_each_mask",
        "select_masks_and_return",
    ]
    assert [c["verdict"] for c in result.transcript["steps"][1]["checks"]] == ["Accept", "Accept", "Reject"]


SEGMENT_GIRL = tool("segment_phrase", text_prompt="girl")


@pytest.mark.parametrize(
    "mistakes, error",
    [
        (["It is the girl on the left, I think."], "no tool call found"),
        (['<tool>{"name": "segment_phrase", "parameters": {"text_prompt": "girl"}</tool>'], "not valid JSON"),
        ([tool("zoom_in", factor=2)], "unknown tool 'zoom_in'"),
        ([tool("examine_each_mask")], "cannot come first"),
        ([SEGMENT_GIRL + "\n" + SEGMENT_GIRL], "exactly one per reply"),
        ([tool("segment_phrase", text_prompt="")], "non-empty noun phrase"),
        ([SEGMENT_GIRL, tool("segment_phrase", text_prompt=" Girl ")], "already used"),
        ([SEGMENT_GIRL, tool("select_masks_and_return", final_answer_masks=[4])], "from 1 to 3, found [4]"),
        ([SEGMENT_GIRL, tool("select_masks_and_return", final_answer_masks=[])], "found an empty list"),
        ([SEGMENT_GIRL, tool("select_masks_and_return", final_answer_masks=["one"])], "mask numbers"),
        ([SEGMENT_GIRL, tool("select_masks_and_return", final_answer_masks=[2, 2])], "repeated numbers"),
    ],
)
def test_mistake_is_fed_back_and_the_model_recovers(server, segmenter, monkeypatch, mistakes, error):
    script = list(mistakes)
    if SEGMENT_GIRL not in script:
        script.append(SEGMENT_GIRL)
    script.append(tool("select_masks_and_return", final_answer_masks=[1]))
    server.push(*script)
    agent, _ = make_agent(server, segmenter, monkeypatch)
    result = agent.run(sample_image(), "the girl on the left")

    assert result.status == "selected"
    assert len(result.masks) == 1 and np.array_equal(result.masks[0].mask, box_mask(GIRL_A))
    assert result.generations == len(script)  # the mistake cost a generation
    errors = [s["error"] for s in result.transcript["steps"] if "error" in s]
    assert len(errors) == 1 and error in errors[0]
    # the model saw the error as the message after its bad reply
    bad = next(i for i, s in enumerate(result.transcript["steps"]) if "error" in s)
    fed_back = last_text(server.messages(bad + 1)[-1])
    assert fed_back.startswith("<tool_error>") and error in fed_back
    assert segmenter.calls == ["girl"]  # a reused prompt never reached the segmenter


def test_budget_spent_ends_with_max_generations_and_no_masks(server, segmenter, monkeypatch):
    server.push(
        SEGMENT_GIRL,
        "no idea",
        tool("examine_each_mask"),
        verdict(True),
        verdict(True),
        verdict(True),
        "still thinking",
        "one more",
    )
    agent, _ = make_agent(server, segmenter, monkeypatch, max_generations=3)
    result = agent.run(sample_image(), "a girl")
    assert result.status == "max_generations" and result.masks == [] and result.generations == 3
    assert result.transcript["status"] == "max_generations"
    assert len(server.requests) == 6  # 3 generations + 3 checker calls; nothing asked after the budget


def test_report_no_mask_and_no_masks_found(server, segmenter, monkeypatch):
    server.push(tool("segment_phrase", text_prompt="umbrella"), tool("examine_each_mask"), tool("report_no_mask"))
    agent, _ = make_agent(server, segmenter, monkeypatch)
    result = agent.run(sample_image(), "the umbrella")
    assert result.status == "no_mask" and result.masks == [] and result.generations == 3
    assert "No masks found" in last_text(server.messages(1)[-1])
    assert "no current masks to examine" in result.transcript["steps"][1]["error"]
    assert result.presence == pytest.approx(0.02)


def test_missing_verdict_rejects_and_a_new_phrase_replaces_masks(server, segmenter, monkeypatch):
    segmenter.phrases["woman"] = (0.6, [(GIRL_B, 0.4)])
    server.push(
        SEGMENT_GIRL,
        tool("examine_each_mask"),
        "hmm",
        "unsure",
        "<verdict>maybe</verdict>",
        tool("segment_phrase", text_prompt="woman"),
        tool("select_masks_and_return", final_answer_masks=[1]),
    )
    agent, _ = make_agent(server, segmenter, monkeypatch)
    result = agent.run(sample_image(), "the woman")
    checks = result.transcript["steps"][1]["checks"]
    assert [c["verdict"] for c in checks] == ["none (rejected)"] * 3
    assert "Every mask was rejected" in last_text(server.messages(5)[-1])
    assert result.status == "selected" and np.array_equal(result.masks[0].mask, box_mask(GIRL_B))
    assert result.presence == pytest.approx(0.6) and result.masks[0].prompt == "woman"


def test_config_rejects_a_zero_budget():
    with pytest.raises(ValueError, match="max_generations"):
        AgentConfig(max_generations=0)
