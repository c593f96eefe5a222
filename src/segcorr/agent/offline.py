"""A scripted stand-in for the multimodal model, so `segcorr agent` works without a chat server.

It speaks the same protocol as a language model (`complete(messages) -> str` with `<tool>` calls and
`<verdict>` tags) and drives the same loop, reading only the conversation:
- segment_phrase with the query, then (when nothing is kept) with shorter noun-phrase variants of it;
- examine_each_mask, where it plays the checker: Accept when the segmenter's own instance score and
  presence probability (sent in the checker's question) reach the thresholds;
- select_masks_and_return with every accepted mask, or report_no_mask when no variant is left.
It has no state of its own: the next move follows from the messages.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from segcorr.agent.messages import Message
from segcorr.agent.prompts import CHECKER_PROMPT

_DETERMINERS = {
    "the",
    "a",
    "an",
    "this",
    "that",
    "these",
    "those",
    "some",
    "any",
    "all",
    "every",
    "each",
    "my",
    "your",
    "his",
    "her",
    "its",
    "our",
    "their",
    "one",
}
# words that start a relation or a clause: the noun phrase before them names the object
_BREAKS = {
    "with",
    "without",
    "in",
    "on",
    "at",
    "of",
    "from",
    "by",
    "near",
    "behind",
    "beside",
    "under",
    "over",
    "above",
    "below",
    "between",
    "next",
    "to",
    "into",
    "onto",
    "inside",
    "outside",
    "around",
    "who",
    "which",
    "that",
    "whose",
    "where",
    "while",
    "and",
    "or",
    "is",
    "are",
    "was",
    "has",
    "have",
    "left",
    "right",
    "holding",
    "wearing",
    "carrying",
    "riding",
    "sitting",
    "standing",
    "walking",
    "running",
    "looking",
    "playing",
    "eating",
    "using",
    "lying",
    "jumping",
    "flying",
    "facing",
}
_WORD_RE = re.compile(r"[a-z0-9][a-z0-9'\-]*")
_JSON_TAG = {tag: re.compile(rf"<{tag}>(.*?)</{tag}>", re.DOTALL) for tag in ("tool_result", "mask_info", "tool")}


def noun_phrase_variants(query: str) -> list[str]:
    """The query, then shorter noun phrases of it, most specific first, without repeats.

    "the girl holding the umbrella" -> ["the girl holding the umbrella", "girl holding the umbrella", "girl"];
    "a small red car" -> ["a small red car", "small red car", "red car", "car"].
    """
    words = _WORD_RE.findall(query.lower())
    out = [" ".join(query.split())]
    while words and words[0] in _DETERMINERS:
        words = words[1:]
    out.append(" ".join(words))
    cut = next(
        (
            i
            for i, w in enumerate(words)
            if i > 0 and (w in _BREAKS or (w.endswith("ing") and i + 1 < len(words) and words[i + 1] in _DETERMINERS))
        ),
        len(words),
    )
    head = words[:cut]
    for k in range(len(head), 0, -1):  # drop leading modifiers one by one, keeping the head noun last
        out.append(" ".join(head[len(head) - k :]))
    seen, variants = set(), []
    for v in out:
        if v and v.lower() not in seen:
            seen.add(v.lower())
            variants.append(v)
    return variants


def _tagged_json(text: str, tag: str) -> dict | None:
    found = _JSON_TAG[tag].search(text)
    if not found:
        return None
    try:
        obj = json.loads(found.group(1))
    except json.JSONDecodeError:
        return None
    return obj if isinstance(obj, dict) else None


def _call(name: str, **parameters) -> str:
    return f"<tool>{json.dumps({'name': name, 'parameters': parameters})}</tool>"


class OfflineVerifier:
    """Scripted policy and checker. min_score: lowest instance score accepted; min_presence: lowest
    presence probability accepted (ignored when the segmenter gives none)."""

    def __init__(self, min_score: float = 0.5, min_presence: float = 0.5) -> None:
        self.min_score = min_score
        self.min_presence = min_presence

    def describe(self) -> dict:
        return {"kind": "offline", "min_score": self.min_score, "min_presence": self.min_presence}

    def complete(self, messages: Sequence[Message]) -> str:
        if messages and messages[0].role == "system" and messages[0].text == CHECKER_PROMPT:
            return self._check(messages[-1].text)
        return self._next_move(messages)

    def _check(self, question: str) -> str:
        info = _tagged_json(question, "mask_info") or {}
        score, presence = info.get("score"), info.get("presence")
        ok = (
            isinstance(score, (int, float))
            and score >= self.min_score
            and (presence is None or presence >= self.min_presence)
        )
        why = f"instance score {score}, presence {presence}"
        return f"{why}.\n<verdict>{'Accept' if ok else 'Reject'}</verdict>"

    def _next_move(self, messages: Sequence[Message]) -> str:
        query = next((m.text for m in messages if m.role == "user"), "")
        query = query.split("\n", 1)[0].removeprefix("Query:").strip()
        used = set()
        for m in messages:
            if m.role == "assistant":
                call = _tagged_json(m.text, "tool") or {}
                if call.get("name") == "segment_phrase":
                    used.add(str(call.get("parameters", {}).get("text_prompt", "")).lower())
        last = messages[-1]
        result = _tagged_json(last.text, "tool_result") if last.role == "user" else None
        if result and result.get("masks"):
            if result.get("tool") == "segment_phrase":
                return "Masks found; checking each one.\n" + _call("examine_each_mask")
            ids = [m["id"] for m in result["masks"]]
            return "Returning the accepted masks.\n" + _call("select_masks_and_return", final_answer_masks=ids)
        for phrase in noun_phrase_variants(query):
            if phrase.lower() not in used:
                return f"Looking for {phrase!r}.\n" + _call("segment_phrase", text_prompt=phrase)
        return "No phrase found a matching object.\n" + _call("report_no_mask")
