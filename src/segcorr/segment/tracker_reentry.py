"""Re-entry and exit (``TrackerConfig.reentry == "regions"``, ``exit_distinct``): an absent object (it left the
frame or is hidden) is looked for anywhere in each new frame from its remembered colours, so that it comes back under
its own id; and a mask left behind on look-alike background when an object leaves is dropped.

An object's own colours: the colours of its palette (``tracker_regions.palette_of``: the mean CIELAB colour of each
flat region of its prompt mask) that no other region of the prompted frame has within ``tol`` (``own_colours``;
background and other objects alike) and, when looking for it, that no other tracked object's palette has
(``distinctive``): skin is usually shared, hair and clothes usually not, and a brown bat is not its own on a brown
floor. On a frame where the object is absent, every line-free flat region whose colour lies within ``tol`` of a
palette colour, and that present objects do not mostly cover, is a candidate pixel; candidates joined across line
art (at most ``bridge`` pixels of it) form components. A component is taken back when at least ``min_distinct`` of
its region pixels are in the object's own colours and its area is at least ``min_area`` of the expected area (the
larger of the prompted and the last good one; and at least ``min_pixels``) and at most ``max_area`` times it; the
best such component wins. An object without own colours is not looked for (only the tracker's reprompt near its last
position can bring it back). So a look-alike of other colours never takes the id, and one sharing only the common
colours (skin) neither. ``distinct_share`` is the same evidence for a present object's propagated mask.

Growth (``grow_mask``): a present object's mask while under ``grow_below`` times its prompted area also takes the
components of its own colours that it touches, within ``grow_band`` pixels of it, unless that would make it larger
than ``grow_to`` times that area: the parts of an object coming into view that the flow cannot carry in, and parts a
bad flow step dropped. Refind (``refind_below``): a present object whose mask has shrunk below that share of its
prompted area (flow steps lost most of it, or it drifted onto a fragment) is looked for as an absent one, and a
larger component found joins its mask. With ``region_cap`` a flat region larger than that many times the expected
area is no candidate: a floor of one of the object's colours would otherwise join the object to the whole floor, and
the component would be too large to take. The thresholds were chosen on validation clips (figures:
docs/tracking.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from segcorr.segment.tracker_regions import colour_distances


@dataclass(frozen=True)
class ReentryRule:
    """The thresholds of ``find_reentry`` and ``grow_mask`` (see the module docstring)."""

    tol: float = 12.0
    bridge: int = 2
    min_distinct: float = 0.3
    min_area: float = 0.05
    max_area: float = 3.0
    min_pixels: int = 24
    grow_below: float = 3.0
    grow_to: float = 3.0
    grow_band: int = 12
    region_cap: float = 0.0
    refind_below: float = 0.0
    edge_shared: int = 0


def own_colours(
    palette: np.ndarray, mask: np.ndarray, labels: np.ndarray, mean: np.ndarray, count: np.ndarray, tol: float
) -> np.ndarray:
    """bool [K]: the palette colours [K, 3] of bool ``mask`` [H, W] that no region (label > 0, at least 16 pixels)
    at most half inside the mask has within ``tol`` on the same frame (background and other objects alike)."""
    share = np.bincount(labels.ravel(), weights=mask.ravel().astype(np.float64), minlength=len(count)) / count
    outside = (share <= 0.5) & (count >= 16)
    outside[0] = False
    if not outside.any() or not len(palette):
        return np.ones(len(palette), bool)
    return distinctive(palette, [mean[outside]], tol)


def distinct_share(
    mask: np.ndarray, labels: np.ndarray, mean: np.ndarray, palette: np.ndarray, distinct: np.ndarray, tol: float
) -> float:
    """Share of the region pixels (label > 0) of bool ``mask`` [H, W] whose region's nearest palette colour
    (within ``tol``) is one of the ``distinct`` ones; 0.0 without region pixels."""
    ids = labels[mask & (labels > 0)]
    if not len(ids) or not distinct.any():
        return 0.0
    d = colour_distances(mean, palette)
    ok = (d.min(1) < tol) & distinct[d.argmin(1)]
    return float(ok[ids].mean())


def distinctive(palette: np.ndarray, others: list[np.ndarray], tol: float) -> np.ndarray:
    """bool [K]: palette colours [K, 3] with no colour of any other object's palette (each [K_j, 3]) within ``tol``."""
    out = np.ones(len(palette), bool)
    for o in others:
        if len(o) and len(palette):
            out &= colour_distances(palette, o).min(1) >= tol
    return out


