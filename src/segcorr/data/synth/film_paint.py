"""Painted fills and soft-shaded sprites for the "film" style (`segcorr.data.synth.cel_film`).

Fills are pure functions of their arguments and generator, ``(h, w) -> uint8 [h, w, 3]`` RGB: painterly noise
(several octaves, brush-like stretch), foliage (quantised noise clumps lit from above), brick and planks, and
graded skies with soft clouds. Fine detail is band-limited (a light Gaussian blur, sigma about 0.6 px) so that
resampling a moving canvas stays close to how the canvas would look drawn at the new place: the texture is rich,
the warp of it stays exact.

``shaded_sprite`` draws one character part at rest: a soft gradient towards the light, a cel shadow shape (the
part minus a copy shifted towards the light) with a slightly soft edge, a highlight on the lit rim, optional
interior strokes, and line art (thin to thick, dark or a dark tone of the fill). Like `shapes.rasterize` it returns
a `Sprite` whose colour never changes after it is drawn.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from segcorr.data.synth import textures
from segcorr.data.synth.shapes import _SHIFT, Sprite, outline, part_mask

Fill = Callable[[int, int], np.ndarray]
DETAIL_SIGMA = 0.6  # px: band limit of fine painted detail


def _u8(x: np.ndarray) -> np.ndarray:
    return np.clip(np.round(x), 0, 255).astype(np.uint8)


def tone(rgb: np.ndarray, factor: float, tint: tuple[float, float, float] = (1.0, 1.0, 1.0)) -> np.ndarray:
    """``rgb`` scaled by ``factor`` and a per-channel ``tint`` (uint8 [3])."""
    return _u8(np.asarray(rgb, np.float32) * np.float32(factor) * np.asarray(tint, np.float32))


def mix(a: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
    """``a`` blended towards ``b`` by ``t`` (uint8 [3])."""
    return _u8(np.asarray(a, np.float32) * (1 - t) + np.asarray(b, np.float32) * t)


def _smooth(x: np.ndarray, sigma: float = DETAIL_SIGMA) -> np.ndarray:
    return cv2.GaussianBlur(x, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)


def _coarse_noise(
    r: np.random.Generator, h: int, w: int, octaves: int, base_cell: float, persistence: float
) -> np.ndarray:
    """`textures.noise` for smooth fields: drawn at a lower resolution (finest cell about 4 px there) and
    upsampled once, float32 [h, w] in 0..1; much cheaper on large canvases."""
    f = max(1, int(base_cell / 2 ** (octaves - 1) / 4))
    if f == 1:
        return textures.noise(r, h, w, octaves=octaves, base_cell=base_cell, persistence=persistence)
    small = textures.noise(r, max(2, -(-h // f)), max(2, -(-w // f)), octaves, base_cell / f, persistence)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def painted(rng: np.random.Generator, base: np.ndarray, scale: float, amp: float, stretch: float = 1.0) -> Fill:
    """Painterly variation around ``base``: large soft blotches plus brush-like fine noise (``stretch`` > 1
    elongates it horizontally), with a slight hue wobble. ``amp``: grey levels of variation."""
    seed = int(rng.integers(2**31))
    hue = rng.uniform(-0.5, 0.5, 3).astype(np.float32) * np.float32(amp * 0.4)

    def fill(h: int, w: int) -> np.ndarray:
        r = np.random.default_rng(seed)
        hh = max(2, int(np.ceil(h / stretch)))
        big = _coarse_noise(r, h, w, 3, max(scale, 8.0), 0.5) - 0.5
        fine = textures.noise(r, hh, w, octaves=3, base_cell=max(scale / 6.0, 4.0), persistence=0.7) - 0.5
        fine = cv2.resize(fine, (w, h), interpolation=cv2.INTER_LINEAR) if hh != h else fine
        wob = _coarse_noise(r, h, w, 2, max(scale * 1.5, 8.0), 0.55) - 0.5
        x = np.asarray(base, np.float32) + (amp * (1.4 * big + 0.8 * fine))[..., None] + wob[..., None] * hue
        return _u8(_smooth(x))

    return fill


def gradient_fill(top: np.ndarray, bottom: np.ndarray, then: Fill | None = None, amount: float = 0.0) -> Fill:
    """Vertical gradient ``top`` -> ``bottom``; with ``then``, that fill's variation (minus its mean) added at
    ``amount`` strength."""

    def fill(h: int, w: int) -> np.ndarray:
        g = textures.gradient(h, w, top, bottom, np.pi / 2).astype(np.float32)
        if then is not None:
            v = then(h, w).astype(np.float32)
            g += amount * (v - v.mean(axis=(0, 1)))
        return _u8(g)

    return fill


def _lit_from_above(n: np.ndarray, k: float) -> np.ndarray:
    """How much each point of the height field ``n`` faces up: n minus n about ``k`` px higher, float32 [h, w]
    (positive on the upper flank of a bump, where light from above falls)."""
    k = max(int(round(k)), 1)
    above = np.concatenate([np.repeat(n[:1], k, axis=0), n[:-k]])
    return n - above


def sky(rng: np.random.Generator, top: np.ndarray, bottom: np.ndarray, cloud: np.ndarray, cover: float) -> Fill:
    """A graded sky with soft painted clouds: thresholded multi-octave noise (wider than tall), lit on top and
    shaded towards the bottom of each cloud. ``cover``: 0..1, share of sky under cloud."""
    seed = int(rng.integers(2**31))
    scale = float(rng.uniform(90, 220))
    shade = mix(tone(cloud, 0.8, (0.95, 0.97, 1.05)), bottom, 0.3).astype(np.float32)
    lit_c = cloud.astype(np.float32)

    def fill(h: int, w: int) -> np.ndarray:
        r = np.random.default_rng(seed)
        g = textures.gradient(h, w, top, bottom, np.pi / 2).astype(np.float32)
        # cloud shapes at half size (a quarter of the width's detail vertically: wider than tall), upsampled
        h2, w2 = max(2, h // 2), max(2, w // 2)
        n = textures.noise(r, max(2, h // 4), w2, octaves=5, base_cell=scale / 2, persistence=0.5)
        n = cv2.resize(n, (w2, h2), interpolation=cv2.INTER_CUBIC)
        n += np.linspace(0.08, -0.08, h2, dtype=np.float32)[:, None]  # more cloud high up
        thr = np.quantile(n[::2, ::2], 1.0 - cover) if cover > 0 else 2.0
        a = np.clip((n - thr) * 14.0, 0, 1)
        ns = _smooth(n, max(1.0, scale * 0.025))
        up = np.clip(_lit_from_above(ns, scale * 0.05) * 14.0 + 0.45, 0, 1)
        a, up = (cv2.resize(x, (w, h), interpolation=cv2.INTER_LINEAR)[..., None] for x in (a, up))
        c = up * (lit_c - shade) + shade
        c -= g
        c *= a
        g += c  # g (1 - a) + c a, without the temporaries
        return _u8(g)

    return fill


def foliage(rng: np.random.Generator, base: np.ndarray, leaf: float) -> Fill:
    """Leaf clumps lit from above: a noise height field at about ``leaf`` px, each bump lighter on its upper side,
    quantised into 4 tones of ``base`` (dark gaps to sunlit tips), the whole fill lighter towards its top."""
    seed = int(rng.integers(2**31))
    tones = [tone(base, f, t) for f, t in ((0.45, (0.9, 0.95, 1.1)), (0.72, (1, 1, 1)), (0.95, (1, 1, 1)))]
    tones = np.stack([*tones, mix(base, np.array([250, 245, 190]), 0.3)]).astype(np.float32)

    def fill(h: int, w: int) -> np.ndarray:
        r = np.random.default_rng(seed)
        n = textures.noise(r, h, w, octaves=4, base_cell=max(leaf * 4, 6.0), persistence=0.6)
        v = (n - 0.5) * 2.0 + _lit_from_above(n, leaf) * 6.0 + np.linspace(0.3, -0.3, h, dtype=np.float32)[:, None]
        q = np.clip((v + 0.9) * 2.2, 0, 3.999).astype(np.int32)
        return _u8(_smooth(tones[q], 0.7))

    return fill


def crown(rng: np.random.Generator, base: np.ndarray, leaf: float, light: tuple[float, float] = (-0.5, -0.85)) -> Fill:
    """A painted tree crown or bush: overlapping leaf clumps (lower ones first), each in three cel tones lit from
    ``light`` (unit vector towards the light), with leafy edges and fine leaf texture on top."""
    seed = int(rng.integers(2**31))
    tones = np.stack(
        [
            tone(base, 0.5, (0.9, 0.95, 1.1)),
            tone(base, 0.78),
            tone(base, 1.0),
            mix(base, np.array([250, 245, 190]), 0.3),
        ]
    ).astype(np.float32)
    detail = foliage(rng, np.array([128, 128, 128], np.uint8), leaf)
    lx, ly = light

    def fill(h: int, w: int) -> np.ndarray:
        r = np.random.default_rng(seed)
        img = np.broadcast_to(tones[0], (h, w, 3)).copy()
        edge = textures.noise(r, h, w, octaves=3, base_cell=max(leaf * 2, 4.0), persistence=0.6) - 0.5
        k = int(np.clip(h * w / (30 * leaf) ** 2, 4, 40))
        rad = np.sqrt(h * w / k) * r.uniform(0.45, 0.8, k)
        cy = r.uniform(0.05, 1.0, k) * h
        cx = r.uniform(0.0, 1.0, k) * w
        for i in np.argsort(-cy):
            x0, x1 = max(int(cx[i] - rad[i]) - 1, 0), min(int(cx[i] + rad[i]) + 2, w)
            y0, y1 = max(int(cy[i] - rad[i] * 0.8) - 1, 0), min(int(cy[i] + rad[i] * 0.8) + 2, h)
            if x1 <= x0 or y1 <= y0:
                continue
            yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
            dx, dy = (xx - cx[i]) / rad[i], (yy - cy[i]) / (rad[i] * 0.8)
            inside = dx * dx + dy * dy + 1.6 * edge[y0:y1, x0:x1] < 1.0
            lit = dx * lx + dy * ly + 0.9 * edge[y0:y1, x0:x1]
            q = np.clip(np.floor((lit + 0.75) * 2.0), 1, 3).astype(np.int32)
            img[y0:y1, x0:x1][inside] = tones[q][inside]
        img += 0.25 * (detail(h, w).astype(np.float32) - 128.0)
        return _u8(_smooth(img, 0.7))

    return fill


def ground_coords(h: int, w: int, y0: float | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Texture coordinates (x, y) of a fill, float32 [h, w] each, and the local pattern scale (px of pattern per
    px of image, [h, 1]). ``y0`` None: flat (x, y). Otherwise a ground plane seen in perspective: the fill's top row
    is the horizon, ``y0`` px above the vanishing line, and the bottom row has scale 1."""
    y = np.arange(h, dtype=np.float32)[:, None]
    x = np.arange(w, dtype=np.float32)[None, :]
    if y0 is None:
        return np.broadcast_to(x, (h, w)), np.broadcast_to(y, (h, w)), np.ones((h, 1), np.float32)
    k = np.float32((h + y0) ** 2)
    scale = np.float32(h + y0) / (y + np.float32(y0))
    return (x - w / 2) * scale + w / 2, k / (y + np.float32(y0)), scale


