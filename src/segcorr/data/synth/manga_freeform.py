"""A second manga page style, "freeform": depth is NOT implied by vertical position.

The "ground" style (`manga.py`) stands every figure on one ground plane, so lower = nearer there. Here each
figure of a panel gets a depth z (1..5, smaller = nearer) and a place of its own, drawn independently:
- standing on stairs, ledges and balconies at any height (a step or a railing is drawn under its feet),
  floating in the air (speed lines), or seated on furniture (a bench, a box or a chair under it);
- size follows 1 / z only loosely (each figure's own size varies by a log-normal factor, children are
  shorter, seated figures lower), so a far figure can look as large as a near one;
- close-ups: a figure 1.6-3x the panel's height, cut by two panel edges (top and bottom, or a side and the
  bottom), usually but not always the nearest;
- line weights vary by page and by figure (1-5 px), fills mix white, greys, black and screentones of
  periods 3-9 px; backgrounds hold tones, speed lines or perspective lines.
Figures are opaque and painted back to front, so visible = amodal minus the amodal masks of nearer figures
of the panel, exactly; props (steps, railings, furniture) are background and never cover a figure. Boxes
enclose the VISIBLE pixels; a face less than 30 % visible has no face box (as in the ground style).
"""

from __future__ import annotations

import numpy as np

from segcorr.data.synth.manga_figure import FigureSpec, Tone, draw_figure, figure_parts, tone_ink

GENERATOR_VERSION = "manga-freeform-1"


def _tone(rng: np.random.Generator, coverage: tuple[float, float] = (0.1, 0.55)) -> Tone:
    kind = "dots" if rng.random() < 0.55 else "lines"
    period = float(rng.uniform(3.0, 9.0))
    angle = float(rng.uniform(0, 180))
    return Tone(kind, period, angle, float(rng.uniform(*coverage)))


def _fill(rng: np.random.Generator, options: list) -> int | Tone:
    pick = options[int(rng.integers(len(options)))]
    return _tone(rng) if pick == "tone" else int(pick)


def _spec(rng: np.random.Generator, kind: str, cx: float, foot: float, s: float) -> FigureSpec:
    return FigureSpec(
        kind=kind,
        cx=cx,
        foot_y=foot,
        height=s,
        lean=float(rng.uniform(-1, 1)),
        facing=int(rng.choice([-1, 1])),
        hair=_fill(rng, [0, 30, 90, 160, 255, "tone", "tone"]),
        top=_fill(rng, [255, 255, 230, 140, 40, "tone", "tone"]),
        bottom=_fill(rng, [255, 200, 120, 60, 10, "tone"]),
        skirt=bool(rng.random() < 0.3),
        long_hair=bool(rng.random() < 0.4),
    )


def _depths(rng: np.random.Generator, n: int) -> list[float]:
    """n distinct depths in 1..5 (log-uniform), at least 4 % apart."""
    out: list[float] = []
    while len(out) < n:
        z = float(np.exp(rng.uniform(0.0, np.log(5.0))))
        if all(abs(np.log(z / t)) > 0.04 for t in out):
            out.append(z)
    return out


def _closeup(rng: np.random.Generator, inner: list[int], z: float) -> tuple[FigureSpec, float, str]:
    """A figure cut by two panel edges: top and bottom, or one side and the bottom."""
    x0, y0, x1, y1 = inner
    ph, pw = y1 - y0, x1 - x0
    s = float(rng.uniform(1.6, 3.0)) * ph
    if rng.random() < 0.5:  # top and bottom: the head's top above the panel, the waist below it
        top = y0 - rng.uniform(0.02, 0.07) * s
        cx = rng.uniform(x0 + 0.15 * pw, x1 - 0.15 * pw)
    else:  # a side and the bottom: the shoulder runs out of the panel
        top = y0 + rng.uniform(0.02, 0.25) * ph
        cx = x0 + rng.uniform(-0.02, 0.1) * pw if rng.random() < 0.5 else x1 - rng.uniform(-0.02, 0.1) * pw
    return _spec(rng, "closeup", float(cx), float(top + s), s), z, "none"


