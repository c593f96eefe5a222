"""Classical segmentation for flat-colour cels and grey manga line art (the `flat` backend).

Pipeline of `segment_all` (each step a small function below):
1. Line art: thin strokes darker than both their sides (a black top-hat), so neither a step between
   two fills nor a solid dark fill (black hair) counts; screentone pixels are removed.
2. Trapped-ball gap closing: erode the free (non-line) area with a disk of radius `ball_radius`, label
   its connected components, regrow the labels through the free area for `ball_radius + 1` steps. Regions
   joined only by a gap narrower than the ball stay apart because the ball cannot pass through the gap.
3. Colour split inside each ball region: pixels of one quantised CIELAB colour form a segment; adjacent
   segments of one ball region whose mean colours are close merge (with `merge_shading`, lightness
   counts little, so the shadow and light tones of one cel part merge into the part).
4. Line pixels and leftovers take the nearest label; regions smaller or thinner than the minimum merge
   into their neighbours. Every pixel ends up labelled, ids 1..S.

Screentone (grey pages) is neither line art nor a seed of its own: its pixels are free area of one
uniform "tone" colour, so a toned shirt becomes one segment instead of one segment per dot.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from segcorr.errors import InputError
from segcorr.segment.base import Masks, Prompts
from segcorr.segment.prompting import BoxRule, masks_from_labelmap
from segcorr.segment.regions import border_pairs, components_of_keys, fill_from_nearest, merge_small
from segcorr.segment.screentone import ScreentoneConfig, detect_screentone


@dataclass(frozen=True)
class FlatConfig:
    line_contrast: int = 30  # how much darker than both its sides a line pixel is (grey levels)
    line_max: int = 200  # line pixels must also be darker than this
    max_line_width: int = 5  # dark strokes up to this width are line art; thicker ones are fills (px)
    ball_radius: int = 2  # gaps up to about 2 * radius px in the line art are closed
    light_step: int = 24  # CIELAB L quantisation step (0..255 scale of OpenCV's 8-bit Lab)
    chroma_step: int = 12  # CIELAB a, b quantisation step
    colour_tol: float = 14.0  # adjacent segments of one ball region closer than this merge
    merge_shading: bool = False  # merge shadow / light tones of one part (lightness weighs 0.15)
    min_area: int = 48  # smallest segment kept (px)
    min_thickness: float = 1.0  # thinner colour segments (anti-aliasing fringes) fold into their region
    screentone: bool = True  # grey pages: keep screentone out of line art and seeds
    box: BoxRule = field(default_factory=BoxRule)
    tone: ScreentoneConfig = field(default_factory=ScreentoneConfig)


def _disk(radius: int) -> np.ndarray:
    import cv2

    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))


def _as_image(image: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool]:
    """-> (rgb uint8 [H, W, 3], gray uint8 [H, W], is_grey)."""
    import cv2

    img = np.asarray(image)
    if img.dtype != np.uint8 or not (img.ndim == 2 or (img.ndim == 3 and img.shape[2] in (3, 4))):
        raise InputError(f"expected an image uint8 [H, W] or [H, W, 3], found {img.dtype} {list(img.shape)}")
    if img.ndim == 3 and img.shape[2] == 4:
        img = img[:, :, :3]
    if min(img.shape[:2]) < 2:
        raise InputError(f"expected an image at least 2x2, found {img.shape[1]}x{img.shape[0]}")
    if img.ndim == 2:
        return np.repeat(img[:, :, None], 3, axis=2), img, True
    img = np.ascontiguousarray(img)
    grey = bool((img[:, :, 0] == img[:, :, 1]).all() and (img[:, :, 1] == img[:, :, 2]).all())
    return img, cv2.cvtColor(img, cv2.COLOR_RGB2GRAY), grey


def line_art(gray: np.ndarray, tone: np.ndarray, cfg: FlatConfig) -> np.ndarray:
    """Thin dark strokes. gray: uint8 [H, W]; tone: bool [H, W]. Returns bool [H, W].

    A black top-hat (closing minus image) responds to dark structures narrower than the closing disk
    and darker than what lies on BOTH their sides: a stroke. A step between two flat colours (the dark
    side of an edge) and a dark fill wider than `max_line_width` (black hair) give no response, so
    neither becomes line art.
    """
    import cv2

    k = cfg.max_line_width // 2 + 1
    tophat = cv2.morphologyEx(gray, cv2.MORPH_BLACKHAT, _disk(k))
    return (tophat >= cfg.line_contrast) & (gray < cfg.line_max) & ~tone


def trapped_ball(free: np.ndarray, radius: int, min_area: int = 1) -> np.ndarray:
    """Regions of the free area closed at gaps narrower than the ball.

    free: bool [H, W]. Returns int32 [H, W]. Balls of radius `radius`, then `radius - 1`, ... 0 are
    rolled in turn over the area the larger balls left; each pass labels the components of what its
    ball can reach (at least `min_area` px) and regrows them over the free area for `r + 1` steps, so
    thin parts (arms, hair strands) get their own regions instead of being filled from a neighbour.
    Pixels no ball reached (line pixels, narrow passages, specks) stay 0.
    """
    import cv2

    lab = np.zeros(free.shape, np.float32)  # float: cv2.dilate takes it; ids stay exact below 2**24
    cross = cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3))
    for r in range(radius, -1, -1):
        left = (free & (lab == 0)).astype(np.uint8)
        eroded = cv2.erode(left, _disk(r)) if r > 0 else left
        n, seeds, stats, _ = cv2.connectedComponentsWithStats(eroded, connectivity=4)
        keep = stats[:, cv2.CC_STAT_AREA] >= (min_area if r < radius else 1)
        keep[0] = False
        if not keep[1:].any():
            continue
        ids = np.where(keep, np.arange(n) + lab.max(), 0).astype(np.float32)
        new_lab = ids[seeds]
        for _ in range(r + 1):
            grown = cv2.dilate(new_lab, cross)
            add = (new_lab == 0) & (left > 0) & (grown > 0)
            if not add.any():
                break
            new_lab[add] = grown[add]
        lab = np.where(new_lab > 0, new_lab, lab)
    return lab.astype(np.int32)


def _colour_keys(lab: np.ndarray, cfg: FlatConfig) -> np.ndarray:
    q = lab.astype(np.int32)
    return ((q[..., 0] // cfg.light_step) * 64 + q[..., 1] // cfg.chroma_step) * 64 + q[..., 2] // cfg.chroma_step


def _merge_similar(seg: np.ndarray, ball: np.ndarray, lab: np.ndarray, cfg: FlatConfig) -> np.ndarray:
    """Merge adjacent segments of one ball region whose mean CIELAB colours are within colour_tol."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n = int(seg.max())
    if n < 2:
        return seg
    flat = seg.ravel()
    count = np.maximum(np.bincount(flat, minlength=n + 1), 1)
    mean = np.stack(
        [np.bincount(flat, lab[..., c].ravel().astype(np.float64), n + 1) / count for c in range(3)], axis=1
    )
    region_ball = np.zeros(n + 1, np.int64)
    region_ball[flat] = ball.ravel()
    a, b = border_pairs(seg)
    ok = (a > 0) & (b > 0)
    a, b = a[ok], b[ok]
    weight = np.array([0.15 if cfg.merge_shading else 1.0, 1.0, 1.0])
    dist = np.sqrt((((mean[a] - mean[b]) * weight) ** 2).sum(axis=1))
    join = (dist < cfg.colour_tol) & (region_ball[a] == region_ball[b])
    graph = coo_matrix((np.ones(int(join.sum())), (a[join], b[join])), shape=(n + 1, n + 1))
    _, comp = connected_components(graph, directed=False)
    out = comp[seg] + 1
    out[seg == 0] = 0
    return out.astype(np.int32)


