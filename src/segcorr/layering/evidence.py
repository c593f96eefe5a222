"""Occlusion evidence from the page itself: which of two overlapping characters is drawn in front.

Where two figures overlap, the front one is drawn over the back one: its outline runs on through the
overlap, while the back one's outline stops where it meets the front figure (a T-junction), and the
overlap shows the front figure's ink. With S_i, S_j the two characters' (amodal-ish) segmenter masks:

- C_i: the boundary pixels of S_i that lie inside S_j, at least `margin` px from S_j's own boundary (the
  part of i's outline that runs through j's area);
- ink(C_i): the share of C_i with dark ink (grey <= `ink_level`) within `reach` px (a line drawn on the
  mask's edge, or one or two px off it, as segmenters place edges);
- ring(C_i): the same share on the pixels `reach + 2` .. `reach + 2 + ring` px outside S_i, inside S_j (the
  paper next to that outline: the other figure's fill, screentone or lines);
- contrast_i = ink(C_i) - ring(C_i): about 1 - (ink density of j's fill) when i is in front (its outline is
  drawn), about 0 when i is behind (C_i and its ring show the same fill of j: no line there);
- e_ij = contrast_i - contrast_j in -1..1: > 0 says i is in front, < 0 that j is; 0 without evidence
  (overlap too small, or neither outline crosses the other's area by `min_px`).

Where the outlines leave e below `threshold` (overlaps smaller than `min_overlap`, outlines beside black paint,
short contours), the overlap test (`overlap.py`: whose own drawing, at the same distance from its edge, explains
the overlap's pixels) decides the pair with e = +-`overlap_e` when its |t| >= `overlap_t`, chosen on validation
pages (the README's character isolation section has the figures). Its t of the pairs still left without evidence
is kept too (`page_readings`): on a page where the key orders the evidence pairs badly, a weaker t
(`overlap_t_weak`) is the better guess for them (`order.page_order`).

Masks are only read on the intersection of the two masks' boxes (plus a small pad): cost grows with the
overlap, not the page.

The evidence reads overlaps of AMODAL masks (each figure's whole shape, hidden parts included: what
`segcorr eval isolate --masks amodal` feeds, or a layer-aware segmenter). Visible-region segmenters (the flat
backend, SAM's visible masks) overlap only where one leaks into another figure's segments, whose outlines
are drawn too: read as occlusion, those leaks order worse than the key alone (flat masks, 15 validation
pages per style: ground 0.93 -> 0.63, freeform 0.70 -> 0.52). So by default (`require_amodal`) the evidence
is used only when the segmenter says `amodal = True`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class EvidenceConfig:
    ink_level: int = 60  # grey levels at or below this are ink (lines, black fills)
    reach: int = 0  # the outline's edge may lie this many px inside or outside the mask's edge
    margin: int = 3  # contour pixels this close to the other mask's edge are left out (its outline, the junction)
    max_margin: int = 10  # ... or its outline's width + reach + 1 when wider (`stroke_width`), up to this
    continuous: bool = True  # compare darkness (1 - grey / 255) rather than the share of ink pixels
    statistic: str = "sign"  # "sign" or "mean" (`_contrast`)
    sign_step: float = 0.06  # darkness step that counts for "sign" (15 grey levels)
    min_px: int = 8  # fewer contour pixels inside the other mask: no evidence from that side
    back_sd: float = 0.2  # spread of a hidden contour's contrast (`side_llr`)
    front_density: float = 0.9  # density of a drawn outline's contrast over 0..1
    llr_scale: float = 4.0  # e = tanh(log-likelihood ratio / llr_scale)
    min_overlap: int = 30  # smaller overlaps give no evidence
    weight: float = 3.0  # of the evidence against the key's spread in the pairwise score (`order.py`)
    threshold: float = 0.1  # |e| below this is no evidence
    use_key: bool = True  # False: evidence alone (the ablation): pairs without evidence are ties
    calibrate: bool = True  # fit the key's term weights to the page's own evidence (`order.calibrate_keys`)
    require_amodal: bool = True  # read only masks the segmenter marks amodal (`amodal = True`): see the docstring
    overlap_t: float = 3.0  # |t| of the overlap test (`overlap.py`) that decides a pair the outlines leave weak; 0: off
    overlap_e: float = 0.3  # ... the evidence it then gives (at least `threshold`, so that it counts)
    overlap_t_weak: float = 1.5  # a weaker |t| decides the pairs left without evidence where the key is unreliable
    reliable: float = 0.85  # ... that is, where it orders less than this share of the page's evidence pairs right
    size_key: bool = True  # with calibrate: the size term alone orders where height says little (`order._fitted_key`)
    height_trust: float = 0.75  # ... that is, where the height term orders at most this share of evidence pairs right


def _bbox(m: np.ndarray) -> tuple[int, int, int, int] | None:
    """(r0, r1, c0, c1) of a bool mask's pixels, end-exclusive; None when empty."""
    import cv2

    x, y, w, h = cv2.boundingRect(np.ascontiguousarray(m, dtype=bool).view(np.uint8))
    return None if w == 0 else (y, y + h, x, x + w)