def _candidates(
    labels: np.ndarray,
    mean: np.ndarray,
    count: np.ndarray,
    palette: np.ndarray,
    taken: np.ndarray,
    rule: ReentryRule,
    ref_area: float = 0.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(candidate pixels bool [H, W], nearest palette index int [S + 1] of each region, connected component labels
    int32 [H, W] of the candidates joined across line art). With ``rule.region_cap`` > 0 a region larger than that
    many times ``ref_area`` is no candidate (a floor of the object's colour would join all of it to the
    background)."""
    import cv2

    d = colour_distances(mean, palette)
    nearest = d.argmin(1)
    owned = np.bincount(labels.ravel(), weights=taken.ravel().astype(np.float64), minlength=len(count)) / count
    ok = (d.min(1) < rule.tol) & (owned < 0.5)
    if rule.region_cap > 0 and ref_area > 0:
        ok &= count <= rule.region_cap * ref_area
    ok[0] = False
    cand = ok[labels] & ~taken
    line = (labels == 0) & ~taken
    if rule.bridge > 0:
        grown = cv2.dilate(cand.astype(np.uint8), np.ones((3, 3), np.uint8), iterations=rule.bridge) > 0
        cand_l = cand | (line & grown)
    else:
        cand_l = cand
    _, comp = cv2.connectedComponents(cand_l.astype(np.uint8), connectivity=8)
    return cand, nearest, comp


def find_reentry(
    labels: np.ndarray,
    mean: np.ndarray,
    count: np.ndarray,
    palette: np.ndarray,
    distinct: np.ndarray,
    ref_area: int,
    taken: np.ndarray,
    rule: ReentryRule = ReentryRule(),
) -> tuple[np.ndarray | None, float]:
    """labels int [H, W] (line-free flat regions, 0 = line art) with their mean CIELAB colours [S + 1, 3] and pixel
    counts [S + 1]; the object's palette [K, 3] and ``distinct`` [K] (see ``distinctive``); its expected area;
    ``taken`` bool [H, W] (pixels of other objects). Returns (the component taken back, bool [H, W], and its
    evidence in 0..1), or (None, best evidence seen)."""
    if not distinct.any() or ref_area <= 0:
        return None, 0.0
    cand, nearest, comp = _candidates(labels, mean, count, palette, taken, rule, ref_area)
    n = int(comp.max())
    if n == 0:
        return None, 0.0
    ids = comp.ravel()
    area = np.bincount(ids, minlength=n + 1)
    reg = cand.ravel()
    k = len(palette)
    per = np.zeros((n + 1, k))  # region pixels of each component per nearest palette colour
    np.add.at(per, (ids[reg], nearest[labels.ravel()[reg]]), 1.0)
    evidence = (per / np.maximum(per.sum(1, keepdims=True), 1.0))[:, distinct].sum(1)
    lo = max(rule.min_pixels, rule.min_area * ref_area)
    fits = (area >= lo) & (area <= rule.max_area * ref_area)
    fits[0] = False
    score = np.where(fits, evidence, -1.0)
    best = int(score.argmax())
    if score[best] < rule.min_distinct:
        return None, float(max(score[best], 0.0))
    return comp == best, float(score[best])


def grow_mask(
    labels: np.ndarray,
    mean: np.ndarray,
    count: np.ndarray,
    palette: np.ndarray,
    mask: np.ndarray,
    taken: np.ndarray,
    limit: float,
    rule: ReentryRule,
    ref_area: float = 0.0,
) -> np.ndarray:
    """A present object's mask (bool [H, W]) grown by the components of its palette colours (``_candidates``) that
    it touches, within ``grow_band`` pixels of it: the parts of an object coming into view that the flow cannot
    carry in. Unchanged when the grown mask would exceed ``limit`` pixels (a look-alike background joined)."""
    import cv2

    _, _, comp = _candidates(labels, mean, count, palette, taken & ~mask, rule, ref_area)
    touched = np.unique(comp[mask])
    touched = touched[touched > 0]
    if not len(touched):
        return mask
    k = 2 * rule.grow_band + 1
    near = cv2.dilate(mask.astype(np.uint8), np.ones((k, k), np.uint8)) > 0
    out = mask | (np.isin(comp, touched) & near)
    return out if np.count_nonzero(out) <= limit else mask


def _own_now(tracks: dict, i: int, tol: float) -> np.ndarray:
    """bool [K]: object ``i``'s own colours (``ObjectTrack.distinct``) that no other tracked object's palette has
    (``distinctive``)."""
    tr = tracks[i]
    others = [o.palette for j, o in tracks.items() if j != i and o.palette is not None]
    return tr.distinct & distinctive(tr.palette, others, tol)


def _grow_present(tracks: dict, frame: tuple, masks: dict, live: set[int], taken: np.ndarray, rule) -> None:
    """Grow (``grow_mask``) each live object's mask while it is under ``grow_below`` of its prompted area, by its
    own colours only (``own_colours``, ``distinctive``: a colour the background shares would let it spread there).
    With ``edge_shared`` > 0, a mask coming into view through a frame edge (``_entering``) also grows by all its
    palette colours: by the added pieces that reach that edge, less those that come within ``edge_shared`` pixels of
    another object's mask (whose look-alike parts they would be)."""
    labels, mean, count = frame
    for i in sorted(live):
        tr, m = tracks[i], masks[i]
        if tr.distinct is None or not tr.ref_area or not m.any():
            continue
        if np.count_nonzero(m) >= rule.grow_below * tr.ref_area:
            continue
        limit = rule.grow_to * tr.ref_area
        own = tr.palette[_own_now(tracks, i, rule.tol)]
        if len(own):
            m = grow_mask(labels, mean, count, own, m, taken, limit, rule, tr.ref_area)
        through = _entering(tr, m) if rule.edge_shared > 0 and len(tr.palette) else None
        if through is not None:
            m = _grow_shared(frame, tr.palette, m, taken, limit, rule, tr.ref_area, through)
        masks[i] = m
        taken |= m


def _entering(tr, m: np.ndarray, speed: float = 0.5) -> np.ndarray | None:
    """Where object ``tr``'s mask ``m`` (bool [H, W]) is coming into view: the frame edges (bool [H, W], their
    outermost rows and columns) that it touches and moves away from (its last median backward flow,
    ``ObjectTrack.edge_motion``, points out through them by more than ``speed`` pixels), when it is not smaller than
    its mask on the previous frame; None when there are none."""
    bf = tr.edge_motion
    if bf is None or tr.last_mask is None or np.count_nonzero(m) < np.count_nonzero(tr.last_mask):
        return None
    dx, dy = float(bf[0]), float(bf[1])
    through = np.zeros_like(m)
    for sl, out in (((0, slice(None)), -dy), ((-1, slice(None)), dy), ((slice(None), 0), -dx), ((slice(None), -1), dx)):
        if out > speed and m[sl].any():
            through[sl] = True
    return through if through.any() else None


def _grow_shared(
    frame: tuple, palette, m: np.ndarray, taken: np.ndarray, limit: float, rule, ref_area, through: np.ndarray
) -> np.ndarray:
    """``m`` grown (``grow_mask``) by all of ``palette``, keeping only the added pieces that reach the frame edge
    ``through`` (bool [H, W]; parts come into view there) and do not come within ``edge_shared`` pixels of another
    object's mask (``taken`` less ``m``)."""
    import cv2

    labels, mean, count = frame
    others = taken & ~m
    added = grow_mask(labels, mean, count, palette, m, others, limit, rule, ref_area) & ~m
    if not added.any():
        return m
    k = 2 * rule.edge_shared + 1
    near = cv2.dilate(others.astype(np.uint8), np.ones((k, k), np.uint8)) > 0
    _, comp = cv2.connectedComponents(added.astype(np.uint8), connectivity=8)
    bad = np.unique(comp[near & added])
    good = np.setdiff1d(np.unique(comp[through & added]), bad)
    return m | np.isin(comp, good[good > 0])


def _refind_present(tracks: dict, frame: tuple, masks: dict, live: set[int], taken: np.ndarray, rule, scores) -> None:
    """A live object whose mask has shrunk below ``refind_below`` of its prompted area (flow steps lost most of it)
    is looked for as an absent one would be (``find_reentry``); a found component larger than its mask joins it."""
    labels, mean, count = frame
    for i in sorted(live):
        tr, m = tracks[i], masks[i]
        if tr.distinct is None or not tr.ref_area or scores.get(i, -1.0) <= 0:
            continue
        area = np.count_nonzero(m)
        if area >= rule.refind_below * tr.ref_area:
            continue
        distinct = _own_now(tracks, i, rule.tol)
        found, _ = find_reentry(labels, mean, count, tr.palette, distinct, tr.ref_area, taken & ~m, rule)
        if found is None or np.count_nonzero(found) <= area:
            continue
        masks[i] = m | found
        taken |= found


def reenter(
    tracks: dict,
    frame: tuple[np.ndarray, np.ndarray, np.ndarray],
    masks: dict[int, np.ndarray],
    scores: dict[int, float],
    prompted: set[int],
    rule: ReentryRule,
    need_model: bool = False,
) -> set[int]:
    """Grow the masks of present objects still coming into view (``grow_mask``, while under ``grow_below`` of their
    prompted area) and look for each absent object (``ObjectTrack`` with a palette, not prompted on this frame) on
    this frame (``frame``: line-free labels, region colours and counts, as ``RegionPropagator`` holds them); a found
    one gets its component as ``masks[id]`` and a positive score (``need_model``: only where the model's score for
    it was already positive). ``masks`` (id -> bool [H, W]) are this frame's resolved masks. Returns the ids found."""
    labels, mean, count = frame
    live = {i for i, tr in tracks.items() if (tr.present or i in prompted) and i in masks}
    taken = np.zeros(labels.shape, bool)
    for i in live:
        taken |= masks[i]
    if rule.grow_below > 0:
        _grow_present(tracks, frame, masks, live - prompted, taken, rule)
    if rule.refind_below > 0:
        _refind_present(tracks, frame, masks, live - prompted, taken, rule, scores)
    found: set[int] = set()
    for i, tr in tracks.items():
        if i in live or tr.palette is None or tr.distinct is None or not tr.last_area:
            continue
        if need_model and scores.get(i, -1.0) <= 0:
            continue
        distinct = _own_now(tracks, i, rule.tol)
        area = max(tr.ref_area, tr.last_area)
        m, _ = find_reentry(labels, mean, count, tr.palette, distinct, area, taken, rule)
        if m is None:
            continue
        for j in masks:
            if j != i and j not in live:
                masks[j] = masks[j] & ~m
        masks[i] = m
        scores[i] = max(scores.get(i, 1.0), 1.0)
        taken |= m
        found.add(i)
    return found
