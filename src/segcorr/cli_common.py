"""Helpers shared by the command modules (`segcorr.cli*`): input checks that raise `InputError`, number
lists, and the metrics table/JSON writer."""

from __future__ import annotations

import json
from pathlib import Path

from segcorr.errors import InputError


def _need_file(path: Path, what: str = "file") -> Path:
    if not path.exists():
        raise InputError(f"{what} not found", path)
    if not path.is_file():
        raise InputError(f"expected a {what}, found a directory", path)
    return path


def _need_dir(path: Path) -> Path:
    if not path.exists():
        raise InputError("directory not found", path)
    if not path.is_dir():
        raise InputError("expected a directory, found a file", path)
    return path


def _need_out(path: Path, folder: bool = False) -> Path:
    """Fail before any work when ``path`` cannot take an output: a folder where a file is wanted (``folder``
    False) or a file where a folder is wanted, or a file standing where one of its parent folders must go."""
    if path.exists() and path.is_dir() != folder:
        found = "expected an output folder, found a file" if folder else "expected a file, found a folder"
        raise InputError(found, path)
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise InputError("cannot write below it: a file stands where a folder must go", parent)
            break
    return path


def _parse_floats(text: str, n: int, what: str) -> list[float]:
    parts = text.split(",")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        values = []
    if len(values) != n:
        raise InputError(f"{what} must be {n} comma-separated numbers, got {text!r}")
    return values


def _print_metrics(result: dict, json_out: Path | None) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{result.get('method')} on {result.get('data')} ({result.get('count')} items)")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in result.items():
        if key in ("method", "data"):
            continue
        table.add_row(key, "—" if value is None else (f"{value:.4f}" if isinstance(value, float) else str(value)))
    Console().print(table)
    if json_out is not None:
        from segcorr.io.atomic import atomic_write_text

        atomic_write_text(json_out, json.dumps(result, indent=2) + "\n")
