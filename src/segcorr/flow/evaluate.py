"""Evaluate a flow method on a flow set: one protocol for classical and learned methods.

A method is ``method_fn(img0, img1, sample) -> flow float32 [2, H, W]`` (img0/img1 uint8 [H, W, 3] RGB;
``sample`` is the ``FlowSample`` so segment-aware methods can use its ``seg0`` / ``seg1``).
The result is one flat dict with the DESIGN metric keys: ``method``, ``data``, ``count``, ``ms_per_item``
(mean wall time of ``method_fn`` alone, ms) and the flow keys of ``segcorr.metrics.flow.FLOW_KEYS``.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from segcorr.errors import InputError
from segcorr.metrics.flow import FLOW_KEYS, FlowMetricAccumulator

MethodFn = Callable[[np.ndarray, np.ndarray, Any], np.ndarray]


def classical_method(name: str) -> MethodFn:
    """A classical OpenCV method (``segcorr.flow.classical.METHODS``) as a ``method_fn``."""
    from segcorr.flow.classical import METHODS, estimate_flow

    if name not in METHODS:
        raise InputError(f"unknown classical flow method {name!r}; known: {', '.join(METHODS)}")

    def fn(img0: np.ndarray, img1: np.ndarray, sample: Any = None) -> np.ndarray:
        return estimate_flow(img0, img1, name)

    return fn


def evaluate_flow(
    dataset: Any,
    method_fn: MethodFn,
    method_name: str,
    data_name: str | None = None,
    progress: bool = True,
    limit: int | None = None,
) -> dict[str, Any]:
    """Run ``method_fn`` on every pair (or the first ``limit``) and return the metrics dict.

    Arguments:
        dataset: a ``FlowDataset`` (``len`` and ``__getitem__`` -> ``FlowSample``).
        method_fn: ``(img0, img1, sample) -> flow [2, H, W]``.
        method_name, data_name: recorded as ``method`` / ``data`` (data defaults to the dataset root).
        progress: show a rich progress bar on stderr.
        limit: evaluate only the first ``limit`` pairs.
    """
    from segcorr.metrics.loop import item_count, progress_bar, result_head

    n = item_count(dataset, limit)
    acc = FlowMetricAccumulator()
    method_s = 0.0
    with progress_bar(f"flow {method_name}", n, progress, eta=True) as advance:
        for i in range(n):
            s = dataset[i]
            t0 = time.perf_counter()
            pred = method_fn(s.img0, s.img1, s)
            method_s += time.perf_counter() - t0
            pred = np.asarray(pred)
            if pred.shape != s.flow.shape:
                raise ValueError(
                    f"method {method_name!r} returned flow of shape {pred.shape} for pair {s.name}, "
                    f"expected {s.flow.shape} ([2, H, W])"
                )
            acc.update(pred, s.flow, s.valid, s.occ, s.line)
            advance()
    result = result_head(method_name, data_name, dataset, n, method_s)
    result.update(acc.result())
    return result


def _cell(key: str, value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if key == "count":
        return str(int(value))
    if key == "ms_per_item":
        return f"{value:.1f}"
    if isinstance(value, (int, float, np.floating, np.integer)):
        return f"{value:.3f}"
    return str(value)


def format_table(results: Sequence[dict[str, Any]]) -> str:
    """Plain-text table: one column per method, one row per metric (count, ms_per_item, then flow keys).

    Outlier rates ``px*`` are shares (0..1) of pixels with EPE above the threshold; lower is better everywhere.
    """
    if not results:
        return "(no results)"
    keys = ["count", "ms_per_item", *FLOW_KEYS]
    header = ["metric", *(str(r.get("method", "?")) for r in results)]
    rows = [[k, *(_cell(k, r.get(k)) for r in results)] for k in keys]
    widths = [max(len(row[c]) for row in [header, *rows]) for c in range(len(header))]

    def line(row: list[str]) -> str:
        return "  ".join(cell.ljust(w) if c == 0 else cell.rjust(w) for c, (cell, w) in enumerate(zip(row, widths)))

    data = sorted({str(r.get("data", "")) for r in results})
    out = [f"data: {', '.join(data)}"] if any(data) else []
    out += [line(header), "  ".join("-" * w for w in widths), *(line(r) for r in rows)]
    return "\n".join(out)


def _jsonable(v: Any) -> Any:
    if isinstance(v, (np.floating, float)):
        f = float(v)
        return None if math.isnan(f) or math.isinf(f) else f
    if isinstance(v, np.integer):
        return int(v)
    return v


def jsonable_metrics(result: dict[str, Any]) -> dict[str, Any]:
    """The metrics dict with NumPy scalars as Python numbers and NaN/inf as None (JSON null)."""
    return {k: _jsonable(v) for k, v in result.items()}


def write_metrics_json(path: str | Path, result: dict[str, Any]) -> None:
    """Write the metrics dict as one JSON object (atomic; NaN/inf become null)."""
    from segcorr.io.atomic import atomic_write_text

    atomic_write_text(path, json.dumps(jsonable_metrics(result), indent=1) + "\n")
