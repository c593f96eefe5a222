"""benchmarks/report_check.py without a browser: broken, missing and over-wide images are caught."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from segcorr.io.image import write_image
from segcorr.viz.report import Report

_SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "report_check.py"


def _checker():
    spec = importlib.util.spec_from_file_location("report_check", _SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _page(folder: Path, imgs: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "report.html").write_text(f"<!DOCTYPE html><html><head></head><body>{imgs}</body></html>")
    return folder / "report.html"


def test_good_missing_and_too_wide_images(tmp_path):
    rc = _checker()
    write_image(tmp_path / "img" / "good.png", np.zeros((20, 10, 3), np.uint8))
    write_image(tmp_path / "img" / "wide.png", np.zeros((2, 1601, 3), np.uint8))
    (tmp_path / "img" / "junk.png").write_bytes(b"not a png")
    report = _page(
        tmp_path,
        '<img src="img/good.png" width="10" height="20"><img src="img/missing.png">'
        '<img src="img/wide.png"><img src="img/junk.png"><img src="img/good.png" width="11" height="20">',
    )
    lines, problems = rc.check_files(report)
    assert lines == ["img/good.png: 10x20", "img/wide.png: 1601x2", "img/good.png: 10x20"]
    assert len(problems) == 4
    assert "img/missing.png" in problems[0] and "broken" in problems[0]
    assert "img/wide.png" in problems[1] and "1601" in problems[1]
    assert "img/junk.png" in problems[2] and "broken" in problems[2]
    assert "11x20" in problems[3] and "10x20" in problems[3]  # the page would draw it stretched
    assert rc.check_files(report, max_width=2000)[1][1].startswith("img/junk.png")


def test_exit_codes_without_browser(tmp_path, capsys):
    rc = _checker()
    write_image(tmp_path / "ok" / "img" / "a.png", np.zeros((5, 7), np.uint8))
    _page(tmp_path / "ok", '<img src="img/a.png" width="7" height="5">')
    assert rc.main([str(tmp_path / "ok"), "--no-browser"]) == 0
    _page(tmp_path / "bad", '<img src="img/a.png">')
    assert rc.main([str(tmp_path / "bad"), "--no-browser"]) == 1
    assert "PROBLEM img/a.png: broken" in capsys.readouterr().out
    assert rc.main([str(tmp_path / "none"), "--no-browser"]) == 2


def test_image_outside_the_folder_is_a_problem(tmp_path):
    rc = _checker()
    write_image(tmp_path / "outside.png", np.zeros((4, 4), np.uint8))
    report = _page(tmp_path / "rep", '<img src="../outside.png"><img src="http://example.invalid/x.png">')
    _, problems = rc.check_files(report)
    assert len(problems) == 2 and all("not a file inside" in p for p in problems)


def test_a_report_page_passes(tmp_path):
    rc = _checker()
    r = Report("t").section("s", "text").image("a", np.zeros((30, 1600, 3), np.uint8)).image("b", np.ones((3, 3), bool))
    lines, problems = rc.check_files(r.save(tmp_path))
    assert problems == [] and lines == ["img/a.png: 1600x30", "img/b.png: 3x3"]