def _figure(
    rng: np.random.Generator, inner: list[int], z: float, placed: list[tuple[float, float]]
) -> tuple[FigureSpec, float, str]:
    """One figure at depth z: kind, size from z (loosely), horizontal place near the others, height anywhere."""
    x0, y0, x1, y1 = inner
    ph = y1 - y0
    kind = str(rng.choice(["standing", "child", "sitting", "floating"], p=[0.5, 0.15, 0.2, 0.15]))
    s = float(np.clip(0.95 * ph / z * np.exp(rng.normal(0.0, 0.25)), 0.18 * ph, 1.25 * ph))
    stature = s * (0.68 if kind == "child" else 1.0) * (0.77 if kind == "sitting" else 1.0)
    half = s * (0.22 if kind == "sitting" else 0.16)
    if placed and rng.random() < 0.75:
        px, pwid = placed[int(rng.integers(len(placed)))]
        cx = px + rng.choice([-1, 1]) * rng.uniform(0.1, 0.9) * (pwid + half)
    else:
        cx = rng.uniform(x0, x1)
    cx = float(np.clip(cx, x0 + 0.3 * half, x1 - 0.3 * half))
    # at least ~60 % of the figure's height inside the panel, anywhere between its top and bottom
    foot = float(rng.uniform(y0 + 0.6 * stature, y1 + 0.4 * stature))
    prop = {"standing": "step", "child": "step", "sitting": "seat", "floating": "air"}[kind]
    if prop == "step" and rng.random() < 0.35:
        prop = "railing"
    return _spec(rng, "standing" if kind == "floating" else kind, cx, foot, s), z, prop


def place_panel(rng: np.random.Generator, inner: list[int]) -> list[tuple[FigureSpec, float, str]]:
    """Figures of one panel as (spec, depth, prop), prop one of "step", "railing", "seat", "air", "none"."""
    n = int(rng.choice([2, 3, 4, 5], p=[0.3, 0.35, 0.25, 0.1]))
    zs = sorted(_depths(rng, n))
    out = []
    placed: list[tuple[float, float]] = []
    if rng.random() < 0.3:
        k = 0 if rng.random() < 0.75 else int(rng.integers(1, n))  # usually, not always, the nearest
        spec, z, prop = _closeup(rng, inner, zs.pop(k))
        out.append((spec, z, prop))
        placed.append((spec.cx, 0.16 * spec.height))
    for z in rng.permutation(zs):
        spec, z, prop = _figure(rng, inner, float(z), placed)
        out.append((spec, z, prop))
        placed.append((spec.cx, spec.height * (0.22 if spec.kind == "sitting" else 0.16)))
    return out


def _background(rng: np.random.Generator, page: np.ndarray, inner: list[int], line: int) -> None:
    import cv2

    x0, y0, x1, y1 = inner
    region = page[y0:y1, x0:x1]
    h, w = region.shape
    r = rng.random()
    if r < 0.3:
        region[tone_ink((h, w), (y0, x0), _tone(rng, (0.05, 0.25)))] = 0
    elif r < 0.5:  # speed lines from a focus
        fx, fy = rng.uniform(0, w), rng.uniform(0, h)
        for a in rng.uniform(0, 2 * np.pi, int(rng.integers(20, 60))):
            r0, r1 = rng.uniform(0.3, 0.6) * max(h, w), 1.5 * max(h, w)
            p0 = (int(fx + r0 * np.cos(a)), int(fy + r0 * np.sin(a)))
            p1 = (int(fx + r1 * np.cos(a)), int(fy + r1 * np.sin(a)))
            cv2.line(region, p0, p1, 0, 1)
    elif r < 0.7:  # perspective lines to a vanishing point anywhere
        vx, vy = rng.uniform(-0.2, 1.2) * w, rng.uniform(-0.2, 1.2) * h
        for t in np.linspace(0, 1, int(rng.integers(5, 12))):
            edge = [(t * w, 0), (t * w, h), (0, t * h), (w, t * h)][int(rng.integers(4))]
            cv2.line(region, (int(vx), int(vy)), (int(edge[0]), int(edge[1])), int(rng.choice([0, 100])), 1)
    if rng.random() < 0.3:
        cv2.line(region, (0, int(rng.uniform(0, h))), (w, int(rng.uniform(0, h))), 0, max(1, line - 1))


