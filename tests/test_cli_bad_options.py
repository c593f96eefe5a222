"""The exit-2 contract for every command: each option of each command and sub-command, given a bad value,
ends in one line on stderr and exit code 2, with nothing written to the output path.

The cases are generated from the typer app, so a new command or option is covered without editing this file.
Required parameters are filled with a small real image (arguments), an existing empty folder (``--data``)
and a fresh output path (``--out``); the option under test gets a value of the wrong kind: text for numbers,
an unknown name for choices and free-text names, a path below an existing file for paths.
"""

from __future__ import annotations

import numpy as np
import pytest
import typer.main

from segcorr.cli import app, main
from segcorr.io.image import write_image

# free-text options where any string is a valid value (a phrase, a query, a model name on a server, a URL)
FREE_TEXT = {
    "text",
    "query",
    "model",
    "base_url",
    "api_key_env",
    "name",
    "prompt_text",
    "point",
    "box",
    "neg_point",
    "estimate",
    "k0",
    "k1",
    "phrase",
}
SKIP_COMMANDS = {("train",), ("demo",)}  # train takes free key=value overrides; demo has no inputs to spoil


def _commands(group, path=()):
    for name, cmd in sorted(group.commands.items()):
        if hasattr(cmd, "commands"):
            yield from _commands(cmd, path + (name,))
        else:
            yield path + (name,), cmd


def _annotation(param):
    import enum
    import pathlib
    import typing

    tp = param.type_descriptor.annotation
    for _ in range(3):  # Optional[X] / List[X] -> X
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if typing.get_origin(tp) is None or not args:
            break
        tp = args[0]
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return "choice"
    if isinstance(tp, type) and issubclass(tp, pathlib.PurePath):
        return "path"
    return {int: "number", float: "number", str: "text", bool: "flag"}.get(tp, "other")


def _bad_value(param) -> str | None:
    kind = _annotation(param)
    if kind == "number":
        return "not-a-number"
    if kind == "choice":
        return "no-such-choice"
    if kind == "path":
        return "<BADPATH>"  # a path below an existing file: neither readable nor creatable, even as root
    if kind == "text" and param.name not in FREE_TEXT:
        return "no-such-name"
    return None


def _cases():
    root = typer.main.get_command(app)
    for path, cmd in _commands(root):
        if path in SKIP_COMMANDS:
            continue
        for param in cmd.params:
            if param.param_type_name != "option" or param.name == "help" or not param.opts:
                continue
            bad = _bad_value(param)
            if bad is not None:
                yield pytest.param(path, param.name, bad, id=f"{' '.join(path)}--{param.name}")


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    d = tmp_path_factory.mktemp("in")
    img = np.zeros((96, 128, 3), np.uint8)
    img[20:60, 30:90] = (200, 60, 60)
    write_image(d / "a.png", img)
    (d / "empty").mkdir()
    return d


@pytest.mark.parametrize("path, option, bad", list(_cases()))
def test_bad_option_value_is_one_line_exit_2(path, option, bad, sample, tmp_path, capsys):
    root = typer.main.get_command(app)
    cmd = root
    for name in path:
        cmd = cmd.commands[name]
    out = tmp_path / "out"
    argv = list(path)
    for p in cmd.params:
        if p.name == option or not p.required:
            continue
        if p.param_type_name == "argument":
            argv.append(str(sample / "a.png"))
        elif p.name == "out":
            argv += [p.opts[0], str(out)]
        elif p.name == "data":
            argv += [p.opts[0], str(sample / "empty")]
        else:
            argv += [p.opts[0], str(sample / "a.png")]
    opt = next(p for p in cmd.params if p.name == option)
    argv += [opt.opts[0], bad.replace("<BADPATH>", str(sample / "a.png" / "sub" / "x.png"))]
    with pytest.raises(SystemExit) as e:
        main(argv)
    err = capsys.readouterr().err.strip().splitlines()
    assert e.value.code == 2, f"{argv}: exit {e.value.code}, stderr {err}"
    assert len(err) == 1 and "Traceback" not in err[0] and "internal error" not in err[0], f"{argv}: {err}"
    assert not out.exists() or not any(out.iterdir()), f"{argv}: wrote {list(out.iterdir())}"


@pytest.mark.parametrize(
    "argv",
    [
        ["segment", "<IMG>", "--point", "10,10", "--out", "<FILE>"],
        ["track", "<FRAMES>", "--box", "0,10,10,60,50", "--out", "<FILE>"],
        ["isolate", "<IMG>", "--boxes", "<PAIRS>", "--out", "<FILE>", "--segmenter", "flat"],
        ["precompute-masks", "<FRAMES>", "--out", "<FILE>", "--segmenter", "flat"],
        ["agent", "<IMG>", "--query", "red", "--out", "<FILE>"],
        ["match", "--pairs", "<PAIRS>", "--out", "<FILE>", "--method", "sift"],
        ["match", "<IMG>", "<IMG>", "--out", "<FILE>/m.json", "--method", "sift"],
        ["export", "as-mamba", "--model", "as_mamba-test", "--out", "<FILE>/m.onnx"],
        ["eval", "match", "--data", "<EMPTY>", "--json", "<FILE>/m.json"],
    ],
    ids=lambda a: " ".join(a[:2]),
)
def test_output_where_a_file_stands_is_one_line_exit_2(argv, sample, tmp_path, capsys):
    """An output folder given as an existing file (or below one) is refused up front, naming it: one line, exit 2,
    the file untouched (mkdir would raise FileExistsError there, which is not a bug of ours)."""
    frames = tmp_path / "frames"
    frames.mkdir()
    write_image(frames / "frame_000.png", np.zeros((64, 80, 3), np.uint8))
    (tmp_path / "pairs.txt").write_text(f"{sample / 'a.png'} {sample / 'a.png'}\n")
    target = tmp_path / "taken.txt"
    target.write_text("keep me")
    subs = {
        "<IMG>": str(sample / "a.png"),
        "<FRAMES>": str(frames),
        "<PAIRS>": str(tmp_path / "pairs.txt"),
        "<EMPTY>": str(sample / "empty"),
        "<FILE>": str(target),
    }
    args = []
    for a in argv:
        for k, v in subs.items():
            a = a.replace(k, v)
        args.append(a)
    with pytest.raises(SystemExit) as e:
        main(args)
    err = capsys.readouterr().err.strip().splitlines()
    assert e.value.code == 2, f"{args}: exit {e.value.code}, stderr {err}"
    assert len(err) == 1 and "internal error" not in err[0] and str(target) in err[0], err
    assert target.read_text() == "keep me"