def _disk(r: int) -> np.ndarray:
    import cv2

    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))


def stroke_width(m: np.ndarray, ink: np.ndarray, most: int = 8, share: float = 0.6) -> int:
    """Width (px) of the outline drawn along the edge of mask `m`: the number of 1-px layers inside its edge,
    counted from the edge, of which at least `share` is ink. m, ink: bool crops."""
    import cv2

    # the crop's border is no edge of the mask: extend the mask past it before measuring the distance
    dist = cv2.distanceTransform(np.pad(m.view(np.uint8), 1, mode="edge"), cv2.DIST_C, 3)[1:-1, 1:-1]
    w = 0
    for k in range(1, most + 1):
        layer = dist == k
        n = int(np.count_nonzero(layer))
        if n == 0 or np.count_nonzero(layer & ink) < share * n:
            break
        w = k
    return w


def _layers(m: np.ndarray, n: int) -> list[np.ndarray]:
    """1-px layers around the edge of mask `m` (bool crop), from `n` px inside to `n` px outside: index n - 1 is
    the mask's own edge layer, index n the first layer outside it."""
    import cv2

    u8 = np.pad(m.view(np.uint8), 1, mode="edge")
    din = cv2.distanceTransform(u8, cv2.DIST_C, 3)[1:-1, 1:-1]
    dout = cv2.distanceTransform(1 - u8, cv2.DIST_C, 3)[1:-1, 1:-1]
    return [din == k for k in range(n, 0, -1)] + [dout == k for k in range(1, n + 1)]


def _side(
    mi: np.ndarray, mj: np.ndarray, ink: np.ndarray, margin: int, cfg: EvidenceConfig, free: np.ndarray | None
) -> tuple[float, int]:
    """(edge contrast of i's outline inside j, its pixel count) on crops: bool masks and ink; margin: px from j's
    edge left out (j's own outline lies there); free: pixels no third character covers.

    The contrast is the ink share of one 1-px layer minus that of the next layer outwards, at the mask's edge
    (a drawn outline ends exactly there: ink inside, the other figure's paint outside) or up to `reach` px
    inside or outside it (for masks off the line by that much); the largest over those offsets."""
    import cv2

    inner_j = cv2.erode(mj.view(np.uint8), _disk(margin), borderType=cv2.BORDER_CONSTANT, borderValue=0) > 0
    if free is not None:
        inner_j &= free
    n = cfg.reach + 2
    layers = [layer & inner_j for layer in _layers(mi, n)]
    count = int(np.count_nonzero(layers[n - 1]))
    if count < cfg.min_px:
        return 0.0, count
    best = -1.0
    for t in range(-cfg.reach, cfg.reach + 1):
        a, b = layers[n - 1 + t], layers[n + t]
        na, nb = int(np.count_nonzero(a)), int(np.count_nonzero(b))
        if na and nb:
            best = max(best, _contrast(ink, a, b, cfg))
    return (float(best) if best > -1.0 else 0.0), count


