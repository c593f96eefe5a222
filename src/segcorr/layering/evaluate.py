"""`segcorr eval isolate`: ordering accuracy, mask IoU, bleeding and speed on a manga folder.

Protocol (one for every method compared):
- ordering: every pair of characters of one panel whose GT amodal masks overlap (>= 1 px) and whose GT
  depths differ; a method is right when it puts the GT-nearer one in front; a tie counts 1/2. The
  Z-buffer is compared with two baselines on the same pairs and the same masks: area only (larger mask
  area = nearer) and lower edge (larger body-box y1 = nearer).
- iou: mean over characters of IoU(isolated mask, GT visible mask).
- bleeding: over all characters, the share of isolated-mask pixels that lie in OTHER characters' GT
  visible masks (pooled: sum of bleeding pixels / sum of mask pixels).
- ms_per_item: isolation alone (Z-buffer keys + isolation formula) per page; ms_per_item_total: with
  segmentation. File reading is in neither.
Masks: "amodal" feeds the GT amodal masks as the segmenter's answer (every mask leaks over its
occluders: the worst case for the subtraction); "flat" prompts `segcorr.segment.build("flat")` with
the body boxes.
"""

from __future__ import annotations

import os
from typing import Iterable

import numpy as np

from segcorr.errors import InputError
from segcorr.layering.isolate import IsolationConfig, isolate_page
from segcorr.segment.base import Masks, Prompts


class GivenMasks:
    """A segmenter that answers the i-th box prompt with the i-th given mask (ground truth, precomputed)."""

    name = "given"

    def __init__(self, masks: list[np.ndarray]) -> None:
        self.masks = masks

    def segment(self, image: np.ndarray, prompts: Prompts) -> Masks:
        n = 0 if prompts.boxes is None else len(prompts.boxes)
        if n != len(self.masks):
            raise ValueError(f"GivenMasks holds {len(self.masks)} masks, was asked for {n}")
        stack = np.stack(self.masks) if n else np.zeros((0, *image.shape[:2]), bool)
        return Masks(masks=stack, scores=np.ones(n, np.float32))

    def segment_all(self, image: np.ndarray) -> np.ndarray:
        labels = np.zeros(image.shape[:2], np.int32)
        for i, m in enumerate(self.masks, start=1):
            labels[m & (labels == 0)] = i
        return labels


def _pair_score(key_i: float, key_j: float, i_nearer: bool, smaller_is_nearer: bool) -> float:
    if key_i == key_j:
        return 0.5
    return float((key_i < key_j) == i_nearer) if smaller_is_nearer else float((key_i > key_j) == i_nearer)


def ordering_pairs(characters: list[dict], amodal: dict) -> list[tuple[int, int]]:
    """Index pairs (i, j) of characters of one panel whose amodal masks overlap and whose depths differ."""
    out = []
    boxes = {}
    for ch in characters:
        m = amodal[ch["id"]]
        rows, cols = np.flatnonzero(m.any(axis=1)), np.flatnonzero(m.any(axis=0))
        boxes[ch["id"]] = None if not len(rows) else (rows[0], rows[-1] + 1, cols[0], cols[-1] + 1)
    for i, a in enumerate(characters):
        for j in range(i + 1, len(characters)):
            b = characters[j]
            if a.get("panel") != b.get("panel") or a.get("depth") is None or b.get("depth") is None:
                continue
            if a["depth"] == b["depth"] or boxes[a["id"]] is None or boxes[b["id"]] is None:
                continue
            ba, bb = boxes[a["id"]], boxes[b["id"]]
            r0, r1, c0, c1 = max(ba[0], bb[0]), min(ba[1], bb[1]), max(ba[2], bb[2]), min(ba[3], bb[3])
            if r0 < r1 and c0 < c1 and (amodal[a["id"]][r0:r1, c0:c1] & amodal[b["id"]][r0:r1, c0:c1]).any():
                out.append((i, j))
    return out


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    union = int(np.count_nonzero(a | b))
    return 1.0 if union == 0 else int(np.count_nonzero(a & b)) / union


