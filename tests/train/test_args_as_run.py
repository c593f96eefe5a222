"""The run's records hold the command without machine paths."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from segcorr.train import train
from segcorr.train.trainer import args_as_run


def test_absolute_paths_become_relative_to_the_working_directory():
    cwd = Path("/w/main")
    argv = ["/w/main/.venv/bin/segcorr", "train", "/w/main/configs/a.yaml", "out=/w/runs", "steps=3", "x=a=b", "rel/p"]
    assert args_as_run(argv, cwd) == ["segcorr", "train", "configs/a.yaml", "out=../runs", "steps=3", "x=a=b", "rel/p"]
    assert args_as_run(["/w/lib/segcorr/__main__.py", "/w/main/a=b.yaml"], cwd) == ["segcorr", "a=b.yaml"]
    assert args_as_run([], cwd) == []


def test_summary_records_the_command_relative_to_where_it_ran(tmp_path, tiny, monkeypatch):
    monkeypatch.chdir(tmp_path)
    overrides = [*tiny, "name=rel", "steps=1", "val.every=0", "log_every=1"]
    monkeypatch.setattr(sys, "argv", [str(tmp_path / "venv" / "bin" / "segcorr"), "train", *overrides])
    run = train(None, overrides)
    summary = json.loads((run / "summary.json").read_text())
    assert summary["argv"][0] == "segcorr" and f"out={tmp_path}" in overrides
    assert "out=." in summary["argv"] and "out=." in summary["command"].split()
    assert str(tmp_path) not in json.dumps(summary["argv"]) + summary["command"]
