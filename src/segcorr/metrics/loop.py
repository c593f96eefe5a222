"""What the flow and matching evaluation loops share: how many items, the progress bar, the head of the metrics
dict."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any


def item_count(dataset: Any, limit: int | None) -> int:
    """How many items to evaluate: all of `dataset`, or its first `limit`."""
    return len(dataset) if limit is None else min(int(limit), len(dataset))


@contextmanager
def progress_bar(label: str, total: int, enabled: bool, eta: bool = False) -> Iterator[Callable[[], None]]:
    """A transient rich progress bar on stderr (hidden when not `enabled`); yields ``advance()``, one item done.

    eta: also show the estimated time remaining."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    columns = [TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn()]
    if eta:
        columns.append(TimeRemainingColumn())
    console = Console(stderr=True)
    # off when stderr is not a terminal (a pipe, a log file): there it would only leave a blank line behind
    with Progress(*columns, console=console, disable=not enabled or not console.is_terminal, transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda: bar.advance(task)


def result_head(method: str, data_name: str | None, dataset: Any, count: int, method_s: float) -> dict[str, Any]:
    """The keys every metrics dict starts with: ``method``, ``data`` (`data_name`, else the dataset's ``root``,
    else ""), ``count`` and ``ms_per_item`` (mean of `method_s` over `count` items in ms; None when count is 0)."""
    return {
        "method": method,
        "data": data_name if data_name is not None else str(getattr(dataset, "root", "")),
        "count": count,
        "ms_per_item": (1000.0 * method_s / count) if count else None,
    }
