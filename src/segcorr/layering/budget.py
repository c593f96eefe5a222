"""The memory fallback of the isolation (ADR 004): which characters get full segmentation under a budget.

Levels, tried in order until the estimate fits (or the segmenter stops failing to allocate):
0. every character is segmented;
1. characters of prominence < `prominence_min` get their body box as mask, the others are segmented;
2. only the `keep_top` most prominent of level 1's characters are segmented;
3. (only after a failed allocation at level 2) every character gets its box.
Prominence = body-box area / the page's largest body-box area.

The budget is a number of MB, or "auto": the free memory of the segmenter's device (CUDA's free memory for
a segmenter on a CUDA device, else the system's available memory). A failed allocation inside the
segmenter (MemoryError, a CUDA/CPU "out of memory" RuntimeError) escalates one level and retries, with or
without a budget.
"""

from __future__ import annotations

import os

import numpy as np

from segcorr.errors import InputError

BYTES_PER_PROMPT = 5  # per page pixel: the segmenter's float32 mask logits and its bool answer
BYTES_PER_CHARACTER = 2  # per page pixel: the bool mask in and the isolated mask out
BYTES_SOFT = 4  # per page pixel and character: the float32 soft mask


def parse_budget(text: str | float | None) -> float | str | None:
    """A budget option value: None, a positive number of MB, or "auto". InputError otherwise."""
    if text is None or (isinstance(text, str) and text.strip().lower() == "auto"):
        return None if text is None else "auto"
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise InputError(f'expected a memory budget in MB (a positive number) or "auto", found {text!r}') from None
    if not value > 0 or not np.isfinite(value):
        raise InputError(f'expected a memory budget in MB (a positive number) or "auto", found {text!r}')
    return value


def estimate_bytes(
    shape: tuple[int, int], segmented: int, total: int, soft: bool, per_prompt: int | None = None
) -> int:
    """Working memory of isolating `total` characters of a page of `shape`, `segmented` of them by the segmenter
    (`per_prompt` bytes per pixel each, the segmenter's `bytes_per_prompt` when it states one)."""
    px = int(shape[0]) * int(shape[1])
    per_char = BYTES_PER_CHARACTER + (BYTES_SOFT if soft else 0)
    return px * (segmented * (BYTES_PER_PROMPT if per_prompt is None else per_prompt) + total * per_char)


def _meminfo_available() -> int | None:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


def free_memory_bytes(segmenter=None) -> int | None:
    """Free memory where `segmenter` runs: CUDA's free memory when its `device` is a CUDA device, else the
    system's available memory; None when it cannot be read."""
    device = getattr(segmenter, "device", None)
    if device is not None and str(device).startswith("cuda"):
        import torch

        if torch.cuda.is_available():
            return int(torch.cuda.mem_get_info(torch.device(device))[0])
    return _meminfo_available()


def budget_bytes(budget: float | str | None, segmenter=None) -> int | None:
    """The budget in bytes: MB * 2**20, the free memory for "auto", None for no budget."""
    if budget is None:
        return None
    if budget == "auto":
        return free_memory_bytes(segmenter)
    return int(float(budget) * 2**20)


def prominence(characters: list[dict]) -> np.ndarray:
    """float64 [N]: body-box area / the largest body-box area of the page."""
    areas = np.array(
        [(c["body_box"][2] - c["body_box"][0]) * (c["body_box"][3] - c["body_box"][1]) for c in characters], np.float64
    )
    return areas / max(float(areas.max()), 1e-9) if len(areas) else areas


def fallback_levels(characters: list[dict], prominence_min: float, keep_top: int) -> list[list[int]]:
    """Indices of the characters segmented at levels 0, 1, 2, 3 (see the module docstring); each a subset of the
    one before, in input order."""
    prom = prominence(characters)
    everyone = list(range(len(characters)))
    level1 = [i for i in everyone if prom[i] >= prominence_min]
    ranked = sorted(level1, key=lambda i: -prom[i])  # stable: input order among equals
    top = set(ranked[:keep_top])
    return [everyone, level1, [i for i in level1 if i in top], []]


def first_level(
    levels: list[list[int]],
    shape: tuple[int, int],
    limit: int | None,
    soft: bool,
    per_prompt: int | None = None,
) -> int:
    """The first level whose estimate fits `limit` bytes (0 without a limit); never the last (all boxes), which
    only a failed allocation reaches: the record keeps the top characters segmented."""
    if limit is None:
        return 0
    total = len(levels[0])
    for k, need in enumerate(levels[:-1]):
        if estimate_bytes(shape, len(need), total, soft, per_prompt) <= limit:
            return k
    return len(levels) - 2


def is_out_of_memory(error: BaseException) -> bool:
    """A failed allocation: MemoryError, or a RuntimeError saying "out of memory" (torch's CUDA and CPU OOM)."""
    return isinstance(error, MemoryError) or (isinstance(error, RuntimeError) and "out of memory" in str(error).lower())
