"""Growth by the model's box answer (``TrackerConfig.box_grow``).

Region propagation keeps an object to the colours it showed when prompted, so an object prompted while partly out
of view or partly hidden stays that part when the rest comes into view (a character entering the frame keeps its
dress, not its head and arms). Each frame, a present object's propagated mask is sent to the image model as a box
prompt (its tight box, answered from the image embedding without zoom); the answer replaces the mask when it grows
it and agrees with it: at least ``box_grow`` and at most ``box_grow_max`` times its area, holding at least
``box_grow_contain`` of it, with at most ``box_grow_other`` of the answer on other objects' masks of this frame
(those pixels stay theirs). Thresholds chosen on validation clips (figures in docs/tracking.md).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from segcorr.segment.tracker_config import TrackerConfig
from segcorr.segment.tracker_masks import mask_box


def grow_by_box(
    predictor, masks: dict[int, np.ndarray], ids: Iterable[int], cfg: TrackerConfig
) -> dict[int, np.ndarray]:
    """``masks``: this frame's masks (id -> bool [H, W]); ``ids``: the objects to check (present, not prompted on
    this frame). Returns id -> grown mask (bool [H, W], other objects' pixels left out) for those the answer grows."""
    out = {}
    for i in ids:
        m = masks.get(i)
        area = int(np.count_nonzero(m)) if m is not None else 0
        if area < max(cfg.min_pixels, 1):
            continue
        ans, _, _, obj = predictor.predict(box=mask_box(m), zoom=False)
        b = ans[0]
        nb = int(np.count_nonzero(b))
        if obj <= 0 or not cfg.box_grow * area <= nb <= cfg.box_grow_max * area:
            continue
        if np.count_nonzero(b & m) < cfg.box_grow_contain * area:
            continue
        others = np.zeros_like(b)
        for j, o in masks.items():
            if j != i:
                others |= o
        if np.count_nonzero(b & others) > cfg.box_grow_other * nb:
            continue
        out[i] = b & ~others
    return out