def _absorb_fragments(seg: np.ndarray, ball: np.ndarray, cfg: FlatConfig) -> np.ndarray:
    """Fold colour segments that are small (< min_area) or thin (< min_thickness) into the largest
    segment of their own ball region, so anti-aliasing fringes and gradient specks never leak across a
    line into a neighbouring region. A ball region made only of fragments becomes one segment."""
    from segcorr.segment.regions import relabel_sequential, small_or_thin

    n = int(seg.max())
    if n == 0:
        return seg
    drop = small_or_thin(seg, cfg.min_area, cfg.min_thickness)
    region_ball = np.zeros(n + 1, np.int64)
    region_ball[seg.ravel()] = ball.ravel()
    kept_area = np.bincount(seg.ravel(), minlength=n + 1).astype(np.int64) * ~drop
    kept_area[0] = 0
    # Per ball region, its largest surviving segment (by sorting on ball, then on area descending).
    order = np.lexsort((-kept_area[1:], region_ball[1:])) + 1
    first = np.ones(order.size, bool)
    first[1:] = region_ball[order[1:]] != region_ball[order[:-1]]
    best = dict(zip(region_ball[order[first]].tolist(), order[first].tolist()))
    target = np.arange(n + 1)
    fresh: dict[int, int] = {}
    for i in np.nonzero(drop)[0]:
        b = int(region_ball[i])
        j = best[b]
        if drop[j]:  # nothing survives in this ball region: its fragments form one new segment
            j = fresh.setdefault(b, n + 1 + len(fresh))
        target[i] = j
    out = target[seg]
    out[seg == 0] = 0
    return relabel_sequential(out)