def _prop(rng: np.random.Generator, page: np.ndarray, inner: list[int], spec: FigureSpec, prop: str, line: int):
    """Draw what the figure stands or sits on (background: figures are painted over it)."""
    import cv2

    x0, y0, x1, y1 = inner
    fy, cx, s = spec.foot_y, spec.cx, spec.height
    if fy >= y1 or prop in ("none",):
        return
    region = page[y0:y1, x0:x1]
    fy_r, cx_r = int(round(fy - y0)), cx - x0
    if prop == "step":  # a step of a staircase: ledge and riser, with the next step down
        half = s * rng.uniform(0.3, 0.6)
        a, b = int(cx_r - half), int(cx_r + half)
        rise = int(s * rng.uniform(0.08, 0.18))
        d = int(rng.choice([-1, 1]))
        pts = np.array([[a, fy_r], [b, fy_r], [b, fy_r + rise], [b + d * int(half), fy_r + rise]], np.int32)
        cv2.polylines(region, [pts], False, 0, line)
        cv2.line(region, (a, fy_r), (a, min(fy_r + 2 * rise, y1 - y0)), 0, line)
    elif prop == "railing":  # a balcony: floor line and a railing in front of the legs' height
        half = s * rng.uniform(0.5, 1.0)
        a, b = int(cx_r - half), int(cx_r + half)
        cv2.line(region, (a, fy_r), (b, fy_r), 0, line)
        top = fy_r - int(0.3 * s)
        cv2.line(region, (a, top), (b, top), 0, max(1, line - 1))
        for x in range(a, b, max(int(0.06 * s), 4)):
            cv2.line(region, (x, top), (x, fy_r), 90, 1)
    elif prop == "seat":  # a bench or box: its top at the seat's height
        seat_y = fy_r - int(0.2 * s)
        half = s * rng.uniform(0.2, 0.4)
        fill = int(rng.choice([255, 200, 150]))
        box = np.array([[cx_r - half, seat_y], [cx_r + half, seat_y], [cx_r + half, fy_r], [cx_r - half, fy_r]])
        cv2.fillPoly(region, [box.astype(np.int32)], fill)
        cv2.polylines(region, [box.astype(np.int32)], True, 0, line)
    elif prop == "air":  # floating: a few motion lines under the figure
        for _ in range(int(rng.integers(3, 7))):
            x = int(cx_r + rng.uniform(-0.2, 0.2) * s)
            ya = fy_r + int(rng.uniform(0.02, 0.1) * s)
            cv2.line(region, (x, ya), (x, ya + int(rng.uniform(0.1, 0.3) * s)), 0, 1)


def render_panel(
    rng: np.random.Generator, figures: list, inner: list[int], shape: tuple[int, int], line: int
) -> list[tuple]:
    """Draw the figures of one panel with their own line weights. Returns [(spec, depth, prop, paint, cover, crop,
    face)] front to back; figures less than a quarter visible, or under 150 px, are dropped (as in the ground
    style)."""
    x0, y0, x1, y1 = inner
    drawn = []
    for spec, depth, prop in figures:
        w = int(np.clip(line + rng.integers(-1, 2), 1, 5))
        parts, face = figure_parts(spec)
        pts = np.concatenate([p.polygon for p in parts])
        c0, r0 = (np.floor(pts.min(axis=0)) - w).astype(int)
        c1, r1 = (np.ceil(pts.max(axis=0)) + w + 1).astype(int)
        crop = (max(r0, y0), min(r1, y1), max(c0, x0), min(c1, x1))
        if crop[1] - crop[0] < 4 or crop[3] - crop[2] < 4:
            continue
        paint, cover = draw_figure(parts, crop, w, face)
        drawn.append((spec, depth, prop, paint, cover, crop, face))
    drawn.sort(key=lambda d: d[1])
    kept, front = [], np.zeros(shape, bool)
    for d in drawn:
        r0, r1, c0, c1 = d[5]
        amodal = int(d[4].sum())
        visible = int((d[4] & ~front[r0:r1, c0:c1]).sum())
        if amodal >= 150 and visible >= 0.25 * amodal:
            kept.append(d)
            front[r0:r1, c0:c1] |= d[4]
    return kept


def make_freeform_page(seed: int, height: int = 1088, width: int = 768):
    """Generate the freeform page for `seed` (deterministic). Returns a `segcorr.data.synth.manga.MangaPage`."""
    import cv2

    from segcorr.data.synth.manga import MangaPage, panel_layout, place_figures

    if height < 128 or width < 96:
        raise ValueError(f"manga pages must be at least 96x128 (w x h), got {width}x{height}")
    rng = np.random.default_rng(seed)
    page = np.full((height, width), 255, np.uint8)
    panels = panel_layout(rng, height, width)
    unit = min(height, width)
    border = max(2, int(round(unit / 300)))
    line = int(np.clip(round(unit / 400 * rng.uniform(0.5, 2.0)), 1, 4))
    characters, visible, amodal = [], {}, {}
    for pi, (px0, py0, px1, py1) in enumerate(panels):
        inner = [px0 + border, py0 + border, px1 - border, py1 - border]
        _background(rng, page, inner, line)
        figures = place_panel(rng, inner)
        drawn = render_panel(rng, figures, inner, page.shape, line)
        for spec, _depth, prop, *_ in reversed(drawn):
            _prop(rng, page, inner, spec, prop, line)
        place_figures(page, pi, [(d[0], d[1], *d[3:]) for d in drawn], characters, visible, amodal)
        cv2.rectangle(page, (px0, py0), (px1 - 1, py1 - 1), 0, border)
    return MangaPage(image=page, panels=panels, characters=characters, visible=visible, amodal=amodal, seed=seed)
