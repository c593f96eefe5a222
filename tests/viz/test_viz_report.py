"""The HTML report: well-formed, escaped, images written beside it and referenced relatively."""

from __future__ import annotations

from html.parser import HTMLParser

import numpy as np

from segcorr.io.image import read_image
from segcorr.viz.report import Report, format_value

_VOID = {"meta", "img", "br", "hr", "link", "input"}


class _Checker(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.srcs: list[str] = []
        self.errors: list[str] = []
        self.tags: set[str] = set()

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        if tag == "img":
            self.srcs.append(dict(attrs)["src"])
        if tag not in _VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack.pop() != tag:
            self.errors.append(tag)


def test_report_is_valid_escaped_and_references_its_images(tmp_path):
    img = np.zeros((10, 20, 3), np.uint8)
    img[:, :10] = (255, 0, 0)
    r = Report("Results <script>alert(1)</script>")
    r.section("Flow & more", "first paragraph\n\nsecond <b>bold?</b>")
    r.image("flow colours", img, caption="a <caption>")
    r.image("flow colours", np.ones((4, 4), bool))  # same name: must not overwrite the first
    r.table(
        [{"method": "<x>", "epe": 1.23456, "px1": None}, {"method": "y", "epe": 12345.6, "n": 3}], caption="metrics"
    )
    path = r.save(tmp_path / "rep")
    assert path == tmp_path / "rep" / "report.html"
    text = path.read_text(encoding="utf-8")
    assert "<script" not in text and "&lt;script&gt;" in text and "&lt;b&gt;" in text
    checker = _Checker()
    checker.feed(text)
    checker.close()
    assert not checker.errors and not checker.stack
    assert {"html", "head", "body", "table", "figure"} <= checker.tags
    assert len(checker.srcs) == 2 and len(set(checker.srcs)) == 2
    for src in checker.srcs:
        assert src.startswith("img/") and (path.parent / src).is_file()
    assert np.array_equal(read_image(path.parent / checker.srcs[0]), img)
    assert "\u2014" in text and "1.235" in text and "12,346" in text
    assert "http" not in text  # no external assets


def test_format_value():
    assert format_value(None) == "\u2014"
    assert format_value(0.0) == "0"
    assert format_value(np.float32(0.5)) == "0.5"
    assert format_value(3.14159265) == "3.142"
    assert format_value(1.5e-5) == "1.50e-05"
    assert format_value(float("nan")) == "nan"
    assert format_value(7) == "7" and format_value(1234567) == "1,234,567"
    assert format_value(True) == "yes" and format_value("abc") == "abc"