def evaluate_isolation(root: str | os.PathLike, masks: str = "amodal", progress: bool = True,
                       limit: int | None = None, config: IsolationConfig | None = None) -> dict:
    """Metrics of the Z-buffer isolation on the manga folder `root` (keys as in DESIGN.md, plus counts)."""
    from segcorr.data.manga import MangaDataset

    ds = MangaDataset(root)
    n_pages = len(ds) if limit is None else min(limit, len(ds))
    return evaluate_items((ds[i] for i in range(n_pages)), n_pages, masks, str(root), progress, config)


def evaluate_items(items: Iterable, count: int, masks: str = "amodal", data_name: str = "", progress: bool = True,
                   config: IsolationConfig | None = None) -> dict:
    """The protocol on pages in memory: objects with image, characters (with depth and panel), panels,
    visible and amodal (id -> bool [H, W]) -- a `MangaItem` or a generated `MangaPage`."""
    from rich.progress import Progress

    if masks not in ("amodal", "flat"):
        raise InputError(f'expected masks "amodal" or "flat", found {masks!r}')
    flat = None
    if masks == "flat":
        from segcorr.segment import build

        flat = build("flat")
    cfg = config or IsolationConfig()
    right = {"zbuffer": 0.0, "area": 0.0, "lower_edge": 0.0}
    n_pairs, ious, bleed_px, mask_px, ms_iso, ms_tot, fallbacks = 0, [], 0, 0, [], [], 0
    with Progress(disable=not progress, transient=True) as prog:
        task = prog.add_task(f"isolate ({masks})", total=count)
        for item in items:
            chars = item.characters
            seg = flat if flat is not None else GivenMasks([item.amodal[c["id"]] for c in chars])
            res = isolate_page(item.image, chars, seg, cfg, panels=item.panels)
            ms_iso.append(res.ms_isolate)
            ms_tot.append(res.ms_isolate + res.ms_segment)
            fallbacks += sum(s.startswith("box") for s in res.sources.values())
            for i, j in ordering_pairs(chars, item.amodal):
                a, b = chars[i], chars[j]
                i_near = a["depth"] < b["depth"]
                ka, kb = res.keys[a["id"]], res.keys[b["id"]]
                right["zbuffer"] += _pair_score(ka.d, kb.d, i_near, True)
                right["area"] += _pair_score(ka.area_px, kb.area_px, i_near, False)
                right["lower_edge"] += _pair_score(a["body_box"][3], b["body_box"][3], i_near, False)
                n_pairs += 1
            owner = np.zeros(item.image.shape[:2], np.int32)
            for n, c in enumerate(chars, start=1):
                owner[item.visible[c["id"]]] = n
            for n, c in enumerate(chars, start=1):
                m = res.masks[c["id"]]
                ious.append(_iou(m, item.visible[c["id"]]))
                inside = owner[m]
                bleed_px += int(np.count_nonzero((inside > 0) & (inside != n)))
                mask_px += int(inside.size)
            prog.advance(task)
    acc = {k: (v / n_pairs if n_pairs else None) for k, v in right.items()}
    return {
        "method": f"zbuffer+{masks}", "data": data_name, "count": len(ms_iso),
        "order_acc": acc["zbuffer"], "order_acc_area": acc["area"], "order_acc_lower_edge": acc["lower_edge"],
        "iou": float(np.mean(ious)) if ious else None,
        "bleeding": bleed_px / mask_px if mask_px else None,
        "ms_per_item": float(np.mean(ms_iso)) if ms_iso else None,
        "ms_per_item_total": float(np.mean(ms_tot)) if ms_tot else None,
        "pairs": n_pairs, "characters": len(ious), "box_fallbacks": fallbacks,
    }
