"""One manga character drawn as filled, outlined parts, and the screentones that fill regions.

A figure is placed by (kind, cx, foot_y, height) in page pixels: `height` is the height it would have
standing (children are shorter by their own proportions, not by this number), `foot_y` is where its
feet meet the ground plane (below the panel for a close-up, which the panel frame then cuts into a
bust). `figure_parts` turns that into polygons back-to-front; `draw_figure` paints them on a crop and
returns the paint and the coverage (every pixel the figure paints: its amodal mask before clipping).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

KINDS = ("standing", "child", "sitting", "closeup")
INK = 0


@dataclass(frozen=True)
class Tone:
    """A periodic halftone: `kind` "dots" or "lines", period (px), angle (deg), ink coverage 0..1."""

    kind: str
    period: float
    angle: float
    coverage: float


@dataclass(frozen=True)
class Part:
    """polygon: int32 [K, 2] (x, y) page px; fill: grey level 0..255, or a Tone; outline: draw a black edge."""

    polygon: np.ndarray
    fill: int | Tone
    outline: bool = True


@dataclass(frozen=True)
class FigureSpec:
    kind: str
    cx: float
    foot_y: float
    height: float
    lean: float = 0.0  # -1..1: arms and legs spread to one side
    facing: int = 1  # sitting figures put their knees on this side (+1 right, -1 left)
    hair: int | Tone = 30
    top: int | Tone = 255
    bottom: int | Tone = 120
    skirt: bool = False
    long_hair: bool = False


def tone_ink(shape: tuple[int, int], origin: tuple[int, int], tone: Tone) -> np.ndarray:
    """Ink pixels of `tone` on a crop of shape (h, w) whose top-left is page pixel origin (y, x). bool [h, w].

    The pattern is anchored to the page, so neighbouring crops continue it without a seam.
    """
    h, w = shape
    yy, xx = np.mgrid[origin[0] : origin[0] + h, origin[1] : origin[1] + w].astype(np.float32)
    a = np.deg2rad(tone.angle)
    u = (xx * np.cos(a) + yy * np.sin(a)) / tone.period
    v = (-xx * np.sin(a) + yy * np.cos(a)) / tone.period
    if tone.kind == "lines":
        return (u - np.floor(u)) < tone.coverage
    fu, fv = u - np.floor(u) - 0.5, v - np.floor(v) - 0.5
    radius = np.sqrt(tone.coverage / np.pi)  # dot area = coverage of the unit cell
    return fu * fu + fv * fv < radius * radius


def random_tone(rng: np.random.Generator, coverage: tuple[float, float] = (0.15, 0.45)) -> Tone:
    kind = "dots" if rng.random() < 0.65 else "lines"
    period = float(rng.uniform(4.0, 7.0)) if kind == "dots" else float(rng.uniform(4.0, 6.0))
    angle = float(rng.choice([45.0, 30.0, 0.0, 60.0])) if kind == "dots" else float(rng.uniform(0, 180))
    return Tone(
        kind, period, angle, float(rng.uniform(*coverage)) if kind == "dots" else float(rng.uniform(0.25, 0.45))
    )


def _quad(p0: tuple[float, float], p1: tuple[float, float], w0: float, w1: float) -> np.ndarray:
    """A limb from p0 to p1 with half-widths w0 at p0 and w1 at p1, as a 4-point polygon."""
    d = np.array(p1, np.float64) - np.array(p0, np.float64)
    n = np.array([-d[1], d[0]]) / max(float(np.hypot(*d)), 1e-6)
    a, b = np.array(p0), np.array(p1)
    return np.stack([a + n * w0, b + n * w1, b - n * w1, a - n * w0])


def _ellipse(cx: float, cy: float, ax: float, ay: float, a0: int = 0, a1: int = 360) -> np.ndarray:
    import cv2

    pts = cv2.ellipse2Poly(
        (int(round(cx)), int(round(cy))), (max(int(round(ax)), 1), max(int(round(ay)), 1)), 0, a0, a1, 10
    )
    return pts.astype(np.float64)


def _long_hair(hcx: float, hcy: float, sh_y: float, head: float) -> np.ndarray:
    """The hair hanging behind the head down past the shoulders: float [4, 2] polygon."""
    return np.array(
        [
            [hcx - head * 0.48, hcy],
            [hcx + head * 0.48, hcy],
            [hcx + head * 0.55, sh_y + head * 0.9],
            [hcx - head * 0.55, sh_y + head * 0.9],
        ]
    )


def _skirt(cx: float, hip_y: float, hip_w: float, stature: float) -> np.ndarray:
    """A skirt flaring from the hips: float [4, 2] polygon."""
    return np.array(
        [
            [cx - hip_w, hip_y - stature * 0.06],
            [cx + hip_w, hip_y - stature * 0.06],
            [cx + hip_w * 1.7, hip_y + stature * 0.17],
            [cx - hip_w * 1.7, hip_y + stature * 0.17],
        ]
    )


def _legs(spec: FigureSpec, hip_y: float, hip_w: float, stature: float, limb: float, lean: float) -> list[Part]:
    """The legs, back to front: thigh and shin of each leg bent towards ``spec.facing`` when sitting, else one
    straight leg per side spread by ``lean``."""
    cx, fy = spec.cx, spec.foot_y
    parts: list[Part] = []
    if spec.kind == "sitting":
        d = spec.facing
        knee = (cx + d * stature * 0.24, hip_y - stature * 0.03)
        for off in (-0.35, 0.35):
            parts.append(
                Part(
                    _quad((cx + off * hip_w, hip_y), (knee[0] + off * hip_w * 0.4, knee[1]), limb * 1.2, limb),
                    spec.bottom,
                )
            )
            parts.append(
                Part(
                    _quad(
                        (knee[0] + off * hip_w * 0.4, knee[1]),
                        (knee[0] + d * limb + off * hip_w * 0.5, fy - limb * 0.5),
                        limb,
                        limb * 0.8,
                    ),
                    spec.bottom,
                )
            )
    else:
        for side in (-1, 1):
            foot_x = cx + side * hip_w * (0.55 + 0.25 * abs(spec.lean)) + lean
            parts.append(
                Part(
                    _quad((cx + side * hip_w * 0.5, hip_y), (foot_x, fy - limb * 0.4), limb * 1.25, limb * 0.85),
                    spec.bottom,
                )
            )
    return parts


def figure_parts(spec: FigureSpec) -> tuple[list[Part], np.ndarray]:
    """Parts back to front, and the head's box (x0, y0, x1, y1) in page px (the face box before clipping)."""
    h, cx, fy = spec.height, spec.cx, spec.foot_y
    child = spec.kind == "child"
    stature = h * (0.68 if child else 1.0)  # children: shorter with a bigger head
    head = stature * (0.2 if child else 0.135)
    drop = 0.23 * stature if spec.kind == "sitting" else 0.0  # the sitting body sinks onto its seat
    top = fy - stature + drop
    hip_y = top + stature * (0.58 if child else 0.52)
    sh_y = top + head * 1.12
    sh_w, hip_w = stature * (0.125 if not child else 0.12), stature * 0.095
    lean = spec.lean * stature * 0.05
    hcx, hcy = cx + 0.3 * lean, top + head * 0.5
    parts: list[Part] = []
    if spec.long_hair:
        parts.append(Part(_long_hair(hcx, hcy, sh_y, head), spec.hair))
    limb = stature * 0.042
    parts += _legs(spec, hip_y, hip_w, stature, limb, lean)
    if spec.skirt and spec.kind != "sitting":
        parts.append(Part(_skirt(cx, hip_y, hip_w, stature), spec.bottom))
    torso = np.array([[cx - sh_w, sh_y], [cx + sh_w, sh_y], [cx + hip_w * 1.05, hip_y], [cx - hip_w * 1.05, hip_y]])
    parts.append(Part(torso, spec.top))
    for side in (-1, 1):
        hand = (cx + side * (sh_w + stature * 0.035) + lean, hip_y + stature * 0.03)
        parts.append(Part(_quad((cx + side * sh_w * 0.85, sh_y + limb), hand, limb * 1.1, limb * 0.8), spec.top))
        parts.append(Part(_ellipse(hand[0], hand[1] + limb, limb * 0.9, limb * 1.1), 255))
    parts.append(Part(_quad((hcx, hcy + head * 0.3), (cx, sh_y + head * 0.1), head * 0.14, head * 0.16), 255))
    parts.append(Part(_ellipse(hcx, hcy, head * 0.4, head * 0.5), 255))
    parts.append(Part(_ellipse(hcx, hcy - head * 0.05, head * 0.44, head * 0.48, 180, 360), spec.hair))
    face = np.array([hcx - head * 0.45, top, hcx + head * 0.45, top + head])
    return parts, face