def _contrast(dark: np.ndarray, a: np.ndarray, b: np.ndarray, cfg: EvidenceConfig) -> float:
    """How much darker layer a is than the next layer b. "mean": mean darkness of a minus that of b; "sign": per
    pixel of a, +1 / -1 when it is darker / lighter by `sign_step` than its neighbours in b, averaged (a black
    line on a dark fill counts as much as on white paper)."""
    import cv2

    if cfg.statistic == "mean":
        return float(dark[a].mean() - dark[b].mean())
    bf = b.astype(np.float32)
    num = cv2.boxFilter(dark * bf, -1, (3, 3), normalize=False, borderType=cv2.BORDER_CONSTANT)
    den = cv2.boxFilter(bf, -1, (3, 3), normalize=False, borderType=cv2.BORDER_CONSTANT)
    sel = a & (den > 0)
    if not sel.any():
        return 0.0
    diff = dark[sel] - num[sel] / den[sel]
    return float(np.mean(np.sign(diff) * (np.abs(diff) >= cfg.sign_step)))


def pair_evidence(
    image: np.ndarray,
    mi: np.ndarray,
    mj: np.ndarray,
    config: EvidenceConfig | None = None,
    others: list[np.ndarray] | None = None,
    boxes: tuple | None = None,
) -> tuple[float, int, int]:
    """(e_ij, contour px of i inside j, contour px of j inside i) for masks bool [H, W] on the grey page uint8
    [H, W] (or [H, W, 3]); e_ij > 0: i is drawn in front of j (see the module docstring). others: masks of the
    panel's other characters: pixels they cover may show a third figure and are left out; boxes: the two masks'
    (r0, r1, c0, c1) when known."""
    return pair_reading(image, mi, mj, config, others, boxes)[:3]


def pair_reading(
    image: np.ndarray,
    mi: np.ndarray,
    mj: np.ndarray,
    config: EvidenceConfig | None = None,
    others: list[np.ndarray] | None = None,
    boxes: tuple | None = None,
) -> tuple[float, int, int, float]:
    """`pair_evidence` and the overlap test's t (> 0: i's drawing explains the overlap; 0.0 where it was not
    run: the outlines decided, or the test is off)."""
    cfg = config or EvidenceConfig()
    bi, bj = boxes if boxes is not None else (_bbox(mi), _bbox(mj))
    if bi is None or bj is None:
        return 0.0, 0, 0, 0.0
    pad = cfg.reach + cfg.max_margin + 4
    h, w = mi.shape
    r0, r1 = max(max(bi[0], bj[0]) - pad, 0), min(min(bi[1], bj[1]) + pad, h)
    c0, c1 = max(max(bi[2], bj[2]) - pad, 0), min(min(bi[3], bj[3]) + pad, w)
    if r0 >= r1 or c0 >= c1:
        return 0.0, 0, 0, 0.0
    ci = np.ascontiguousarray(mi[r0:r1, c0:c1], dtype=bool)
    cj = np.ascontiguousarray(mj[r0:r1, c0:c1], dtype=bool)
    overlap = int(np.count_nonzero(ci & cj))
    if overlap == 0:
        return 0.0, 0, 0, 0.0
    grey = image[r0:r1, c0:c1]
    if grey.ndim == 3:
        grey = grey[..., :3].min(axis=2)
    free = None
    if others:
        covered = np.zeros(ci.shape, bool)
        for m in others:
            covered |= m[r0:r1, c0:c1]
        free = ~covered
    e, na, nb = _outline_evidence(grey, ci, cj, free, cfg) if overlap >= cfg.min_overlap else (0.0, 0, 0)
    t = 0.0
    if cfg.overlap_t > 0 and abs(e) < cfg.threshold:
        from segcorr.layering.overlap import overlap_test

        t, _ = overlap_test(grey, ci, cj, free)
        if abs(t) >= cfg.overlap_t:
            e = float(np.copysign(cfg.overlap_e, t))
    return e, na, nb, float(t)


def _outline_evidence(
    grey: np.ndarray, ci: np.ndarray, cj: np.ndarray, free: np.ndarray | None, cfg: EvidenceConfig
) -> tuple[float, int, int]:
    """(e_ij, contour px of i inside j, of j inside i) from the outlines (the module docstring) on crops."""
    dark = grey <= cfg.ink_level
    darkness = (255.0 - grey.astype(np.float32)) / 255.0 if cfg.continuous else dark.astype(np.float32)
    mi_margin = int(np.clip(stroke_width(ci, dark) + cfg.reach + 1, cfg.margin, cfg.max_margin))
    mj_margin = int(np.clip(stroke_width(cj, dark) + cfg.reach + 1, cfg.margin, cfg.max_margin))
    a, na = _side(ci, cj, darkness, mj_margin, cfg, free)
    b, nb = _side(cj, ci, darkness, mi_margin, cfg, free)
    llr = (side_llr(a, na, cfg) if na >= cfg.min_px else 0.0) - (side_llr(b, nb, cfg) if nb >= cfg.min_px else 0.0)
    return float(np.tanh(llr / cfg.llr_scale)), na, nb


