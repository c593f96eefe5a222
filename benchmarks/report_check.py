"""Check an HTML report folder (`segcorr demo --out DIR`) the way a reader's browser will show it.

Without a browser: every ``<img>`` of ``DIR/report.html`` must point to a file inside DIR that decodes, at
most ``--max-width`` px wide (1600), with the width/height written in the page equal to the file's.
With Chromium installed (Debian package ``chromium``): the page is also loaded headless and every image
must have a non-zero ``naturalWidth`` there; images the page shows narrower than their files (scaled
down, so their labels shrink) are listed. ``--screenshot`` saves the whole page as seen in a window
``--window-width`` px wide (Chromium only).

    python benchmarks/report_check.py DEMO_OUT_DIR [--screenshot out.png] [--max-width 1600]

Prints one line per image, then one line per problem; exit code 0 when there is none, 1 otherwise, 2 when
DIR has no report.html or Chromium fails.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import shutil
import subprocess
import sys
import tempfile
from html.parser import HTMLParser
from pathlib import Path
from typing import NamedTuple

MAX_WIDTH = 1600
WINDOW_WIDTH = 1280
_PROBE_ID = "report-check-probe"
# Runs on load, after every image has loaded or failed; its answer is read back from the dumped DOM.
_PROBE_JS = (
    "window.addEventListener('load',()=>{const p=document.createElement('pre');p.id='" + _PROBE_ID + "';"
    "p.textContent=JSON.stringify({height:document.documentElement.scrollHeight,images:[...document.images]"
    ".map(i=>({src:i.getAttribute('src'),natural:i.naturalWidth,shown:i.getBoundingClientRect().width}))});"
    "document.body.appendChild(p);});"
)


class ImageRef(NamedTuple):
    """One ``<img>`` of the page: its src and the width/height attributes (None when absent)."""

    src: str
    width: int | None
    height: int | None


class _ImgParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.images: list[ImageRef] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag != "img":
            return
        a = dict(attrs)

        def size(key: str) -> int | None:
            v = (a.get(key) or "").strip()
            return int(v) if v.isdigit() else None

        self.images.append(ImageRef(a.get("src") or "", size("width"), size("height")))


def find_images(page: str) -> list[ImageRef]:
    """Every ``<img>`` of an HTML text, in order."""
    parser = _ImgParser()
    parser.feed(page)
    parser.close()
    return parser.images


def image_size(path: Path) -> tuple[int, int] | None:
    """(width, height) of an image file, None when it is missing or does not decode."""
    import cv2

    if not path.is_file():
        return None
    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    return None if img is None else (int(img.shape[1]), int(img.shape[0]))


def check_files(report: Path, max_width: int = MAX_WIDTH) -> tuple[list[str], list[str]]:
    """Check the images of `report` (an HTML file) on disk. Returns (one line per image, problems)."""
    root = report.parent.resolve()
    lines, problems = [], []
    images = find_images(report.read_text(encoding="utf-8"))
    if not images:
        problems.append(f"{report}: no <img> at all")
    for ref in images:
        path = (root / ref.src).resolve()  # HTMLParser has already unescaped the attribute
        if not ref.src or "://" in ref.src or not path.is_relative_to(root):
            problems.append(f"{ref.src!r}: not a file inside {root}")
            continue
        size = image_size(path)
        if size is None:
            problems.append(f"{ref.src}: broken image (file missing or not an image)")
            continue
        w, h = size
        lines.append(f"{ref.src}: {w}x{h}")
        if w > max_width:
            problems.append(f"{ref.src}: {w} px wide, more than {max_width}")
        if (ref.width, ref.height) != (w, h) and (ref.width, ref.height) != (None, None):
            problems.append(f"{ref.src}: the page says {ref.width}x{ref.height}, the file is {w}x{h}")
    return lines, problems


def find_chromium() -> str | None:
    """The Chromium (or Chrome) executable on PATH, None when there is none."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def _chromium(exe: str, window: tuple[int, int], *args: str, timeout: float = 180.0) -> str:
    cmd = [exe, "--headless", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--no-sandbox")  # Chromium refuses to start as root with its sandbox on
    cmd += [f"--window-size={window[0]},{window[1]}", "--virtual-time-budget=20000", *args]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        raise RuntimeError(f"chromium exited with {r.returncode}: {r.stderr.strip()[-500:]}")
    return r.stdout


def browser_probe(report: Path, exe: str, window_width: int = WINDOW_WIDTH) -> dict:
    """Load `report` in headless Chromium. Returns {"height": page px, "images": [{src, natural, shown}]}.

    A copy of the page with a probe script and a <base> pointing at the report folder is loaded from a
    temporary folder, so nothing is written next to the report.
    """
    page = report.read_text(encoding="utf-8")
    base = f'<base href="{html.escape(report.parent.resolve().as_uri())}/">'
    page = page.replace("<head>", "<head>\n" + base, 1) if "<head>" in page else base + page
    page = page.replace("</body>", f"<script>{_PROBE_JS}</script></body>", 1)
    with tempfile.TemporaryDirectory() as tmp:
        probe = Path(tmp) / "probe.html"
        probe.write_text(page, encoding="utf-8")
        dom = _chromium(exe, (window_width, 1000), "--dump-dom", probe.as_uri())
    start = dom.find(f'<pre id="{_PROBE_ID}">')
    if start < 0:
        raise RuntimeError("the probe script did not run (no answer in the dumped page)")
    text = dom[dom.index(">", start) + 1 : dom.index("</pre>", start)]
    return json.loads(html.unescape(text))


def check_browser(probe: dict) -> tuple[list[str], list[str]]:
    """Problems (natural width 0) and notes (shown narrower than the file) from `browser_probe`'s answer."""
    problems, notes = [], []
    for im in probe["images"]:
        if not im["natural"]:
            problems.append(f"{im['src']}: broken in the browser (naturalWidth 0)")
        elif im["shown"] + 0.5 < im["natural"]:
            notes.append(f"{im['src']}: shown {im['shown']:.0f} px wide of {im['natural']} (scaled down)")
    return problems, notes


def screenshot(report: Path, exe: str, out: Path, height: int, window_width: int = WINDOW_WIDTH) -> None:
    """The whole page (`height` px tall, from `browser_probe`) as a PNG, as seen `window_width` px wide."""
    out.parent.mkdir(parents=True, exist_ok=True)
    _chromium(exe, (window_width, max(1, height)), f"--screenshot={out.resolve()}", report.resolve().as_uri())
    if not out.is_file():
        raise RuntimeError(f"chromium wrote no screenshot to {out}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out_dir", type=Path, help="folder holding report.html (segcorr demo --out)")
    ap.add_argument("--screenshot", type=Path, help="save the whole page as this PNG (needs Chromium)")
    ap.add_argument("--max-width", type=int, default=MAX_WIDTH, help="widest allowed image in px")
    ap.add_argument("--window-width", type=int, default=WINDOW_WIDTH, help="browser window width in px")
    ap.add_argument("--no-browser", action="store_true", help="file checks only, even with Chromium installed")
    args = ap.parse_args(argv)
    report = args.out_dir / "report.html"
    if not report.is_file():
        print(f"error: {report} not found", file=sys.stderr)
        return 2
    lines, problems = check_files(report, args.max_width)
    print("\n".join(lines))
    exe = None if args.no_browser else find_chromium()
    if exe is None:
        print("chromium not found: file checks only" + (" (no screenshot)" if args.screenshot else ""))
    else:
        try:
            probe = browser_probe(report, exe, args.window_width)
            more, notes = check_browser(probe)
            problems += more
            print("\n".join(f"note: {n}" for n in notes) or "every image shown at its full size")
            if args.screenshot:
                screenshot(report, exe, args.screenshot, probe["height"], args.window_width)
                print(f"screenshot: {args.screenshot} ({args.window_width}x{probe['height']})")
        except (RuntimeError, subprocess.TimeoutExpired, ValueError) as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
    for p in problems:
        print(f"PROBLEM {p}")
    print(f"{len(lines)} images, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
