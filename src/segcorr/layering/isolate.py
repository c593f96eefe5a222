"""Character isolation: per-character masks with the occluders in front subtracted (ADR 004).

    M_i = close3x3(S_i) & ~(U_j close3x3(S_j), j in front of i) & ~(U_k erode_2px(close3x3(S_k)), k on i's plane)

S_i is the segmenter's mask for character i (box-prompted with its body box), clipped to i's panel;
"in front" comes from the Z-buffer keys (`zbuffer.py`: smaller key = nearer) joined with the page's
occlusion evidence (`evidence.py`, `order.py`: where two masks overlap, the figure whose outline is drawn
through the overlap is in front) and only relates characters of one panel. The closing is the full 3x3
square. Characters on one plane (keys within `same_plane_tol`) are ordered too, so their overlap goes to
the one in front (`same_plane="front"`); `same_plane="seam"` keeps the ADR's rule instead (each loses the
other's interior but keeps a 2 px seam: the overlap goes to neither). Everything runs on the masks'
bounding boxes, not the whole page.

Fallbacks (every one logged and recorded in `IsolationResult.sources`):
- the segmenter returns no mask, an empty one, one of the wrong size, or one mostly outside the body box
  -> the body box becomes the mask ("box:missing" / "box:corrupt");
- memory (`budget.py`): when the estimate exceeds `memory_budget_mb` (MB, or "auto": the free memory of the
  segmenter's device), or the segmenter fails to allocate, the fallback escalates: first characters of
  prominence < `prominence_min` get box masks ("box:budget"), then only the `keep_top` most prominent keep
  full segmentation (after a failed allocation there too: every character gets its box);
- a mask cache (RLE, `segcorr.io.rle.MaskCache`) answers before the segmenter; its keys name the page, the
  segmenter with its settings and weights (`cache_key.py`), the character and its box; corrupt entries are
  dropped by the cache and segmented again.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass, field

import numpy as np

from segcorr.layering.evidence import EvidenceConfig
from segcorr.layering.zbuffer import DepthKey, ZBufferCalculator, ZBufferConfig, assign_panel, order_by_panel

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IsolationConfig:
    zbuffer: ZBufferConfig = field(default_factory=ZBufferConfig)
    erode_px: int = 2  # same-plane neighbours keep a seam this wide
    soft_edge: bool = False  # also return soft masks (Gaussian edge) for adapters taking them
    soft_sigma: float = 0.5
    memory_budget_mb: float | str | None = None  # MB, "auto" (the device's free memory) or None (no budget)
    prominence_min: float = 0.3
    keep_top: int = 2
    min_box_share: float = 0.2  # a mask with less of its area inside the body box is corrupt
    clip_to_panel: bool = True
    # occlusion evidence from the page (`evidence.py`); None: the key alone
    evidence: EvidenceConfig | None = field(default_factory=EvidenceConfig)
    same_plane: str = "front"  # "front": the overlap to the one in front; "seam": 2 px seams, the overlap to neither
    close_kernel: str = "square"  # the 3x3 closing's element: "square" (the ADR's) or "cross" (an ellipse, radius 1)


ORDERS = ("adr", "evidence", "both")  # the key alone, the occlusion evidence alone, both (`config_for_order`)


def default_order(config: IsolationConfig | None = None) -> str:
    """The order of `config` (the default config when None) by the names of ORDERS."""
    ev = (config or IsolationConfig()).evidence
    return "adr" if ev is None else "both" if ev.use_key else "evidence"


def config_for_order(order: str | None, base: IsolationConfig | None = None) -> IsolationConfig:
    """`base` (default: IsolationConfig()) ordering by the ADR key alone ("adr"), the occlusion evidence alone
    ("evidence": no key, no calibration) or both ("both"), the evidence then read on any masks (by default only
    on masks the segmenter marks amodal); None keeps base as it is."""
    from dataclasses import replace

    from segcorr.errors import InputError

    cfg = base or IsolationConfig()
    if order is None:
        return cfg
    if order not in ORDERS:
        raise InputError(f"expected an order of {', '.join(ORDERS)}, found {order!r}")
    if order == "adr":
        return replace(cfg, evidence=None)
    ev = replace(cfg.evidence or EvidenceConfig(), require_amodal=False)  # asked for: on any masks
    if order == "evidence":
        return replace(cfg, evidence=replace(ev, use_key=False, calibrate=False))
    return replace(cfg, evidence=replace(ev, use_key=True))


@dataclass
class IsolationResult:
    """masks: id -> bool [H, W]; order: panel -> ids front to back; keys: id -> DepthKey;
    sources: id -> "segmenter" | "cache" | "box:missing" | "box:corrupt" | "box:budget";
    soft: id -> float32 [H, W] in 0..1 (only with soft_edge); ms_segment / ms_isolate: wall times."""

    masks: dict
    order: dict
    keys: dict
    sources: dict
    soft: dict | None = None
    ms_segment: float = 0.0
    ms_isolate: float = 0.0


def _int_box(box: list[float], shape: tuple[int, int]) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) -> (r0, r1, c0, c1), clipped, end-exclusive, at least 1 px."""
    h, w = shape
    c0, r0 = int(np.clip(np.floor(box[0]), 0, w - 1)), int(np.clip(np.floor(box[1]), 0, h - 1))
    c1, r1 = int(np.clip(np.ceil(box[2]), c0 + 1, w)), int(np.clip(np.ceil(box[3]), r0 + 1, h))
    return r0, r1, c0, c1