def brick(rng: np.random.Generator, base: np.ndarray, bw: float, bh: float, perspective: float | None = None) -> Fill:
    """Running-bond brick (walls) or paving (``perspective``: the ``y0`` of `ground_coords` as a share of the fill
    height): per-brick colour jitter, mortar lines, painted grime; detail too small to draw fades out."""
    seed = int(rng.integers(2**31))
    mortar = mix(base, np.array([200, 195, 185]), 0.6).astype(np.float32)
    grime = painted(rng, np.array([0, 0, 0]), bw * 3, 12)
    bw, bh = max(bw, 6.0), max(bh, 4.0)

    def fill(h: int, w: int) -> np.ndarray:
        r = np.random.default_rng(seed)
        x, y, scale = ground_coords(h, w, None if perspective is None else perspective * h)
        row = np.floor(y / bh)
        xo = x + (row % 2) * bw / 2
        col = np.floor(xo / bw)
        row_i, col_i = (row - row.min()).astype(np.int64), (col - col.min()).astype(np.int64)
        jit = r.uniform(-22, 22, (int(row_i.max()) + 1, int(col_i.max()) + 1)).astype(np.float32)
        mline = 1.2 * scale
        is_m = ((y - row * bh) < mline) | ((xo - col * bw) < mline)
        vis = np.clip((bh / scale - 2.0) / 3.0, 0, 1)[..., None]  # brick rows under ~3 px: pattern fades
        c = np.asarray(base, np.float32) + jit[row_i, col_i][..., None]
        c = np.where(is_m[..., None], mortar, c)
        c = vis * c + (1 - vis) * (0.8 * np.asarray(base, np.float32) + 0.2 * mortar)
        return _u8(_smooth(c + grime(h, w).astype(np.float32)))

    return fill