def side_llr(contrast: float, n: int, cfg: EvidenceConfig) -> float:
    """log p(contrast | the outline is drawn) - log p(contrast | it is hidden), for a contour of n px.

    Hidden: the contour runs through the front figure's paint, so the contrast is 0 up to coincidences
    (a normal, sd `back_sd`, widened for short contours); drawn: anything in 0..1 (uniform, density
    `front_density`: the figure behind may be as dark as the line), below 0 falling off like the hidden case."""
    sd = float(np.sqrt(cfg.back_sd**2 + 0.25 / max(n, 1)))
    hidden = np.exp(-0.5 * (contrast / sd) ** 2) / (sd * np.sqrt(2 * np.pi))
    below = min(contrast, 0.0) / cfg.back_sd  # a drawn outline is the darkest thing there: rarely below 0
    drawn = cfg.front_density * float(np.exp(-0.5 * below * below)) + 1e-3
    return float(np.log(drawn) - np.log(hidden + 1e-12))


def page_evidence(image: np.ndarray, masks: dict, keys: dict, config: EvidenceConfig | None = None) -> dict:
    """{(id_a, id_b): e_ab} for every pair of characters of one panel (keys: id -> DepthKey with .panel) whose
    masks (id -> bool [H, W]) overlap and whose outlines or overlap say anything; each unordered pair once, in the
    order of `masks` (`page_readings`)."""
    return page_readings(image, masks, keys, config)[0]


def page_readings(
    image: np.ndarray, masks: dict, keys: dict, config: EvidenceConfig | None = None
) -> tuple[dict, dict]:
    """(`page_evidence`, {(id_a, id_b): t}: the overlap test's t of the overlapping pairs whose |e| stays below
    the threshold, where it was run).

    Two passes: the first reads every pair alone; the second reads again the pairs that a third character
    overlaps, leaving out that character's pixels (it may be drawn over both) unless the first pass put it
    behind both."""
    cfg = config or EvidenceConfig()
    ids = [cid for cid in masks if cid in keys]
    boxes = {c: _bbox(masks[c]) for c in ids}
    first = {}
    for n, a in enumerate(ids):
        for b in ids[n + 1 :]:
            if keys[a].panel == keys[b].panel and _meet(boxes[a], boxes[b]):
                first[(a, b)] = pair_reading(image, masks[a], masks[b], cfg, boxes=(boxes[a], boxes[b]))

    def front(x, y) -> float:  # > 0: x in front of y (first pass)
        return first[(x, y)][0] if (x, y) in first else -first[(y, x)][0] if (y, x) in first else 0.0

    out, weak = {}, {}
    for (a, b), (e, na, nb, t) in first.items():
        if not (na or nb or e):  # nothing from the outlines or a strong overlap test: no second pass
            if t:
                weak[(a, b)] = t
            continue
        others = [
            masks[c]
            for c in ids
            if c not in (a, b)
            and keys[c].panel == keys[a].panel
            and _meet(boxes[c], boxes[a])
            and _meet(boxes[c], boxes[b])
            and not (front(a, c) >= cfg.threshold and front(b, c) >= cfg.threshold)
        ]
        if others:
            e, _, _, t = pair_reading(image, masks[a], masks[b], cfg, others, (boxes[a], boxes[b]))
        out[(a, b)] = e
        if abs(e) < cfg.threshold and t:
            weak[(a, b)] = t
    return out, weak


def _meet(p: tuple | None, q: tuple | None) -> bool:
    """Two (r0, r1, c0, c1) boxes intersect."""
    return p is not None and q is not None and p[0] < q[1] and q[0] < p[1] and p[2] < q[3] and q[2] < p[3]
