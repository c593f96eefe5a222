"""`segcorr eval isolate`: runs the Z-buffer isolation on manga pages and scores it with the isolation metrics
(`segcorr.metrics.isolate`: ordering accuracy against two baselines, mask IoU, bleeding), plus speed.

- ms_per_item: isolation alone (Z-buffer keys + isolation formula) per page; ms_per_item_total: with
  segmentation. File reading is in neither.
Masks: "amodal" feeds the GT amodal masks as the segmenter's answer (every mask leaks over its
occluders: the worst case for the subtraction); "flat" prompts `segcorr.segment.build("flat")` with
the body boxes.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

import numpy as np

from segcorr.errors import InputError
from segcorr.layering.isolate import IsolationConfig, isolate_page
from segcorr.metrics.isolate import IsolationMetricAccumulator
from segcorr.segment.base import Masks, Prompts


class GivenMasks:
    """A segmenter that answers the i-th box prompt with the i-th given mask (ground truth, precomputed);
    `amodal`: the masks hold each figure's whole shape (the occlusion evidence reads only such masks)."""

    name = "given"

    def __init__(self, masks: list[np.ndarray], amodal: bool = False) -> None:
        self.masks = masks
        self.amodal = amodal

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


def evaluate_isolation(
    root: str | os.PathLike,
    masks: str = "amodal",
    progress: bool = True,
    limit: int | None = None,
    config: IsolationConfig | None = None,
) -> dict:
    """Metrics of the Z-buffer isolation on the manga folder `root` (keys as in DESIGN.md, plus counts)."""
    from segcorr.data.manga import MangaDataset

    ds = MangaDataset(root)
    n_pages = len(ds) if limit is None else min(limit, len(ds))
    return evaluate_items((ds[i] for i in range(n_pages)), n_pages, masks, str(root), progress, config)


def evaluate_items(
    items: Iterable,
    count: int,
    masks: str = "amodal",
    data_name: str = "",
    progress: bool = True,
    config: IsolationConfig | None = None,
) -> dict:
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
    acc = IsolationMetricAccumulator()
    ms_iso, ms_tot, fallbacks = [], [], 0
    with Progress(disable=not progress, transient=True) as prog:
        task = prog.add_task(f"isolate ({masks})", total=count)
        for item in items:
            chars = item.characters
            seg = flat if flat is not None else GivenMasks([item.amodal[c["id"]] for c in chars], amodal=True)
            res = isolate_page(item.image, chars, seg, cfg, panels=item.panels)
            ms_iso.append(res.ms_isolate)
            ms_tot.append(res.ms_isolate + res.ms_segment)
            fallbacks += sum(s.startswith("box") for s in res.sources.values())
            acc.update(chars, item.amodal, item.visible, res.keys, res.masks, item.image.shape[:2])
            prog.advance(task)
    m = acc.result()
    ev = cfg.evidence if cfg.evidence is not None and (masks == "amodal" or not cfg.evidence.require_amodal) else None
    order = "zbuffer" if ev is None else "zbuffer+evidence" if ev.use_key else "evidence"
    return {
        "method": f"{order}+{masks}",
        "data": data_name,
        "count": len(ms_iso),
        "order_acc": m["order_acc"],
        "order_acc_area": m["order_acc_area"],
        "order_acc_lower_edge": m["order_acc_lower_edge"],
        "iou": m["iou"],
        "bleeding": m["bleeding"],
        "ms_per_item": float(np.mean(ms_iso)) if ms_iso else None,
        "ms_per_item_total": float(np.mean(ms_tot)) if ms_tot else None,
        "pairs": m["pairs"],
        "characters": m["characters"],
        "box_fallbacks": fallbacks,
    }
