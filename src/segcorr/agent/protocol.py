"""Parsing the model's replies: one `<tool>{json}</tool>` call per reply, `<verdict>...</verdict>` per check.

Pure functions; every failure is a `ToolCallError` whose message is fed back to the model verbatim.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

TOOLS = ("segment_phrase", "examine_each_mask", "select_masks_and_return", "report_no_mask")

_TOOL_RE = re.compile(r"<tool>(.*?)</tool>", re.DOTALL | re.IGNORECASE)
_VERDICT_RE = re.compile(r"<verdict>\s*(accept|reject)\s*</verdict>", re.IGNORECASE)
_FENCE_RE = re.compile(r"^```(?:json)?\s*(.*?)\s*```$", re.DOTALL)


class ToolCallError(ValueError):
    """A reply that is not one well-formed call of a known tool with valid parameters."""


@dataclass(frozen=True)
class ToolCall:
    name: str
    parameters: dict = field(default_factory=dict)


def parse_tool_call(reply: str) -> ToolCall:
    """The single tool call in `reply`. Raises ToolCallError (no tag, several tags, bad JSON, unknown tool,
    parameters of the wrong type)."""
    bodies = _TOOL_RE.findall(reply or "")
    if not bodies:
        raise ToolCallError('no tool call found: write one call as <tool>{"name": ..., "parameters": {...}}</tool>')
    if len(bodies) > 1:
        raise ToolCallError(f"found {len(bodies)} tool calls; write exactly one per reply")
    body = bodies[0].strip()
    fenced = _FENCE_RE.match(body)
    if fenced:  # models like to wrap JSON in a code fence even inside the tags
        body = fenced.group(1)
    try:
        obj = json.loads(body)
    except json.JSONDecodeError as e:
        raise ToolCallError(f"the tool call is not valid JSON ({e.msg} at character {e.pos})") from None
    if not isinstance(obj, dict) or not isinstance(obj.get("name"), str):
        raise ToolCallError('the tool call must be a JSON object with a string "name" and an object "parameters"')
    name = obj["name"]
    if name not in TOOLS:
        raise ToolCallError(f"unknown tool {name!r}; the tools are {', '.join(TOOLS)}")
    params = obj.get("parameters", {})
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise ToolCallError(f'"parameters" must be a JSON object, found {type(params).__name__}')
    _check_parameters(name, params)
    return ToolCall(name=name, parameters=params)


def _check_parameters(name: str, params: dict) -> None:
    if name == "segment_phrase":
        text = params.get("text_prompt")
        if not isinstance(text, str) or not text.strip():
            raise ToolCallError('segment_phrase needs {"text_prompt": "<a non-empty noun phrase>"}')
    elif name == "select_masks_and_return":
        ids = params.get("final_answer_masks")
        if not isinstance(ids, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
            raise ToolCallError('select_masks_and_return needs {"final_answer_masks": [mask numbers, e.g. 1, 2]}')


def parse_verdict(reply: str) -> bool | None:
    """True for Accept, False for Reject, None when the reply holds no verdict (the last one counts)."""
    found = _VERDICT_RE.findall(reply or "")
    return None if not found else found[-1].lower() == "accept"