def rect_mask(box: list[float], shape: tuple[int, int]) -> np.ndarray:
    """The filled rectangle of `box` (x0, y0, x1, y1 px, clipped to the page) as bool [H, W] (the fallback mask of
    a character, a panel's area); `segcorr.segment.prompting.box_mask` is another thing: a box prompt's answer
    from a label map."""
    r0, r1, c0, c1 = _int_box(box, shape)
    m = np.zeros(shape, bool)
    m[r0:r1, c0:c1] = True
    return m


def _check(mask: object, box: list[float], shape: tuple[int, int], min_share: float) -> str | None:
    """Why `mask` is unusable ("missing" / "corrupt") or None when it is fine."""
    if mask is None:
        return "missing"
    m = np.asarray(mask)
    if m.shape != shape:
        return "corrupt"
    area = int(np.count_nonzero(m))
    if area == 0:
        return "missing"
    r0, r1, c0, c1 = _int_box(box, shape)
    return "corrupt" if np.count_nonzero(m[r0:r1, c0:c1]) < min_share * area else None


def _segment_escalating(image: np.ndarray, characters: list[dict], segmenter, levels: list, level: int, done) -> tuple:
    """Box-prompt the segmenter with the characters of fallback `level` not in `done`; a failed allocation moves
    one level up and retries. Returns (indices asked, their masks [N, H, W] or None, the level reached)."""
    from segcorr.layering.budget import is_out_of_memory
    from segcorr.segment.base import Prompts

    while True:
        todo = [i for i in levels[level] if characters[i]["id"] not in done]
        if not todo:
            return todo, None, level
        boxes = np.array([characters[i]["body_box"] for i in todo], np.float32)
        try:
            return todo, segmenter.segment(image, Prompts(boxes=boxes)).masks, level
        except (MemoryError, RuntimeError) as e:
            if not is_out_of_memory(e) or level == len(levels) - 1:
                raise
            level += 1
            log.warning("segmenter ran out of memory on %d boxes (%s); memory fallback level %d", len(todo), e, level)


def segment_characters(
    image: np.ndarray,
    characters: list[dict],
    segmenter,
    config: IsolationConfig,
    cache=None,
    segmenter_settings: dict | None = None,
) -> tuple[dict, dict]:
    """One mask per character (id -> bool [H, W]) and where it came from (id -> source), with the fallbacks of
    the module docstring. `segmenter_settings`: the options the segmenter was built with (part of the cache key).
    """
    from segcorr.layering import budget as mem
    from segcorr.layering.cache_key import mask_key, page_key, segmenter_fingerprint

    shape = image.shape[:2]
    levels = mem.fallback_levels(characters, config.prominence_min, config.keep_top)
    limit = mem.budget_bytes(config.memory_budget_mb, segmenter)
    level = mem.first_level(levels, shape, limit, config.soft_edge, getattr(segmenter, "bytes_per_prompt", None))
    keys, masks, sources = {}, {}, {}
    if cache is not None:
        page, seg_id = page_key(image), segmenter_fingerprint(segmenter, segmenter_settings)
        keys = {i: mask_key(page, seg_id, ch["id"], ch["body_box"]) for i, ch in enumerate(characters)}
        for i, ch in enumerate(characters):  # cached masks cost no segmentation: they are used at any level
            hit = cache.get(keys[i], shape)
            if hit is not None and _check(hit, ch["body_box"], shape, config.min_box_share) is None:
                masks[ch["id"]], sources[ch["id"]] = hit, "cache"
    todo, answer, level = _segment_escalating(image, characters, segmenter, levels, level, masks)
    if level > 0:
        log.warning(
            "memory fallback level %d (budget %s MB): %d of %d characters get box masks",
            *(level, config.memory_budget_mb, len(characters) - len(levels[level]), len(characters)),
        )
    for n, i in enumerate(todo):
        ch = characters[i]
        m = answer[n] if answer is not None and n < len(answer) else None
        why = _check(m, ch["body_box"], shape, config.min_box_share)
        if why is None:
            masks[ch["id"]], sources[ch["id"]] = np.asarray(m, bool), "segmenter"
            if cache is not None:
                cache.put(keys[i], masks[ch["id"]])
        else:
            log.warning("character %s: %s mask from the segmenter; using its body box", ch["id"], why)
            masks[ch["id"]], sources[ch["id"]] = rect_mask(ch["body_box"], shape), f"box:{why}"
    for ch in characters:
        if ch["id"] not in masks:
            masks[ch["id"]], sources[ch["id"]] = rect_mask(ch["body_box"], shape), "box:budget"
    return {c["id"]: masks[c["id"]] for c in characters}, {c["id"]: sources[c["id"]] for c in characters}


