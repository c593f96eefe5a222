"""Evaluate a segmenter on a segmentation set: one protocol for every backend (flat, sam2, builtin).

Prompts (``EvalProtocol`` holds every number of the protocol):
- point: for each ground-truth segment of at least ``min_area`` px, one positive click at its innermost
  pixel (the maximum of the distance to the segment's boundary; image borders count as boundary), one
  ``segment`` call per segment; the first mask of the answer is scored (an empty answer scores IoU 0);
- box: the same segments, each the segment's tight box as ``(x0, y0, x1 + 1, y1 + 1)`` where x0..x1 and
  y0..y1 are its first and last pixel columns and rows (pixel c covers [c, c + 1): the box's edges lie on
  the segment's outer pixel edges, as COCO's ``toBbox``);
- text: every phrase present in the image (``data.concepts.scene_queries``, instances of at least
  ``min_instance_pixels`` px) and ``negatives`` absent phrases of ``VOCABULARY``, a share
  ``hard_negative_frac`` of them keeping a present noun with another attribute, drawn with the seed = the
  image's index in the set; one ``segment(image, Prompts(text=[phrase]))`` call per phrase.

Metrics (the DESIGN keys; a key not measured is None):
- ``miou_point``, ``miou_box``: mean IoU over all prompted segments of all images;
- ``cf1``: instance F1 at IoU >= ``iou_threshold`` over all queries (all exhaustive), predictions with
  score >= ``score_threshold``, one-to-one matching that maximises the pairs (``metrics.masks``), counts
  summed over queries; false positives on negative phrases count;
- ``cap``: COCO mask AP (IoU 0.50:0.95) with each query an image of one category, all predictions ranked by
  their scores (a backend with a presence head folds the presence into its scores);
- ``il_mcc``: Matthews correlation of ``presence >= presence_threshold`` against "the phrase is present",
  over all queries (a backend without presence: the best mask score, 0 with no mask);
- ``ms_per_item``: mean wall time of all ``segment`` calls on one image; ``ms_per_prompt``: mean wall time
  of the calls after the first one on each image (the image embedding of a caching backend excluded); one
  untimed warm-up call per prompt kind on the first image comes before (start-up costs are not an image's time);
- ``segments`` (point/box prompts per kind) and ``queries`` (text) count what was measured.
With text, ``attribute_table`` adds, per noun with colour attributes, the mean presence for the right
colour and for wrong colours of a noun that is in the image (hard negatives).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from segcorr.errors import InputError
from segcorr.metrics.masks import CocoMaskAP, f1_score, instance_counts, mask_iou, matthews_corrcoef
from segcorr.segment.base import Masks, Prompts

PROMPTS = ("point", "box", "text", "all")
SEGMENT_KEYS = ("miou_point", "miou_box", "cf1", "cap", "il_mcc", "ms_per_item", "ms_per_prompt")


@dataclass(frozen=True)
class EvalProtocol:
    min_area: int = 64  # segments smaller than this get no point or box prompt (px)
    negatives: int = 16  # absent phrases asked per image
    hard_negative_frac: float = 0.5  # share of them that keep a present noun ("blue hair" beside red hair)
    min_instance_pixels: int = 16  # instances of a phrase smaller than this are left out of its answer
    iou_threshold: float = 0.5  # cf1: a prediction matches an instance at this IoU
    score_threshold: float = 0.5  # cf1: predictions kept
    presence_threshold: float = 0.5  # il_mcc: the model says "present"


@dataclass(frozen=True)
class TextAnswer:
    """One text query's outcome: image index, phrase, whether it is present, the presence the model gave."""

    image: int
    text: str
    positive: bool
    presence: float


def innermost_point(mask: np.ndarray) -> tuple[float, float]:
    """(x, y) of the pixel of bool [H, W] ``mask`` farthest from its boundary (image borders are boundary;
    ties: the first in raster order)."""
    import cv2

    padded = np.pad(np.asarray(mask, np.uint8), 1)
    dist = cv2.distanceTransform(padded, cv2.DIST_L2, 5)[1:-1, 1:-1]
    y, x = np.unravel_index(int(np.argmax(dist)), dist.shape)
    return float(x), float(y)


def tight_box(mask: np.ndarray) -> np.ndarray:
    """float [4] (x0, y0, x1 + 1, y1 + 1) of a non-empty bool [H, W] mask (see the module docstring)."""
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    return np.array([cols[0], rows[0], cols[-1] + 1, rows[-1] + 1], np.float32)


def prompt_segments(seg: np.ndarray, min_area: int) -> list[np.ndarray]:
    """bool [H, W] masks of the segments (ids > 0) of label map ``seg`` with at least ``min_area`` px."""
    counts = np.bincount(seg.ravel())
    return [seg == i for i in np.flatnonzero(counts >= min_area) if i > 0]