def draw_figure(
    parts: list[Part], crop: tuple[int, int, int, int], line: int = 2, face: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Paint `parts` on the crop (r0, r1, c0, c1) of the page. Returns (paint uint8 [h, w], cover bool [h, w]).

    Fills are solid grey or screentone (ink on white); each part gets a black outline `line` px wide.
    `face`: head box (x0, y0, x1, y1): eyes and a mouth are drawn in it when it is large enough.
    """
    import cv2

    r0, r1, c0, c1 = crop
    shape = (r1 - r0, c1 - c0)
    paint = np.full(shape, 255, np.uint8)
    cover = np.zeros(shape, np.uint8)
    shift = np.array([c0, r0], np.float64)
    for part in parts:
        poly = np.round(part.polygon - shift).astype(np.int32)
        m = np.zeros(shape, np.uint8)
        cv2.fillPoly(m, [poly], 1)
        inside = m > 0
        if isinstance(part.fill, Tone):
            paint[inside] = np.where(tone_ink(shape, (r0, c0), part.fill)[inside], INK, 255)
        else:
            paint[inside] = part.fill
        if part.outline:
            cv2.polylines(m, [poly], True, 2, line)
            paint[m == 2] = INK
        cover |= m
    if face is not None and face[3] - face[1] >= 14:
        hh, fcx, fcy = face[3] - face[1], (face[0] + face[2]) / 2 - c0, face[1] + (face[3] - face[1]) * 0.55 - r0
        for side in (-1, 1):
            cv2.ellipse(
                paint,
                (int(round(fcx + side * hh * 0.16)), int(round(fcy))),
                (max(int(hh * 0.045), 1), max(int(hh * 0.08), 1)),
                0,
                0,
                360,
                INK,
                -1,
            )
        cv2.line(
            paint,
            (int(fcx - hh * 0.07), int(fcy + hh * 0.22)),
            (int(fcx + hh * 0.07), int(fcy + hh * 0.22)),
            INK,
            max(line - 1, 1),
        )
    return paint, cover > 0