def _bbox(m: np.ndarray) -> tuple[int, int, int, int] | None:
    import cv2

    x, y, w, h = cv2.boundingRect(m.view(np.uint8))
    return None if w == 0 else (y, y + h, x, x + w)


def _morph(crop: np.ndarray, op: str, radius: int, square: bool = False) -> np.ndarray:
    """Close or erode (disk `radius`, or the full square with `square`) a mask crop that holds the mask's whole
    bounding box.

    Both operations stay inside that box (closing a rectangle gives the rectangle), so the crop is
    zero-padded, processed and cut back to the same box.
    """
    import cv2

    pad = radius + 1
    padded = np.pad(crop.astype(np.uint8), pad)
    shape = cv2.MORPH_RECT if square else cv2.MORPH_ELLIPSE
    k = cv2.getStructuringElement(shape, (2 * radius + 1, 2 * radius + 1))
    if op == "close":
        out = cv2.morphologyEx(padded, cv2.MORPH_CLOSE, k, borderType=cv2.BORDER_CONSTANT, borderValue=0)
    else:
        out = cv2.erode(padded, k, borderType=cv2.BORDER_CONSTANT, borderValue=0)
    return out[pad:-pad, pad:-pad] > 0


def _sub(dst: np.ndarray, dbb: tuple, src: np.ndarray, sbb: tuple) -> None:
    """dst[dbb] &= ~src[sbb] on the overlap of the two boxes (both crops of one page)."""
    r0, r1 = max(dbb[0], sbb[0]), min(dbb[1], sbb[1])
    c0, c1 = max(dbb[2], sbb[2]), min(dbb[3], sbb[3])
    if r0 < r1 and c0 < c1:
        dst[r0 - dbb[0] : r1 - dbb[0], c0 - dbb[2] : c1 - dbb[2]] &= ~src[
            r0 - sbb[0] : r1 - sbb[0], c0 - sbb[2] : c1 - sbb[2]
        ]


def isolate_masks(
    seg: dict,
    keys: dict,
    zbuffer: ZBufferCalculator,
    panels: list[list[float]] | None = None,
    config: IsolationConfig | None = None,
) -> dict:
    """The isolation formula on given masks. seg: id -> bool [H, W]; keys: id -> DepthKey. Returns id -> bool [H, W].

    With `config.same_plane == "front"` characters on one plane are ordered too (by key, then by their order in
    `seg`): the overlap goes to the one in front instead of to neither."""
    cfg = config or IsolationConfig()
    if cfg.same_plane not in ("seam", "front") or cfg.close_kernel not in ("cross", "square"):
        raise ValueError(f"unknown same_plane {cfg.same_plane!r} or close_kernel {cfg.close_kernel!r}")
    square = cfg.close_kernel == "square"
    rank = {cid: n for n, cid in enumerate(seg)}
    closed, eroded = {}, {}  # id -> (crop, (r0, r1, c0, c1)) or None for an empty mask
    for cid, m in panel_masks(seg, keys, panels, cfg.clip_to_panel).items():
        m = np.ascontiguousarray(m, dtype=bool)
        bb = _bbox(m)
        closed[cid] = None if bb is None else (_morph(m[bb[0] : bb[1], bb[2] : bb[3]], "close", 1, square), bb)
    out = {}
    for cid, m in seg.items():
        full = np.zeros(m.shape, bool)
        out[cid] = full
        if closed[cid] is None:
            continue
        mine, bb = closed[cid][0].copy(), closed[cid][1]
        ki = keys[cid]
        for other, c in closed.items():
            if other == cid or c is None or keys[other].panel != ki.panel:
                continue
            ko = keys[other]
            if cfg.same_plane == "front":
                if (ko.d, rank[other]) < (ki.d, rank[cid]):
                    _sub(mine, bb, *c)
            elif zbuffer.same_plane(ki, ko):
                if other not in eroded:
                    eroded[other] = (_morph(c[0], "erode", cfg.erode_px), c[1])
                _sub(mine, bb, *eroded[other])
            elif ko.d < ki.d:
                _sub(mine, bb, *c)
        full[bb[0] : bb[1], bb[2] : bb[3]] = mine
    return out


