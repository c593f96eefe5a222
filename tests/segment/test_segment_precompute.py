import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from segment_pages import cel_image

from segcorr.errors import InputError
from segcorr.io.image import write_image
from segcorr.io.labelmap import read_labelmap
from segcorr.segment.precompute import precompute_masks

ROOT = Path(__file__).resolve().parents[2]


def _frames(d: Path, n: int = 4) -> list[str]:
    img, _ = cel_image(48, 64)
    names = []
    for i in range(n):
        write_image(d / ("sub" if i == 3 else "") / f"f{i}.png", np.roll(img, 3 * i, axis=1))
        names.append(f"sub/f{i}" if i == 3 else f"f{i}")
    return names


def test_writes_one_label_map_per_image_then_resumes(tmp_path):
    names = _frames(tmp_path / "in")
    out = tmp_path / "out"
    first = precompute_masks(tmp_path / "in", out, "flat", progress=False, rank=0, world_size=1)
    assert first.written == 4 and first.skipped == 0
    for n in names:
        lab = read_labelmap(out / f"{n}.png")
        assert lab.shape == (48, 64) and lab.min() >= 1
    again = precompute_masks(tmp_path / "in", out, "flat", progress=False, rank=0, world_size=1)
    assert again.written == 0 and again.skipped == 4


def test_partial_run_and_corrupt_output_are_redone(tmp_path):
    _frames(tmp_path / "in")
    out = tmp_path / "out"
    precompute_masks(tmp_path / "in", out, "flat", progress=False, rank=0, world_size=1)
    (out / "f1.png").unlink()  # killed before this one
    good = (out / "f2.png").read_bytes()
    (out / "f2.png").write_bytes(good[: len(good) // 2])  # a torn file (written without atomic rename)
    stats = precompute_masks(tmp_path / "in", out, "flat", progress=False, rank=0, world_size=1)
    assert (stats.written, stats.redone, stats.skipped) == (2, 1, 2)
    assert read_labelmap(out / "f2.png").shape == (48, 64)


def test_two_ranks_cover_every_file_exactly_once(tmp_path, monkeypatch):
    names = _frames(tmp_path / "in", 5)
    out = tmp_path / "out"
    done = []
    for r in (0, 1):
        monkeypatch.setenv("RANK", str(r))
        monkeypatch.setenv("WORLD_SIZE", "2")
        stats = precompute_masks(tmp_path / "in", out, "flat", progress=False)
        done.append(stats.written)
    assert done == [3, 2]
    assert sorted(p.relative_to(out).with_suffix("").as_posix() for p in out.rglob("*.png")) == sorted(names)


def test_output_folder_inside_input_is_not_reprocessed(tmp_path):
    _frames(tmp_path, 2)
    precompute_masks(tmp_path, tmp_path / "masks", "flat", progress=False, rank=0, world_size=1)
    stats = precompute_masks(tmp_path, tmp_path / "masks", "flat", progress=False, rank=0, world_size=1)
    assert stats.total == 2


def test_bad_rank_and_bad_folder(tmp_path, monkeypatch):
    _frames(tmp_path / "in", 1)
    monkeypatch.setenv("RANK", "2")
    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(InputError, match="RANK"):
        precompute_masks(tmp_path / "in", tmp_path / "out", "flat", progress=False)
    with pytest.raises(InputError, match="folder"):
        precompute_masks(tmp_path / "nope", tmp_path / "out", "flat", progress=False)


def test_script_wrapper_runs(tmp_path):
    _frames(tmp_path / "in", 1)
    r = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "precompute_sam_masks.py"),
            str(tmp_path / "in"),
            "--out",
            str(tmp_path / "out"),
            "--segmenter",
            "flat",
            "--no-progress",
        ],
        capture_output=True,
        text=True,
        env={"PATH": "", "PYTHONPATH": str(ROOT / "src")},
    )
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "out" / "f0.png").is_file()
    bad = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "precompute_sam_masks.py"),
            str(tmp_path / "x"),
            "--out",
            str(tmp_path / "out"),
            "--segmenter",
            "flat",
        ],
        capture_output=True,
        text=True,
        env={"PATH": "", "PYTHONPATH": str(ROOT / "src")},
    )
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1


def test_labelmap_segmenter_is_bound_to_each_image(tmp_path):
    from segcorr.io.labelmap import write_labelmap

    names = _frames(tmp_path / "in", 4)
    for k, n in enumerate(names):
        write_labelmap(tmp_path / "src" / f"{n}.png", np.full((48, 64), k + 1, np.int32))
    precompute_masks(
        tmp_path / "in", tmp_path / "out", "labelmap", progress=False, rank=0, world_size=1, source=tmp_path / "src"
    )
    for k, n in enumerate(names):
        assert (read_labelmap(tmp_path / "out" / f"{n}.png") == k + 1).all()


def test_cli_and_script_share_their_defaults(tmp_path):
    from typer.testing import CliRunner

    from segcorr.cli import app
    from segcorr.segment.precompute import DEFAULT_SEGMENTER, SEGMENTER_HELP

    _frames(tmp_path / "in", 2)
    script = [sys.executable, str(ROOT / "scripts" / "precompute_sam_masks.py"), str(tmp_path / "in")]
    env = {"PATH": "", "PYTHONPATH": str(ROOT / "src"), "COLUMNS": "200"}
    r = subprocess.run(
        [*script, "--out", str(tmp_path / "a"), "--no-progress"], capture_output=True, text=True, env=env
    )
    assert r.returncode == 0, r.stderr
    res = CliRunner().invoke(app, ["precompute-masks", str(tmp_path / "in"), "--out", str(tmp_path / "b")])
    assert res.exit_code == 0, res.output
    for name in ("f0.png", "f1.png"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert (read_labelmap(tmp_path / "a" / "f0.png") >= 1).all()  # flat: every pixel in a region
    helps = subprocess.run([*script, "--help"], capture_output=True, text=True, env=env).stdout
    assert DEFAULT_SEGMENTER == "flat" and SEGMENTER_HELP in " ".join(helps.split())
