"""The generate-verify-refine loop (SAM 3's agent): a multimodal model drives a segmenter through tools.

Each turn the model writes one `<tool>{"name": ..., "parameters": {...}}</tool>` call in plain text:
- segment_phrase {"text_prompt"}: the segmenter's instances of a noun phrase become the current masks;
- examine_each_mask: a checker prompt sees each mask (overlay + zoomed crop) and accepts or rejects it;
- select_masks_and_return {"final_answer_masks": [ids]} / report_no_mask: the answer.
Mistakes (no call, bad JSON, unknown tool, reused prompt, bad ids) come back as tool errors so the model
can correct itself; every reply counts against `max_generations`, after which the run ends with status
"max_generations" and no masks. Every step is logged in a JSON transcript (images as placeholders).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from segcorr.agent import prompts as P
from segcorr.agent.messages import ChatModel, ImagePart, Message, to_transcript
from segcorr.agent.protocol import ToolCall, ToolCallError, parse_tool_call, parse_verdict
from segcorr.agent.render import fit_side, mask_box, numbered_overlay, zoomed_crop
from segcorr.segment.base import Prompts, Segmenter
from segcorr.viz.overlay import overlay_masks


@dataclass(frozen=True)
class AgentConfig:
    """max_generations: replies of the main model (errors included); max_masks: instances kept per
    segment_phrase call (highest scores first); image_side / crop_side: longer side of the pictures sent."""

    max_generations: int = 16
    max_masks: int = 16
    image_side: int = 768
    crop_side: int = 384

    def __post_init__(self) -> None:
        for name in ("max_generations", "max_masks", "image_side", "crop_side"):
            if getattr(self, name) < 1:
                raise ValueError(f"AgentConfig.{name} must be >= 1, found {getattr(self, name)}")


@dataclass
class AgentMask:
    """One answer mask: mask bool [H, W]; score, iou_pred and presence as the segmenter gave them."""

    mask: np.ndarray
    score: float
    iou_pred: float | None
    box: list[float]
    prompt: str
    presence: float | None


@dataclass
class AgentResult:
    """status: "selected" (masks chosen), "no_mask" (nothing matches) or "max_generations" (no answer)."""

    status: str
    masks: list[AgentMask]
    presence: float | None
    generations: int
    transcript: dict


@dataclass
class _Run:
    """State of one run; bounded by the config (masks <= max_masks, steps <= max_generations)."""

    image: np.ndarray
    query: str
    messages: list[Message]
    masks: list[AgentMask] = field(default_factory=list)
    presence: float | None = None
    used_prompts: list[str] = field(default_factory=list)
    started: bool = False
    steps: list[dict] = field(default_factory=list)


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


def _opt_float(values, i: int) -> float | None:
    return None if values is None else float(np.asarray(values)[i])


class Agent:
    """The loop around one segmenter and one chat model (the checker defaults to the same model)."""

    def __init__(
        self,
        segmenter: Segmenter,
        model: ChatModel,
        checker: ChatModel | None = None,
        config: AgentConfig = AgentConfig(),
    ) -> None:
        self.segmenter = segmenter
        self.model = model
        self.checker = checker if checker is not None else model
        self.config = config

    def run(self, image: np.ndarray, query: str) -> AgentResult:
        """image: uint8 [H, W, 3] RGB; query: what to find. Returns the masks the model chose (full size)."""
        if not query.strip():
            raise ValueError("the query is empty")
        first = Message.of("user", ImagePart.from_array(fit_side(image, self.config.image_side)), P.user_query(query))
        run = _Run(image=image, query=query, messages=[Message.of("system", P.SYSTEM_PROMPT), first])
        for generation in range(1, self.config.max_generations + 1):
            reply = self.model.complete(run.messages)
            run.messages.append(Message.of("assistant", reply))
            step: dict = {"generation": generation, "reply": reply}
            run.steps.append(step)
            try:
                call = parse_tool_call(reply)
                step["call"] = {"name": call.name, "parameters": call.parameters}
                outcome = self._execute(run, call, step)
            except ToolCallError as e:
                step["error"] = str(e)
                run.messages.append(Message.of("user", P.tool_error(str(e))))
                continue
            if isinstance(outcome, AgentResult):
                return outcome
            run.messages.append(outcome)
        return self._finish(run, "max_generations", [])

    # ------------------------------------------------------------------------------------------ tools
    def _execute(self, run: _Run, call: ToolCall, step: dict) -> Message | AgentResult:
        if not run.started and call.name not in ("segment_phrase", "report_no_mask"):
            raise ToolCallError(f"{call.name} cannot come first: start with segment_phrase (or report_no_mask)")
        run.started = True
        if call.name == "segment_phrase":
            return self._segment_phrase(run, call.parameters["text_prompt"].strip(), step)
        if call.name == "examine_each_mask":
            return self._examine(run, step)
        if call.name == "select_masks_and_return":
            return self._select(run, call.parameters["final_answer_masks"], step)
        step["result"] = {"status": "no_mask"}
        return self._finish(run, "no_mask", [])

    def _segment_phrase(self, run: _Run, phrase: str, step: dict) -> Message:
        if _norm(phrase) in run.used_prompts:
            raise ToolCallError(
                f"the text prompt {phrase!r} was already used; each text prompt may be used only "
                "once: try a different phrase, or examine / select / report_no_mask"
            )
        run.used_prompts.append(_norm(phrase))
        answer = self.segmenter.segment(run.image, Prompts(text=[phrase]))
        masks = np.asarray(answer.masks, bool).reshape(-1, *run.image.shape[:2])
        scores = np.asarray(answer.scores, np.float64).reshape(-1)
        keep = [i for i in np.argsort(-scores, kind="stable") if masks[i].any()][: self.config.max_masks]
        presence = None if answer.presence is None else float(answer.presence)
        run.presence = presence
        run.masks = [
            AgentMask(
                mask=masks[i],
                score=float(scores[i]),
                iou_pred=_opt_float(answer.iou_pred, i),
                box=(mask_box(masks[i]) if answer.boxes is None else [float(v) for v in np.asarray(answer.boxes)[i]]),
                prompt=phrase,
                presence=presence,
            )
            for i in keep
        ]
        payload = {
            "tool": "segment_phrase",
            "text_prompt": phrase,
            "presence": presence,
            "masks": self._describe(run.masks),
        }
        step["result"] = payload
        n = len(run.masks)
        if n == 0:
            return Message.of(
                "user",
                P.tool_result(
                    payload,
                    f'No masks found for "{phrase}". Try a different '
                    "phrase, or call report_no_mask if nothing matches the query.",
                ),
            )
        prose = (
            f'{n} mask(s) found for "{phrase}", drawn on the image below with their numbers 1..{n}. '
            "Check them against the query: examine_each_mask, select_masks_and_return, or try another "
            "phrase."
        )
        return Message.of("user", P.tool_result(payload, prose), self._overlay(run))

    def _examine(self, run: _Run, step: dict) -> Message:
        if not run.masks:
            raise ToolCallError("there are no current masks to examine; call segment_phrase with a new phrase first")
        side, n = self.config.image_side, len(run.masks)
        checks, kept = [], []
        for i, m in enumerate(run.masks, start=1):
            info = {
                "score": round(m.score, 4),
                "presence": None if m.presence is None else round(m.presence, 4),
                "iou_pred": None if m.iou_pred is None else round(m.iou_pred, 4),
            }
            question = Message.of(
                "user",
                ImagePart.from_array(fit_side(overlay_masks(run.image, m.mask), side)),
                ImagePart.from_array(zoomed_crop(run.image, m.mask, self.config.crop_side)),
                P.checker_question(run.query, i, n, info),
            )
            reply = self.checker.complete([Message.of("system", P.CHECKER_PROMPT), question])
            verdict = parse_verdict(reply)
            checks.append(
                {
                    "mask": i,
                    "reply": reply,
                    "verdict": {True: "Accept", False: "Reject", None: "none (rejected)"}[verdict],
                }
            )
            if verdict:
                kept.append((i, m))
        run.masks = [m for _, m in kept]
        payload = {
            "tool": "examine_each_mask",
            "verdicts": [{"mask": c["mask"], "verdict": c["verdict"]} for c in checks],
            "masks": self._describe(run.masks, was=[i for i, _ in kept]),
        }
        step["result"] = payload
        step["checks"] = checks
        if not run.masks:
            return Message.of(
                "user",
                P.tool_result(
                    payload,
                    "Every mask was rejected. Try a different phrase, or "
                    "call report_no_mask if nothing matches the query.",
                ),
            )
        k = len(run.masks)
        prose = (
            f"{k} of {n} mask(s) accepted, renumbered 1..{k} on the image below. Select the ones that "
            "answer the query with select_masks_and_return, or try another phrase."
        )
        return Message.of("user", P.tool_result(payload, prose), self._overlay(run))

    def _select(self, run: _Run, ids: list[int], step: dict) -> AgentResult:
        n = len(run.masks)
        if n == 0:
            raise ToolCallError("there are no current masks to select; call segment_phrase or report_no_mask")
        bad = [i for i in ids if not 1 <= i <= n]
        if not ids or bad or len(set(ids)) != len(ids):
            found = "an empty list" if not ids else (f"{bad}" if bad else "repeated numbers")
            raise ToolCallError(
                f"final_answer_masks must list distinct mask numbers from 1 to {n}, found {found}; "
                "use report_no_mask if none matches"
            )
        step["result"] = {"status": "selected", "masks": ids}
        return self._finish(run, "selected", [run.masks[i - 1] for i in ids])

    # ---------------------------------------------------------------------------------------- helpers
    def _overlay(self, run: _Run) -> ImagePart:
        stack = np.stack([m.mask for m in run.masks])
        return ImagePart.from_array(numbered_overlay(run.image, stack, self.config.image_side))

    @staticmethod
    def _describe(masks: Sequence[AgentMask], was: Sequence[int] | None = None) -> list[dict]:
        total = float(masks[0].mask.size) if masks else 1.0
        out = []
        for k, m in enumerate(masks):
            d = {
                "id": k + 1,
                "score": round(m.score, 4),
                "box": [round(v, 1) for v in m.box],
                "area_fraction": round(float(m.mask.sum()) / total, 5),
            }
            if was is not None:
                d["was"] = was[k]
            out.append(d)
        return out

    def _finish(self, run: _Run, status: str, masks: list[AgentMask]) -> AgentResult:
        h, w = run.image.shape[:2]
        transcript = {
            "query": run.query,
            "image": f"<image {w}x{h}>",
            "status": status,
            "generations": len(run.steps),
            "config": asdict(self.config),
            "model": self.model.describe(),
            "checker": self.checker.describe(),
            "steps": run.steps,
            "messages": to_transcript(run.messages),
        }
        return AgentResult(
            status=status, masks=masks, presence=run.presence, generations=len(run.steps), transcript=transcript
        )