def text_queries(sample: Any, index: int, protocol: EvalProtocol) -> list:
    """The ``FindQuery`` list of one sample: all present phrases, then the negatives (seed = ``index``)."""
    from segcorr.data.concepts import VOCABULARY, find_queries

    return find_queries(
        sample.seg,
        sample.inst,
        sample.concepts,
        sample.instance_concepts,
        np.random.default_rng(index),
        n_pos=len(VOCABULARY),
        n_neg=protocol.negatives,
        hard_negative_frac=protocol.hard_negative_frac,
        min_pixels=protocol.min_instance_pixels,
    )


def attribute_table(answers: Sequence[TextAnswer]) -> dict[str, dict[str, float | int | None]]:
    """Per noun with colour attributes: mean presence for the right colour ("right", from present phrases)
    and for wrong colours of a noun that is in the image ("wrong"), with their counts."""
    from segcorr.data.concepts import COLOR_WORDS

    present = {(a.image, a.text) for a in answers if a.positive}
    cells: dict[str, dict[str, list[float]]] = {}
    for a in answers:
        attr, _, noun = a.text.partition(" ")
        if attr not in COLOR_WORDS or not noun:
            continue
        if a.positive:
            cells.setdefault(noun, {"right": [], "wrong": []})["right"].append(a.presence)
        elif (a.image, noun) in present:
            cells.setdefault(noun, {"right": [], "wrong": []})["wrong"].append(a.presence)
    return {
        noun: {
            "right": float(np.mean(c["right"])) if c["right"] else None,
            "n_right": len(c["right"]),
            "wrong": float(np.mean(c["wrong"])) if c["wrong"] else None,
            "n_wrong": len(c["wrong"]),
        }
        for noun, c in sorted(cells.items())
    }


def _checked(out: Masks, shape: tuple[int, int], what: str) -> Masks:
    m = np.asarray(out.masks)
    if m.ndim != 3 or tuple(m.shape[1:]) != shape or len(np.asarray(out.scores).reshape(-1)) != m.shape[0]:
        raise ValueError(
            f"the segmenter answered a {what} prompt with masks {list(m.shape)} and "
            f"{len(np.asarray(out.scores).reshape(-1))} scores; expected [N, {shape[0]}, {shape[1]}] "
            "and N scores"
        )
    return out


class _Accumulator:
    """Sums of one evaluation run (bounded: numbers, a list of IoUs and the COCO RLEs)."""

    def __init__(self) -> None:
        self.iou: dict[str, list[float]] = {"point": [], "box": []}
        self.tp = self.fp = self.fn = 0
        self.coco = CocoMaskAP()
        self.answers: list[TextAnswer] = []
        self.item_ms: list[float] = []
        self.later_ms: list[float] = []


def _run_image(
    segmenter: Any, sample: Any, index: int, kinds: set[str], protocol: EvalProtocol, acc: _Accumulator
) -> bool:
    """Every prompt of one image; returns False when the segmenter refused text (InputError) and text is
    optional (the refused call is not timed)."""
    image, shape = sample.image, sample.seg.shape
    times: list[float] = []

    def call(prompts: Prompts, what: str) -> Masks:
        t0 = time.perf_counter()
        out = segmenter.segment(image, prompts)
        times.append(1000.0 * (time.perf_counter() - t0))
        return _checked(out, shape, what)

    text_ok = True
    for gt in prompt_segments(sample.seg, protocol.min_area) if kinds & {"point", "box"} else []:
        if "point" in kinds:
            out = call(
                Prompts(points=np.array([innermost_point(gt)], np.float32), point_labels=np.ones(1, int)), "point"
            )
            acc.iou["point"].append(mask_iou(out.masks[0], gt) if len(out) else 0.0)
        if "box" in kinds:
            out = call(Prompts(boxes=tight_box(gt)[None]), "box")
            acc.iou["box"].append(mask_iou(out.masks[0], gt) if len(out) else 0.0)
    if "text" in kinds:
        for q in text_queries(sample, index, protocol):
            try:
                out = call(Prompts(text=[q.text]), "text")
            except InputError:
                if "point" in kinds or "box" in kinds:  # --prompt all: text metrics stay None
                    text_ok = False
                    break
                raise
            masks, scores = np.asarray(out.masks, bool), np.asarray(out.scores, np.float64).reshape(-1)
            keep = scores >= protocol.score_threshold
            tp, fp, fn = instance_counts(masks[keep], q.masks, protocol.iou_threshold)
            acc.tp, acc.fp, acc.fn = acc.tp + tp, acc.fp + fp, acc.fn + fn
            acc.coco.add(q.masks, masks, scores)
            presence = out.presence if out.presence is not None else (float(scores.max()) if len(scores) else 0.0)
            acc.answers.append(TextAnswer(index, q.text, q.positive, float(presence)))
    if times:
        acc.item_ms.append(float(sum(times)))
        acc.later_ms.extend(times[1:])
    return text_ok


