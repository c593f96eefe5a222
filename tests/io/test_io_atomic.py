"""Atomic writes: the usual permissions, and nothing half-written or left behind on failure."""

from __future__ import annotations

import json
import os

import pytest

from segcorr.io.atomic import atomic_open, atomic_write_text


def test_written_file_has_umask_permissions(tmp_path):
    atomic_write_text(tmp_path / "a.txt", "hello")
    mask = os.umask(0)
    os.umask(mask)
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o666 & ~mask
    assert (tmp_path / "a.txt").read_text() == "hello"


def test_failure_keeps_old_file_and_leaves_no_temp(tmp_path):
    target = tmp_path / "a.txt"
    atomic_write_text(target, "old")
    with pytest.raises(RuntimeError), atomic_open(target, "wb") as f:
        f.write(b"new but incomplete")
        raise RuntimeError("crash mid-write")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]


def test_print_json_prints_and_writes_the_same_text(tmp_path, capsys):
    from segcorr.io.atomic import print_json

    out = tmp_path / "r.json"
    text = print_json({"a": 1, "b": [1.5, None]}, out)
    assert capsys.readouterr().out == text + "\n"
    assert out.read_text() == text + "\n"
    assert json.loads(text) == {"a": 1, "b": [1.5, None]}
    print_json({"c": 2}, None)  # no path: printed only
    assert json.loads(capsys.readouterr().out) == {"c": 2}
