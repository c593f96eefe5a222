"""A static HTML report: sections of text, images and tables in one self-contained folder.

``out_dir/report.html`` plus ``out_dir/img/*.png``, referenced relatively, no scripts and no external
assets, so the folder can be zipped, mailed or opened offline. All text is HTML-escaped.
"""

from __future__ import annotations

import html
import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from segcorr.io.atomic import atomic_write_text

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;
color:#222;line-height:1.45}
h1{border-bottom:2px solid #444;padding-bottom:.2em}h2{margin-top:2em;border-bottom:1px solid #ccc}
figure{margin:1em 0}figure img{max-width:100%;height:auto;image-rendering:pixelated;border:1px solid #ddd}
figcaption{color:#555;font-size:.9em}table{border-collapse:collapse;margin:1em 0;font-size:.92em}
th,td{border:1px solid #ccc;padding:.25em .6em}th{background:#f2f2f2;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums}caption{caption-side:top;text-align:left;color:#555;
padding-bottom:.3em}footer{margin-top:3em;color:#888;font-size:.8em}
""".strip()


def format_value(v: Any) -> str:
    """Table cell text: None -> an em dash; floats to about 4 significant digits; big numbers grouped."""
    if v is None:
        return "\u2014"
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if isinstance(v, (int, np.integer)):
        return f"{int(v):,}" if abs(int(v)) >= 10_000 else str(int(v))
    if isinstance(v, (float, np.floating)):
        f = float(v)
        if math.isnan(f):
            return "nan"
        if math.isinf(f):
            return "inf" if f > 0 else "-inf"
        if f == 0:
            return "0"
        if abs(f) >= 10_000:
            return f"{f:,.0f}"
        if abs(f) >= 1e-3:
            return f"{f:.4g}"
        return f"{f:.2e}"
    return str(v)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))


def _paragraphs(text: str) -> str:
    return "".join(f"<p>{html.escape(p.strip())}</p>\n" for p in re.split(r"\n\s*\n", text) if p.strip())


@dataclass
class _Image:
    file: str
    array: np.ndarray
    caption: str | None


class Report:
    """Collects sections, images and tables in order; `save` writes them out.

    Example: ``Report("flow check").section("Results", "EPE on 9 pairs.")
    .table([{"method": "dis-fast", "epe": 3.21}]).save("out")`` writes ``out/report.html``.
    """

    def __init__(self, title: str) -> None:
        self.title = title
        self._parts: list[str | _Image] = []
        self._files: set[str] = set()

    def section(self, title: str, text: str | None = None) -> Report:
        """Start a section with a heading and optional text (blank lines separate paragraphs)."""
        self._parts.append(f"<h2>{html.escape(title)}</h2>\n" + (_paragraphs(text) if text else ""))
        return self

    def text(self, text: str) -> Report:
        """Add paragraphs of plain text to the current section."""
        self._parts.append(_paragraphs(text))
        return self

    def image(self, name: str, array: np.ndarray, caption: str | None = None) -> Report:
        """Add an image (uint8 [H, W] grey or [H, W, 3] RGB; anything `side_by_side` accepts).

        name becomes the file name ``img/<name>.png`` (made filesystem-safe and unique).
        """
        from segcorr.viz.panel import to_rgb8

        stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._") or "image"
        stem = stem[:-4] if stem.lower().endswith(".png") else stem
        file, k = f"{stem}.png", 2
        while file in self._files:
            file, k = f"{stem}_{k}.png", k + 1
        self._files.add(file)
        self._parts.append(_Image(file, to_rgb8(array).copy(), caption))
        return self

    def table(self, rows: Sequence[dict], columns: Sequence[str] | None = None, caption: str | None = None) -> Report:
        """Add a table: one row per dict; columns default to every key, in order of first appearance."""
        if columns is None:
            columns = list(dict.fromkeys(k for r in rows for k in r))
        out = ["<table>"]
        if caption:
            out.append(f"<caption>{html.escape(caption)}</caption>")
        out.append("<thead><tr>" + "".join(f"<th>{html.escape(str(c))}</th>" for c in columns) + "</tr></thead>")
        out.append("<tbody>")
        for r in rows:
            cells = []
            for c in columns:
                v = r.get(c)
                cls = ' class="num"' if _is_number(v) else ""
                cells.append(f"<td{cls}>{html.escape(format_value(v))}</td>")
            out.append("<tr>" + "".join(cells) + "</tr>")
        out.append("</tbody></table>\n")
        self._parts.append("\n".join(out))
        return self

    def to_html(self) -> str:
        """The report page (image parts reference ``img/<file>``)."""
        body = []
        for p in self._parts:
            if isinstance(p, _Image):
                cap = f"<figcaption>{html.escape(p.caption)}</figcaption>" if p.caption else ""
                alt = html.escape(p.caption or p.file)
                h, w = p.array.shape[:2]
                body.append(
                    f'<figure><img src="img/{html.escape(p.file)}" alt="{alt}" width="{w}" height="{h}">'
                    f"{cap}</figure>\n"
                )
            else:
                body.append(p)
        stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        title = html.escape(self.title)
        return (
            f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>{title}</title>\n'
            f"<style>{_CSS}</style>\n</head>\n<body>\n<h1>{title}</h1>\n{''.join(body)}"
            f"<footer>generated by segcorr, {stamp}</footer>\n</body>\n</html>\n"
        )

    def save(self, out_dir: str | os.PathLike) -> Path:
        """Write ``out_dir/img/*.png`` then ``out_dir/report.html`` (each atomically). Returns the HTML path."""
        from segcorr.io.image import write_image

        out = Path(out_dir)
        for p in self._parts:
            if isinstance(p, _Image):
                write_image(out / "img" / p.file, p.array)
        path = out / "report.html"
        atomic_write_text(path, self.to_html())
        return path