def _warm_up(segmenter: Any, image: np.ndarray, kinds: set[str]) -> None:
    """One untimed call per prompt kind (lazy imports, allocations, kernel choice), so that the first
    image's time is not a start-up cost. A refusal is left to the timed run to report."""
    h, w = image.shape[:2]
    prompts = {
        "point": Prompts(points=np.array([[w // 2, h // 2]], np.float32), point_labels=np.ones(1, int)),
        "box": Prompts(boxes=np.array([[0, 0, w, h]], np.float32)),
        "text": Prompts(text=["character"]),
    }
    for kind in sorted(kinds):
        with contextlib.suppress(InputError):
            segmenter.segment(image, prompts[kind])


def evaluate_segmenter(
    dataset: Any,
    segmenter: Any,
    prompt: str = "all",
    method_name: str = "",
    data_name: str | None = None,
    protocol: EvalProtocol = EvalProtocol(),
    limit: int | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Run the protocol on every sample (or the first ``limit``) and return the metrics dict.

    Arguments:
        dataset: ``len`` and ``__getitem__`` -> a sample with ``image`` uint8 [H, W, 3], ``seg`` int [H, W],
            ``name`` and, for text, ``inst``, ``concepts``, ``instance_concepts`` and ``has_text``
            (``segment.evalset.SegmentSet``).
        segmenter: ``segment(image, Prompts) -> Masks``.
        prompt: "point", "box", "text" or "all". With "text" a segmenter that refuses text (InputError) or a
            sample without concept names is an error; with "all" they leave the text metrics None.
    Returns a flat dict (``method``, ``data``, ``count``, the SEGMENT_KEYS, ``segments``, ``queries``) plus
    ``attribute_table`` when text was evaluated.
    """
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    if prompt not in PROMPTS:
        raise InputError(f"unknown prompt kind {prompt!r}; expected one of {', '.join(PROMPTS)}")
    kinds = {"point", "box", "text"} if prompt == "all" else {prompt}
    n = len(dataset) if limit is None else min(int(limit), len(dataset))
    acc = _Accumulator()
    text_evaluated = "text" in kinds
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    if n:
        first = dataset[0]
        _warm_up(segmenter, first.image, kinds if first.has_text else kinds - {"text"})
    with Progress(*columns, console=Console(stderr=True), disable=not progress, transient=True) as bar:
        task = bar.add_task(f"segment {method_name} ({prompt})", total=n)
        for i in range(n):
            sample = dataset[i]
            run = _sample_kinds(dataset, sample, kinds, text_evaluated, prompt)
            if run:
                text_evaluated &= _run_image(segmenter, sample, i, run, protocol, acc)
            bar.advance(task)
    text_evaluated &= bool(acc.answers)
    return _result(
        acc,
        method_name,
        data_name if data_name is not None else str(getattr(dataset, "root", "")),
        n,
        kinds,
        text_evaluated,
        protocol,
    )


def _sample_kinds(dataset: Any, sample: Any, kinds: set[str], text_evaluated: bool, prompt: str) -> set[str]:
    """The prompt kinds to run on ``sample``: text only while it is still evaluated and the sample has text
    (a sample without it is an error when ``prompt`` is "text")."""
    run = set(kinds) if text_evaluated else kinds - {"text"}
    if "text" in run and not sample.has_text:
        if prompt == "text":
            raise InputError(
                f"no concept names or instance map for {sample.name} (text prompts need "
                "meta.json concepts and NNNNN_inst0.png)",
                getattr(dataset, "root", None),
            )
        run.discard("text")
    return run


def _result(
    acc: _Accumulator, method: str, data: str, n: int, kinds: set[str], text: bool, protocol: EvalProtocol
) -> dict[str, Any]:
    def mean(values: list[float]) -> float | None:
        return float(np.mean(values)) if values else None

    answers = acc.answers if text else []
    result: dict[str, Any] = {
        "method": method,
        "data": data,
        "count": n,
        "miou_point": mean(acc.iou["point"]) if "point" in kinds else None,
        "miou_box": mean(acc.iou["box"]) if "box" in kinds else None,
        "cf1": f1_score(acc.tp, acc.fp, acc.fn) if text else None,
        "cap": acc.coco.result() if text else None,
        "il_mcc": matthews_corrcoef(
            [a.presence >= protocol.presence_threshold for a in answers], [a.positive for a in answers]
        )
        if text
        else None,
        "ms_per_item": mean(acc.item_ms),
        "ms_per_prompt": mean(acc.later_ms),
        "segments": len(acc.iou["point"]) or len(acc.iou["box"]),
        "queries": len(answers),
    }
    if text:
        result["attribute_table"] = attribute_table(answers)
    return result
