"""Synthetic manga pages: panels, screentones, characters in perspective, exact visible and amodal masks.

Each panel has a ground plane seen by a camera at height `c` (in adult heights) with the horizon at
`y_h`: a figure at scale `s` (px per adult height) stands with its feet at `y_h + s * c` and is
`s` px tall, so figures further back stand higher and are smaller (depth = panel height / s, smaller =
nearer). The cues are informative but not decisive, as on real pages:
- children are shorter (0.68) and sitting figures lower (they sink by 0.23 of their height), so a
  near child can be smaller than an adult behind it;
- in a medium shot (35 % of panels) the nearer figures are cut by the panel's lower border (thighs or
  waist), and a close-up (at most one per panel, the nearest figure) is cut into a bust: their bottom
  edges tie with the border and their visible area is only part of their figure;
- a low camera (c near 0.6) puts all heads near the horizon, so the vertical cue gets weak.
Figures are opaque and painted back to front, so visible = amodal minus the amodal masks of nearer
figures of the same panel, exactly. Body and face boxes enclose the VISIBLE pixels (as annotated on
real pages); a face less than 30 % visible has no face box.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from segcorr.data.synth.manga_figure import FigureSpec, Tone, draw_figure, figure_parts, random_tone, tone_ink

GENERATOR_VERSION = "manga-1"
STYLES = ("ground", "freeform")  # "ground": this module; "freeform": `manga_freeform.py` (depth not by height)


@dataclass(frozen=True)
class MangaPage:
    """image: uint8 [H, W] grey page; panels: [x0, y0, x1, y1] (end-exclusive); characters: dicts with
    id, body_box, face_box (absent when the face is hidden), depth (smaller = nearer), panel, kind;
    visible / amodal: id -> bool [H, W]; seed: the seed it came from."""

    image: np.ndarray
    panels: list[list[int]]
    characters: list[dict]
    visible: dict[int, np.ndarray]
    amodal: dict[int, np.ndarray]
    seed: int


def _split(rng: np.random.Generator, total: int, n: int, gap: int) -> list[tuple[int, int]]:
    weights = rng.uniform(0.7, 1.3, n)
    sizes = (total - gap * (n - 1)) * weights / weights.sum()
    edges, pos = [], 0.0
    for s in sizes:
        edges.append((int(round(pos)), int(round(pos + s))))
        pos += s + gap
    return edges


def panel_layout(rng: np.random.Generator, height: int, width: int) -> list[list[int]]:
    """Rows of 1-3 panels inside the page margin. Returns boxes [x0, y0, x1, y1], reading order."""
    margin = max(int(round(0.05 * min(height, width))), 4)
    gy, gx = max(int(round(0.022 * height)), 4), max(int(round(0.018 * width)), 4)
    rows = int(rng.choice([2, 3, 3, 4])) if height >= 600 else int(rng.choice([1, 2]))
    panels = []
    for y0, y1 in _split(rng, height - 2 * margin, rows, gy):
        cols = int(rng.choice([1, 2, 2, 3])) if width >= 500 else int(rng.choice([1, 2]))
        for x0, x1 in reversed(_split(rng, width - 2 * margin, cols, gx)):  # manga reads right to left
            panels.append([margin + x0, margin + y0, margin + x1, margin + y1])
    return panels


def _fill(rng: np.random.Generator, options: list) -> int | Tone:
    pick = options[int(rng.integers(len(options)))]
    return random_tone(rng) if pick == "tone" else int(pick)


def _figure(rng: np.random.Generator, kind: str, cx: float, foot: float, s: float) -> FigureSpec:
    return FigureSpec(
        kind=kind,
        cx=cx,
        foot_y=foot,
        height=s,
        lean=float(rng.uniform(-1, 1)),
        facing=int(rng.choice([-1, 1])),
        hair=_fill(rng, [20, 20, 70, 255, "tone"]),
        top=_fill(rng, [255, 255, 205, "tone"]),
        bottom=_fill(rng, [120, 50, 255, 200, "tone"]),
        skirt=bool(rng.random() < 0.3),
        long_hair=bool(rng.random() < 0.35),
    )


def _place(rng: np.random.Generator, inner: list[int], y_h: float) -> list[tuple[FigureSpec, float]] | None:
    """Figures of one panel (horizon at page row y_h) with their depths; None when this camera is infeasible."""
    x0, y0, x1, y1 = inner
    ph, pw = y1 - y0, x1 - x0
    c = rng.uniform(0.6, 1.6)
    s_max = min((y1 - 0.04 * ph - y_h) / c, 0.95 * ph)
    if c < 1:
        s_max = min(s_max, (y_h - y0 - 0.02 * ph) / (1 - c))
    s_min = 0.2 * ph
    if s_max < 1.4 * s_min:
        return None
    if rng.random() < 0.35:  # a medium shot: the nearer figures are cut by the lower border (>= 55 % shown)
        s_max = max(s_max, min((y1 - y_h) / (c - 0.45), 1.6 * ph))
    n = int(rng.choice([2, 3, 4, 5], p=[0.3, 0.35, 0.25, 0.1]))
    out: list[tuple[FigureSpec, float]] = []
    placed: list[tuple[float, float]] = []  # (cx, half width)
    if rng.random() < 0.3:
        frac = rng.uniform(0.3, 0.5)  # share of the close-up's height inside the panel
        s = (y1 - y_h) / (c - 1 + frac) if c - 1 + frac > 0 else np.inf
        if 1.1 * s_max < s < 2.2 * ph:
            cx = rng.uniform(x0 + 0.1 * pw, x1 - 0.1 * pw)
            out.append((_figure(rng, "closeup", cx, y_h + s * c, s), ph / s))
            placed.append((cx, 0.16 * s))
            n -= 1
    scales = [spec.height for spec, _ in out]
    for _ in range(n):
        kind = str(rng.choice(["standing", "child", "sitting"], p=[0.65, 0.15, 0.2]))
        for _try in range(20):
            s = float(np.exp(rng.uniform(np.log(s_min), np.log(s_max))))
            if all(abs(np.log(s / t)) > 0.05 for t in scales):
                break
        else:
            continue
        half = s * (0.22 if kind == "sitting" else 0.16)
        if placed and rng.random() < 0.65:
            px, pwid = placed[int(rng.integers(len(placed)))]
            cx = px + rng.choice([-1, 1]) * rng.uniform(0.25, 0.85) * (pwid + half)
        else:
            cx = rng.uniform(x0, x1)
        cx = float(np.clip(cx, x0 + 0.3 * half, x1 - 0.3 * half))
        out.append((_figure(rng, kind, cx, y_h + s * c, s), ph / s))
        placed.append((cx, half))
        scales.append(s)
    return out if len(out) >= 2 else None


def _background(rng: np.random.Generator, page: np.ndarray, inner: list[int], y_h: float) -> None:
    import cv2

    x0, y0, x1, y1 = inner
    region = page[y0:y1, x0:x1]
    hy = int(round(y_h)) - y0
    if rng.random() < 0.4:
        region[:hy][tone_ink((hy, x1 - x0), (y0, x0), random_tone(rng, (0.08, 0.25)))] = 0
    if rng.random() < 0.25:
        rest = (y1 - y0 - hy, x1 - x0)
        region[hy:][tone_ink(rest, (y0 + hy, x0), random_tone(rng, (0.05, 0.15)))] = 0
    if rng.random() < 0.5:
        cv2.line(region, (0, hy), (x1 - x0, hy), 0, 1)
    for _ in range(int(rng.integers(0, 4))):
        bw, bh = int(rng.uniform(0.1, 0.3) * (x1 - x0)), int(rng.uniform(0.1, 0.6) * max(hy, 8))
        bx = int(rng.uniform(0, x1 - x0 - bw))
        cv2.rectangle(region, (bx, hy - bh), (bx + bw, hy), int(rng.choice([0, 90])), 1)


def _box(mask: np.ndarray) -> list[int] | None:
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if not len(rows):
        return None
    return [int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1]


def _render_panel(specs: list[tuple[FigureSpec, float]], inner: list[int], shape: tuple[int, int], line: int):
    """Draw figures of one panel.

    Returns [(spec, depth, paint, cover, crop, face)] front to back, hidden ones dropped."""
    x0, y0, x1, y1 = inner
    drawn = []
    for spec, depth in specs:
        parts, face = figure_parts(spec)
        pts = np.concatenate([p.polygon for p in parts])
        c0, r0 = (np.floor(pts.min(axis=0)) - line).astype(int)
        c1, r1 = (np.ceil(pts.max(axis=0)) + line + 1).astype(int)
        crop = (max(r0, y0), min(r1, y1), max(c0, x0), min(c1, x1))
        if crop[1] - crop[0] < 4 or crop[3] - crop[2] < 4:
            continue
        paint, cover = draw_figure(parts, crop, line, face)
        drawn.append((spec, depth, paint, cover, crop, face))
    drawn.sort(key=lambda d: d[1])
    kept, front = [], np.zeros(shape, bool)
    for d in drawn:  # a figure less than a quarter visible would not be drawn (or annotated) by an artist
        r0, r1, c0, c1 = d[4]
        amodal = int(d[3].sum())
        visible = int((d[3] & ~front[r0:r1, c0:c1]).sum())
        if amodal >= 150 and visible >= 0.25 * amodal:
            kept.append(d)
            front[r0:r1, c0:c1] |= d[3]
    return kept


def place_figures(
    page: np.ndarray, panel: int, drawn: list, characters: list[dict], visible: dict, amodal: dict
) -> None:
    """Record one panel's figures and paint them. drawn: [(spec, depth, paint, cover, (r0, r1, c0, c1), face)] front
    to back; each gets the next id, its amodal mask (its whole cover), its visible mask (the cover minus the
    figures in front), its entry in ``characters`` (body box of the visible part, face box when at least 30% of the
    head shows) and is painted onto ``page`` back to front."""
    front = np.zeros(page.shape, bool)
    for spec, depth, _paint, cover, (r0, r1, c0, c1), face in drawn:
        cid = len(characters) + 1
        am = np.zeros(page.shape, bool)
        am[r0:r1, c0:c1] = cover
        vis = am & ~front
        front |= am
        amodal[cid], visible[cid] = am, vis
        ch = {"id": cid, "body_box": _box(vis), "depth": round(float(depth), 4), "panel": panel, "kind": spec.kind}
        fx0, fy0 = max(int(np.floor(face[0])), 0), max(int(np.floor(face[1])), 0)
        head = np.zeros(page.shape, bool)
        head[fy0 : max(int(np.ceil(face[3])), fy0), fx0 : max(int(np.ceil(face[2])), fx0)] = True
        head &= am
        if head.any() and (head & vis).sum() >= 0.3 * head.sum():
            ch["face_box"] = _box(head & vis)
        characters.append(ch)
    for _spec, _depth, paint, cover, (r0, r1, c0, c1), _face in reversed(drawn):  # back to front
        page[r0:r1, c0:c1][cover] = paint[cover]


def make_manga_page(seed: int, height: int = 1088, width: int = 768) -> MangaPage:
    """Generate the page for `seed` (deterministic: the seed is the only source of randomness)."""
    import cv2

    if height < 128 or width < 96:
        raise ValueError(f"manga pages must be at least 96x128 (w x h), got {width}x{height}")
    rng = np.random.default_rng(seed)
    page = np.full((height, width), 255, np.uint8)
    panels = panel_layout(rng, height, width)
    border = max(2, int(round(min(height, width) / 300)))
    line = max(2, int(round(min(height, width) / 400)))
    characters, visible, amodal = [], {}, {}
    for pi, (px0, py0, px1, py1) in enumerate(panels):
        inner = [px0 + border, py0 + border, px1 - border, py1 - border]
        specs = None
        for _ in range(20):
            y_h = inner[1] + rng.uniform(0.1, 0.5) * (inner[3] - inner[1])
            specs = _place(rng, inner, y_h)
            if specs:
                break
        _background(rng, page, inner, y_h)
        drawn = _render_panel(specs or [], inner, page.shape, line)
        place_figures(page, pi, drawn, characters, visible, amodal)
        cv2.rectangle(page, (px0, py0), (px1 - 1, py1 - 1), 0, border)
    return MangaPage(image=page, panels=panels, characters=characters, visible=visible, amodal=amodal, seed=seed)


def make_page(seed: int, height: int = 1088, width: int = 768, style: str = "ground") -> MangaPage:
    """The page for `seed` in page style `style` (one of STYLES)."""
    if style == "ground":
        return make_manga_page(seed, height, width)
    if style == "freeform":
        from segcorr.data.synth.manga_freeform import make_freeform_page

        return make_freeform_page(seed, height, width)
    raise ValueError(f"unknown manga style {style!r}; expected one of {', '.join(STYLES)}")


def generator_version(style: str = "ground") -> str:
    """The `generator` recorded in meta.json for pages of `style`."""
    if style == "freeform":
        from segcorr.data.synth.manga_freeform import GENERATOR_VERSION as FREEFORM

        return FREEFORM
    return GENERATOR_VERSION


def write_manga(
    out_dir: str | Path,
    count: int,
    seed: int = 0,
    height: int = 1088,
    width: int = 768,
    progress: bool = True,
    style: str = "ground",
) -> Path:
    """Write `count` pages (page i uses seed `seed + i`) of page style `style` in the manga layout of DESIGN.md;
    returns `out_dir`.

    Per page: `page_NNN.png` (grey), `page_NNN.json` ({"characters": [...], "panels": [...]}),
    `page_NNN_char_<id>_visible.png` and `_amodal.png` (0/255); plus `meta.json` (with "style" for styles other
    than "ground"). All writes are atomic.
    """
    if style not in STYLES:
        raise ValueError(f"unknown manga style {style!r}; expected one of {', '.join(STYLES)}")
    from segcorr.data.synth.cels import start_writing
    from segcorr.io.atomic import atomic_write_text
    from segcorr.io.image import write_image

    out, prog, task = start_writing(out_dir, count, "manga pages", progress)
    pages = []
    with prog:
        for i in range(count):
            p = make_page(seed + i, height, width, style)
            stem = f"page_{i:03d}"
            write_image(out / f"{stem}.png", p.image)
            for ch in p.characters:
                write_image(out / f"{stem}_char_{ch['id']}_visible.png", p.visible[ch["id"]])
                write_image(out / f"{stem}_char_{ch['id']}_amodal.png", p.amodal[ch["id"]])
            doc = {"characters": p.characters, "panels": p.panels}
            atomic_write_text(out / f"{stem}.json", json.dumps(doc, indent=1) + "\n")
            pages.append({"name": stem, "seed": seed + i, "characters": len(p.characters)})
            prog.advance(task)
    meta = {
        "generator": generator_version(style),
        **({} if style == "ground" else {"style": style}),
        "kind": "manga",
        "count": count,
        "seed": seed,
        "height": height,
        "width": width,
        "depth": "smaller = nearer ("
        + ("panel height / figure scale" if style == "ground" else "z in 1..5, drawn per figure")
        + "); compare within a panel",
        "boxes": "[x0, y0, x1, y1] px, end-exclusive, around the visible pixels",
        "pages": pages,
    }
    atomic_write_text(out / "meta.json", json.dumps(meta, indent=1) + "\n")
    return out