def planks(
    rng: np.random.Generator, base: np.ndarray, width: float, vertical: bool = False, perspective: float | None = None
) -> Fill:
    """Wooden planks (floor, fence, trunk): bands of ``width`` px with grain and dark seams; ``perspective`` as in
    `brick` (horizontal planks only)."""
    seed = int(rng.integers(2**31))
    width = max(width, 5.0)

    def fill(h: int, w: int) -> np.ndarray:
        r = np.random.default_rng(seed)
        hh, ww = (w, h) if vertical else (h, w)
        x, y, scale = ground_coords(hh, ww, None if perspective is None or vertical else perspective * hh)
        band = np.floor(y / width)
        band_i = (band - band.min()).astype(np.int64)
        jit = r.uniform(-18, 18, int(band_i.max()) + 1).astype(np.float32)[band_i]
        phase = r.uniform(0, 2 * np.pi, int(band_i.max()) + 1).astype(np.float32)[band_i]
        grain = 0.3 * np.sin(y * 0.9 + 2.5 * np.sin(x * 0.013 + phase))  # wavy grain along each plank
        seam = (y - band * width) < 1.2 * scale
        vis = np.clip((width / scale - 2.0) / 3.0, 0, 1)
        c = np.asarray(base, np.float32)[None, None] + (vis * (jit + 40 * grain))[..., None]
        c = np.where((seam & (vis > 0.5))[..., None], c * 0.6, c)
        c = np.ascontiguousarray(c.transpose(1, 0, 2)) if vertical else c
        return _u8(_smooth(c))

    return fill


