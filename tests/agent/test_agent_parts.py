"""Pure parts of the agent: reply parsing, message conversion, the pictures sent to the model."""

from __future__ import annotations

import numpy as np
import pytest

from segcorr.agent.messages import ImagePart, Message, to_openai, to_transcript
from segcorr.agent.protocol import ToolCallError, parse_tool_call, parse_verdict
from segcorr.agent.render import fit_side, mask_box, numbered_overlay, zoomed_crop


def test_tool_call_parsed_from_prose_and_code_fence():
    call = parse_tool_call(
        'I will segment.\n<tool>```json\n{"name": "segment_phrase", '
        '"parameters": {"text_prompt": "cat"}}\n```</tool> done'
    )
    assert call.name == "segment_phrase" and call.parameters == {"text_prompt": "cat"}
    assert parse_tool_call('<TOOL>{"name": "report_no_mask"}</TOOL>').parameters == {}


@pytest.mark.parametrize(
    "reply, error",
    [
        ("", "no tool call"),
        ("<tool>[1, 2]</tool>", "JSON object"),
        ('<tool>{"name": "report_no_mask", "parameters": [1]}</tool>', '"parameters" must be a JSON object'),
        ('<tool>{"name": "segment_phrase", "parameters": {"text_prompt": 3}}</tool>', "text_prompt"),
        (
            '<tool>{"name": "select_masks_and_return", "parameters": {"final_answer_masks": [true]}}</tool>',
            "final_answer_masks",
        ),
    ],
)
def test_bad_tool_calls_say_what_is_wrong(reply, error):
    with pytest.raises(ToolCallError, match=error):
        parse_tool_call(reply)


def test_verdict_last_one_counts_and_absent_is_none():
    assert parse_verdict("<verdict>Reject</verdict> on second thought <verdict> accept </verdict>") is True
    assert parse_verdict("<verdict>reject</verdict>") is False
    assert parse_verdict("I accept") is None


def test_messages_to_wire_and_transcript():
    img = ImagePart.from_array(np.full((5, 7, 3), 200, np.uint8))
    msgs = [Message.of("system", "rules"), Message.of("user", img, "query")]
    wire = to_openai(msgs)
    assert wire[0] == {"role": "system", "content": "rules"}
    assert wire[1]["content"][0]["image_url"]["url"].startswith("data:image/png;base64,")
    assert to_transcript(msgs)[1] == {"role": "user", "content": ["<image 7x5>", "query"]}
    assert msgs[1].text == "query" and msgs[1].images == [img]


def test_pictures_are_capped_and_numbered_masks_are_drawn():
    image = np.zeros((300, 500, 3), np.uint8)
    masks = np.zeros((2, 300, 500), bool)
    masks[0, 10:60, 10:90] = True
    masks[1, 200:290, 300:480] = True
    out = numbered_overlay(image, masks, side=250)
    assert out.shape == (150, 250, 3)
    assert out[5:30, 5:45].any() and out[100:145, 150:240].any()  # tint and number inside each mask
    assert not out[70:90, 100:140].any()  # outside every mask the black image stays black
    crop = zoomed_crop(image, masks[0], side=128)
    assert max(crop.shape[:2]) == 128 and crop.shape[1] > crop.shape[0]  # wide box -> wide crop
    assert fit_side(image, 1000) is image
    assert mask_box(masks[1]) == [300.0, 200.0, 480.0, 290.0] and mask_box(masks[0] & False) == [0.0] * 4
