"""The memory fallback: levels by prominence under a budget in MB or "auto", and after failed allocations."""

from __future__ import annotations

import numpy as np
import pytest

from segcorr.errors import InputError
from segcorr.layering import IsolationConfig, isolate_page
from segcorr.layering.budget import budget_bytes, estimate_bytes, fallback_levels, parse_budget
from segcorr.segment.base import Masks

H, W = 60, 80
PAGE = np.full((H, W), 255, np.uint8)
PANELS = [[0, 0, 80, 60]]
# prominence 1, .8, .5, .1, .05
BOXES = [[0, 0, 40, 50], [40, 0, 80, 40], [0, 0, 20, 50], [60, 40, 70, 60], [70, 50, 80, 60]]
CHARS = [{"id": i, "body_box": b} for i, b in enumerate(BOXES)]


def _mask(box) -> np.ndarray:
    m = np.zeros((H, W), bool)
    m[box[1] : box[3], box[0] : box[2]] = True
    m[box[1], box[0]] = False  # a segmented mask differs from its box
    return m


class Counting:
    """Answers box prompts with the masks of the boxes it is asked for; fails to allocate above `limit` boxes."""

    name = "counting"

    def __init__(self, limit: int | None = None, error: type = MemoryError):
        self.limit, self.error, self.asked = limit, error, []

    def segment(self, image, prompts):
        n = len(prompts.boxes)
        self.asked.append(n)
        if self.limit is not None and n > self.limit:
            raise self.error("CUDA out of memory. Tried to allocate 2.00 GiB")
        ms = np.stack([_mask([int(v) for v in b]) for b in prompts.boxes])
        return Masks(masks=ms, scores=np.ones(n, np.float32))


def _run(budget, seg=None):
    seg = seg or Counting()
    res = isolate_page(PAGE, CHARS, seg, IsolationConfig(memory_budget_mb=budget), panels=PANELS)
    boxed = sorted(cid for cid, s in res.sources.items() if s == "box:budget")
    return seg.asked, boxed, res


def test_levels_follow_prominence() -> None:
    assert fallback_levels(CHARS, 0.3, 2) == [[0, 1, 2, 3, 4], [0, 1, 2], [0, 1], []]
    assert fallback_levels(CHARS, 0.9, 2)[1:3] == [[0], [0]]  # level 2 never segments more than level 1


def test_budget_escalates_level_by_level() -> None:
    full = estimate_bytes((H, W), 5, 5, False)
    assert estimate_bytes((H, W), 3, 5, False) < full
    mb = 2**20
    assert _run(None)[:2] == ([5], [])
    assert _run(full / mb)[:2] == ([5], [])  # fits exactly
    assert _run(estimate_bytes((H, W), 3, 5, False) / mb)[:2] == ([3], [3, 4])  # level 1: prominence < 0.3 boxed
    asked, boxed, res = _run(estimate_bytes((H, W), 2, 5, False) / mb)
    assert (asked, boxed) == ([2], [2, 3, 4])  # level 2: the top two only
    assert not res.masks[0][0, 0] and res.masks[2][0, 0]  # segmented vs box mask
    assert _run(1e-9)[:2] == ([2], [2, 3, 4])  # still over budget: the top two stay segmented


def test_failed_allocation_escalates_without_a_budget() -> None:
    asked, boxed, res = _run(None, Counting(limit=2))
    assert asked == [5, 3, 2] and boxed == [2, 3, 4] and res.sources[0] == "segmenter"
    asked, boxed, _ = _run(None, Counting(limit=2, error=RuntimeError))  # torch's OOM is a RuntimeError
    assert asked == [5, 3, 2] and boxed == [2, 3, 4]
    asked, boxed, _ = _run(None, Counting(limit=0))
    assert asked == [5, 3, 2] and boxed == [0, 1, 2, 3, 4]  # the last level: every character gets its box


def test_other_segmenter_errors_are_not_swallowed() -> None:
    class Broken(Counting):
        def segment(self, image, prompts):
            raise RuntimeError("shape mismatch")

    with pytest.raises(RuntimeError, match="shape mismatch"):
        _run(None, Broken())


def test_auto_budget_reads_free_memory() -> None:
    assert parse_budget("auto") == "auto" and parse_budget("12.5") == 12.5 and parse_budget(None) is None
    free = budget_bytes("auto")
    assert free is not None and free > estimate_bytes((H, W), 5, 5, True)
    assert _run("auto")[:2] == ([5], [])
    for bad in ("-1", "0", "lots", "nan"):
        with pytest.raises(InputError, match="memory budget"):
            parse_budget(bad)