def _shifted(mask: np.ndarray, dx: float, dy: float) -> np.ndarray:
    m = np.float32([[1, 0, dx], [0, 1, dy]])
    return cv2.warpAffine(mask, m, (mask.shape[1], mask.shape[0]), flags=cv2.INTER_NEAREST, borderValue=0)


def shaded_sprite(
    poly: np.ndarray,
    base: np.ndarray,
    light: tuple[float, float],
    line_px: int,
    line_rgb: np.ndarray,
    shade: float = 0.22,
    shadow_rgb: np.ndarray | None = None,
    soft: float = 0.6,
    gloss: float = 0.0,
    band: float = 0.0,
    strokes: list[np.ndarray] | None = None,
    texture: Fill | None = None,
    texture_amount: float = 0.5,
) -> Sprite | None:
    """One character part at rest, painted like a digital anime cel. ``poly``: float [N, 2] part-local coords;
    ``light``: unit direction towards the light; ``shade``: shadow offset as a share of the part's size (0 = no
    shadow); ``shadow_rgb``: shadow tone (default: a cool darker ``base``); ``soft``: blur (px) of the shadow
    edge; ``gloss``: strength of a lit-rim highlight (0..1); ``band``: strength of a hair highlight band (an arc
    across the upper part, 0..1); ``strokes``: interior line polylines (float [M, 2] local coords, drawn as line
    art: code 2); ``texture``: optional fill whose variation (minus its mean) is added
    at ``texture_amount``.
    Returns None when the polygon covers no pixel."""
    placed = part_mask(poly, line_px)
    if placed is None:
        return None
    x0, y0, mask = placed
    h, w = mask.shape
    size = float(max(np.ptp(poly[:, 0]), np.ptp(poly[:, 1]), 1.0))
    lx, ly = light
    # soft gradient across the part: +-8 % towards / away from the light
    xs = (np.arange(w, dtype=np.float32) - w / 2) * np.float32(lx)
    ys = (np.arange(h, dtype=np.float32) - h / 2) * np.float32(ly)
    t = (xs[None, :] + ys[:, None]) / np.float32(max(w, h) / 2)
    col = np.asarray(base, np.float32)[None, None] * (1.0 + 0.08 * t[..., None])
    if texture is not None:
        v = texture(h, w).astype(np.float32)
        col += np.float32(texture_amount) * (v - v.mean(axis=(0, 1)))
    if shade > 0:
        sh = (mask == 1) & (_shifted(mask, lx * size * shade, ly * size * shade) == 0)
        a = _smooth(sh.astype(np.float32), soft) if soft > 0.05 else sh.astype(np.float32)
        dark = tone(base, 0.72, (0.92, 0.94, 1.08)) if shadow_rgb is None else shadow_rgb
        col = col * (1 - a[..., None]) + dark.astype(np.float32) * a[..., None] * (1.0 + 0.08 * t[..., None])
    if gloss > 0:
        rim = (mask == 1) & (_shifted(mask, -lx * size * 0.06, -ly * size * 0.06) == 0)
        a = _smooth(rim.astype(np.float32), 0.7)[..., None] * np.float32(gloss)
        col = col * (1 - a) + np.float32(250.0) * a
    if band > 0:
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        d = ((xx - w / 2) / (w * 0.45)) ** 2 + ((yy - h * 0.62) / (h * 0.5)) ** 2
        arc = (mask == 1) & (d > 0.55) & (d < 0.72) & (yy < h * 0.55)
        a = _smooth(arc.astype(np.float32), 0.6)[..., None] * np.float32(band)
        col = col * (1 - a) + (np.asarray(base, np.float32) * 0.4 + 150.0) * a
    color = _u8(col)
    code = _ink(mask, color, line_px, line_rgb, strokes or [], (x0, y0))
    return Sprite(color=color, code=code, x0=x0, y0=y0)