def panel_masks(seg: dict, keys: dict, panels: list[list[float]] | None, clip: bool = True) -> dict:
    """id -> bool [H, W]: each mask clipped to its character's panel (when `clip` and the panel is known)."""
    out = {}
    for cid, m in seg.items():
        p = keys[cid].panel
        if clip and panels and 0 <= p < len(panels):
            r0, r1, c0, c1 = _int_box(panels[p], m.shape)
            m = np.asarray(m, bool).copy()
            m[:r0], m[r1:], m[:, :c0], m[:, c1:] = False, False, False, False
        out[cid] = m
    return out


def soft_masks(masks: dict, sigma: float) -> dict:
    """id -> float32 [H, W] in 0..1: each hard mask with a Gaussian edge (sigma px)."""
    import cv2

    out = {}
    for cid, m in masks.items():
        out[cid] = cv2.GaussianBlur(m.astype(np.float32), (0, 0), sigma) if m.any() else m.astype(np.float32)
    return out


def order_with_evidence(
    page_img: np.ndarray, seg: dict, keys: dict, panels: list, zb: ZBufferCalculator, cfg: IsolationConfig
) -> dict:
    """The keys (id -> DepthKey) reordered by the page's occlusion evidence between the masks `seg` (clipped to
    their panels), the key's weights first fitted to it when asked (`order.page_order`); `d_adr` keeps the ADR
    key."""
    from segcorr.layering.evidence import page_readings
    from segcorr.layering.order import page_order

    ev, weak = page_readings(page_img, panel_masks(seg, keys, panels, cfg.clip_to_panel), keys, cfg.evidence)
    weights = zb.weights(any(k.depth is not None for k in keys.values()))
    out = page_order(keys, ev, weak, weights, cfg.evidence)
    return {c: dataclasses.replace(k, d_adr=keys[c].d) for c, k in out.items()}


def isolate_page(
    page_img: np.ndarray,
    characters: list[dict],
    segmenter,
    config: IsolationConfig | None = None,
    cache_path=None,
    panels: list[list[float]] | None = None,
    zbuffer: ZBufferCalculator | None = None,
    segmenter_settings: dict | None = None,
) -> IsolationResult:
    """Segment, order and isolate the characters of one page.

    page_img: uint8 [H, W] grey (or [H, W, 3]); characters: dicts with id, body_box [x0, y0, x1, y1],
    optional face_box, panel, type; segmenter: a `Segmenter` (box prompts); panels: boxes; zbuffer: a
    calculator (one with a depth model, say) -- default from `config.zbuffer`; cache_path: RLE mask
    cache JSON (read first, written back atomically); segmenter_settings: the options the segmenter was built
    with (checkpoint, weights, source...), part of the cache key.
    """
    from segcorr.data.manga import parse_page_spec

    cfg = config or IsolationConfig()
    characters, panels = parse_page_spec({"characters": characters, "panels": panels or []})
    for ch in characters:
        if ch["panel"] is None:
            ch["panel"] = assign_panel(ch["body_box"], panels)
    zb = zbuffer or ZBufferCalculator(cfg.zbuffer)
    cache = None
    if cache_path is not None:
        from segcorr.io.rle import MaskCache

        cache = MaskCache(cache_path)
    t0 = time.perf_counter()
    seg, sources = segment_characters(page_img, characters, segmenter, cfg, cache, segmenter_settings)
    t1 = time.perf_counter()
    keys: dict[object, DepthKey] = zb.keys(characters, panels, page_img.shape[:2], masks=seg, image=page_img)
    if cfg.evidence is not None and (not cfg.evidence.require_amodal or getattr(segmenter, "amodal", False)):
        keys = order_with_evidence(page_img, seg, keys, panels, zb, cfg)
    masks = isolate_masks(seg, keys, zb, panels, cfg)
    soft = soft_masks(masks, cfg.soft_sigma) if cfg.soft_edge else None
    t2 = time.perf_counter()
    if cache is not None:
        cache.save()
    return IsolationResult(
        masks=masks,
        order=order_by_panel(keys),
        keys=keys,
        sources=sources,
        soft=soft,
        ms_segment=(t1 - t0) * 1000,
        ms_isolate=(t2 - t1) * 1000,
    )
