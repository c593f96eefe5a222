"""Association of text detections with the masklets of their phrase: a detection overlapping one of them (mask
IoU) confirms it, one that another object already holds is dropped, and the rest bring back an absent masklet of
the phrase (best box IoU, then most recently seen) or start a new one."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from segcorr.segment.predictor import ConceptResult
from segcorr.segment.tracker_config import TrackerConfig
from segcorr.segment.tracker_masks import box_iou
from segcorr.segment.tracker_state import ObjectTrack


def match_detections(
    det: ConceptResult,
    own: list[ObjectTrack],
    masks: dict[int, np.ndarray],
    t: int,
    config: TrackerConfig,
    new_track: Callable[[], ObjectTrack | None],
) -> list[tuple[ObjectTrack, int]]:
    """Detections of one phrase on frame ``t`` (best first) against ``own``, that phrase's masklets, and
    ``masks`` (obj id -> bool [H, W], every object's mask on this frame). Returns (masklet, detection index) for
    every detection that now places a masklet; ``masks`` then holds the detection's mask for it. ``new_track()``
    starts a masklet (appended to ``own``), or returns None when no more may start."""
    taken: set[int] = set()
    placed: list[tuple[ObjectTrack, int]] = []
    for d in np.argsort(-det.scores):
        dm = det.masks[d]
        area = int(dm.sum())
        if area < config.min_pixels:
            continue
        best, best_iou = None, config.assoc_iou
        for tr in own:
            m = masks.get(tr.obj_id)
            if tr.obj_id in taken or m is None or not m.any():
                continue
            iou = (m & dm).sum() / max((m | dm).sum(), 1)
            if iou >= best_iou:
                best, best_iou = tr, iou
        if best is not None:
            taken.add(best.obj_id)
            continue
        covered = sum(int((m & dm).sum()) for m in masks.values())
        if covered > config.max_overlap * area:
            continue  # another object (of any phrase) already holds it
        lost = [
            tr
            for tr in own
            if tr.obj_id not in taken and not masks.get(tr.obj_id, np.zeros(1, bool)).any() and tr.last_box is not None
        ]
        if lost:  # an absent masklet of this phrase comes back under its own id
            dbox = det.boxes[d]
            tr = max(lost, key=lambda o: (box_iou(o.last_box, dbox), -abs(t - o.last_t)))
        else:
            tr = new_track()
            if tr is None:
                continue
            own.append(tr)
        taken.add(tr.obj_id)
        masks[tr.obj_id] = dm
        placed.append((tr, int(d)))
    return placed