def _ink(
    mask: np.ndarray,
    color: np.ndarray,
    line_px: int,
    line_rgb: np.ndarray,
    strokes: list[np.ndarray],
    origin: tuple[float, float],
) -> np.ndarray:
    """Line art of a part: the outer ``line_px`` ring of ``mask`` and the interior ``strokes`` (local coords; the
    canvas starts at ``origin``) painted into ``color`` (uint8 [h, w, 3], in place; outside the mask too). Returns
    the part's codes (uint8 [h, w]: 0 outside, 1 fill, 2 line)."""
    code = outline(mask, color, line_px, line_rgb)
    for s in strokes:
        sp = [np.round((s - np.asarray(origin, np.float32)) * (1 << _SHIFT)).astype(np.int32)]
        stroke = np.zeros_like(mask)
        cv2.polylines(stroke, sp, False, 1, thickness=max(1, line_px), lineType=cv2.LINE_8, shift=_SHIFT)
        on = (stroke == 1) & (mask == 1)
        code[on] = 2
        color[on] = line_rgb
    return code


def painted_sprite(polys: list[np.ndarray], fill: Fill, edge_dark: float = 0.0) -> Sprite | None:
    """A background object (tree, building, fence) at rest, without line art: ``fill`` over the union of
    ``polys`` (float [N, 2] local coords each), its rim darkened by ``edge_dark`` (0..1, a soft contact shadow)."""
    allp = np.concatenate(polys)
    pad = 3
    x0 = float(np.floor(allp[:, 0].min())) - pad
    y0 = float(np.floor(allp[:, 1].min())) - pad
    w = int(np.ceil(allp[:, 0].max() - x0)) + pad + 1
    h = int(np.ceil(allp[:, 1].max() - y0)) + pad + 1
    pts = [np.round((p - np.asarray([x0, y0], np.float32)) * (1 << _SHIFT)).astype(np.int32) for p in polys]
    mask = np.zeros((h, w), np.uint8)
    for p in pts:  # one call per polygon: the union, whatever their overlaps
        cv2.fillPoly(mask, [p], 1, lineType=cv2.LINE_8, shift=_SHIFT)
    if not mask.any():
        return None
    color = np.ascontiguousarray(fill(h, w))
    if edge_dark > 0:
        inner = _smooth(mask.astype(np.float32), 2.0)
        k = np.clip(1.0 - edge_dark * np.clip(1.0 - inner, 0, 1) * 2, 0.0, 1.0)[..., None]
        color = _u8(color.astype(np.float32) * k)
    return Sprite(color=color, code=mask, x0=x0, y0=y0)