class FlatSegmenter:
    """Classical segmenter for flat-colour art (colour cels) and line art (grey manga pages)."""

    name = "flat"

    def __init__(self, config: FlatConfig | None = None, **overrides) -> None:
        cfg = config or FlatConfig()
        if overrides:
            from dataclasses import fields, replace

            known = {f.name for f in fields(FlatConfig)}
            unknown = sorted(set(overrides) - known)
            if unknown:
                raise InputError(f"unknown flat segmenter option(s) {unknown}; expected some of {sorted(known)}")
            cfg = replace(cfg, **overrides)
        self.config = cfg

    def segment_all(self, image: np.ndarray) -> np.ndarray:
        """image: uint8 [H, W, 3] RGB or [H, W] grey -> label map int32 [H, W], every pixel in 1..S."""
        return self.analyse(image)[0]

    def analyse(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """-> (label map int32 [H, W], line art bool [H, W]) of `segment_all`'s pipeline."""
        import cv2

        cfg = self.config
        rgb, gray, is_grey = _as_image(image)
        tone = detect_screentone(gray, cfg.tone) if is_grey and cfg.screentone else np.zeros(gray.shape, bool)
        line = line_art(gray, tone, cfg)
        ball = fill_from_nearest(trapped_ball(~line, cfg.ball_radius, cfg.min_area // 2))
        lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB)
        colour = _colour_keys(lab, cfg)
        colour[tone] = -1
        key = ball.astype(np.int64) * (1 << 20) + colour
        seg = components_of_keys(key, valid=~line)
        seg = _merge_similar(seg, ball, lab, cfg)
        seg = _absorb_fragments(seg, ball, cfg)
        return merge_small(fill_from_nearest(seg), cfg.min_area), line

    def segment(self, image: np.ndarray, prompts: Prompts) -> Masks:
        """Boxes: the object inside each box; points: the segment under them; masks: cleaned.

        Returns Masks with masks bool [N, H, W] and scores [N] in 0..1 (see `masks_from_labelmap`).
        """
        if prompts.text:
            raise InputError(
                f"the flat segmenter cannot answer text prompts ({prompts.text!r}); "
                "give boxes or points, or use a segmenter that understands text"
            )
        labels, line = self.analyse(image)
        return masks_from_labelmap(labels, prompts, self.config.box, line=line)
