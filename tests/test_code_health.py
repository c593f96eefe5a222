"""Code-health rules that CI enforces on src/: every function stays short enough to read in one screen."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "segcorr"
MAX_LINES = 59  # a function longer than this is split into named steps


def long_functions(root: Path, limit: int) -> list[str]:
    """'path:line name (N lines)' for every function or method (nested ones too) longer than ``limit``."""
    found = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                n = node.end_lineno - node.lineno + 1
                if n > limit:
                    found.append(f"{path.relative_to(root.parent)}:{node.lineno} {node.name} ({n} lines)")
    return found


def test_the_checker_sees_a_long_function(tmp_path):
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_LINES))
    (tmp_path / "m.py").write_text(f"def short():\n    return 1\n\n\ndef long():\n{body}\n")
    assert long_functions(tmp_path, MAX_LINES) == [f"{tmp_path.name}/m.py:5 long ({MAX_LINES + 1} lines)"]


def test_no_function_in_src_is_longer_than_the_limit():
    assert long_functions(SRC, MAX_LINES) == []
