"""What the agent tells the multimodal model: the system prompt, the mask checker's prompt, tool results.

Tool results carry a machine-readable JSON object between <tool_result> tags (the offline verifier reads
it; a language model reads it as well as the prose around it); errors come between <tool_error> tags.
"""

from __future__ import annotations

import json

SYSTEM_PROMPT = """\
You find the objects that a user's query describes in an image, using a segmentation tool.
You see the image and the query. You work in turns: in every reply, think briefly if you like, then
write exactly ONE tool call, as a JSON object between <tool> and </tool> tags, like this:

<tool>{"name": "segment_phrase", "parameters": {"text_prompt": "umbrella"}}</tool>

Tools:
1. segment_phrase {"text_prompt": "<short noun phrase>"}
   Runs the segmentation model with a short noun phrase naming ONE kind of object ("girl", "red car",
   "umbrella"); it finds every instance of that phrase. It replaces the current masks with the new ones,
   numbered 1..N and drawn on the image in the result. The model understands simple noun phrases, not
   relations: for "the girl holding the umbrella" ask for "girl", then pick the right one. Each text
   prompt may be used only once; if the masks are wrong, try a different phrase (a synonym, a more
   general or more specific noun).
2. examine_each_mask {}
   Checks every current mask separately (a closer look at each one against the query) and removes the
   masks that do not match; the remaining masks are renumbered 1..K.
3. select_masks_and_return {"final_answer_masks": [1, 3]}
   Ends the task with the listed current masks (1-based numbers as last shown) as the answer.
4. report_no_mask {}
   Ends the task saying that nothing in the image matches the query.

Rules: your first tool call must be segment_phrase or report_no_mask. Use the mask numbers of the most
recent result only. Select only masks that match the whole query; when several instances exist and
the query names one of them (by position, action, colour...), select just that one. The number of turns
is limited, so end with select_masks_and_return or report_no_mask once you are sure."""

CHECKER_PROMPT = """\
You check one candidate mask produced by a segmentation model for a user's query.
You see the whole image with the candidate mask tinted and outlined, then a zoomed crop around it.
Decide whether the masked region is (one instance of) what the query describes. Answer with a short
reason, then exactly one verdict: <verdict>Accept</verdict> or <verdict>Reject</verdict>."""

FORMAT_REMINDER = (
    "Reply with exactly one tool call, for example "
    '<tool>{"name": "segment_phrase", "parameters": {"text_prompt": "girl"}}</tool>.'
)


def tool_result(payload: dict, prose: str) -> str:
    """Text of a successful tool result: the JSON payload between tags, then prose for the model."""
    return f"<tool_result>{json.dumps(payload)}</tool_result>\n{prose}"


def tool_error(message: str) -> str:
    """Text of a failed call, fed back so the model can correct itself."""
    return f"<tool_error>{message}</tool_error>\n{FORMAT_REMINDER}"


def user_query(query: str) -> str:
    return f"Query: {query}\nFind the object(s) the query describes in the image above."


def checker_question(query: str, index: int, count: int, info: dict) -> str:
    """The checker's question for mask `index` of `count`; `info` (segmenter scores) as JSON between tags."""
    return (
        f"Query: {query}\nCandidate mask {index} of {count}. Segmentation model's own estimate: "
        f"<mask_info>{json.dumps(info)}</mask_info>\nIs the masked region what the query describes?"
    )
