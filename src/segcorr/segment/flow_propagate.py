"""``FlowPropagator``: the classical rival of the tracker, assembled from what ``segcorr`` already has.

Each frame, every object's previous mask is pulled forward along the flow from the current frame back to the
previous one (backward warping, bilinear on the 0/1 mask), then snapped to the flat-colour segments of the
current frame (``snap_to_regions``: a segment mostly inside the warped mask joins it); a pixel claimed by two
objects goes to the one with the larger warped value. Objects are prompted with masks (the semi-supervised
protocol); an object whose warped mask vanishes is absent from then on until prompted again. Same streaming
interface and ``FrameResult`` as ``Sam3Tracker``; state is the previous frame, its label map and one mask
per object (bounded).

flow: a flow method name of ``segcorr.flow.methods.get_method`` ("aniflowformer-v3", "dis-medium", ...).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from segcorr.errors import InputError
from segcorr.segment.model.sam3 import NO_OBJ_SCORE
from segcorr.segment.predictor import as_rgb_uint8
from segcorr.segment.snap import snap_to_regions
from segcorr.segment.tracker import MAX_ID, FrameResult, ObjectPrompt, warp_backward


class FlowPropagator:
    """Mask propagation along optical flow, snapped to flat segments. ``snap``: False keeps the warped masks."""

    def __init__(self, flow: str = "aniflowformer-v3", snap: bool = True) -> None:
        from segcorr.flow.methods import get_method

        self.flow_name = flow
        self.flow = get_method(flow)
        self.snap = snap
        self._flat = None
        self.reset()

    def reset(self) -> None:
        self.t = 0
        self._prev: np.ndarray | None = None
        self._prev_labels: np.ndarray | None = None
        self.masks: dict[int, np.ndarray] = {}  # obj id -> bool [H, W] on the previous frame (empty: absent)
        self.phrases: dict[str, int] = {}

    def add_text(self, phrase: str) -> None:
        raise InputError("flow propagation takes mask prompts only (no text concepts)")

    def _labels(self, img: np.ndarray) -> np.ndarray:
        if self._flat is None:
            from segcorr.segment.flat import FlatSegmenter

            self._flat = FlatSegmenter()
        return self._flat.segment_all(img).astype(np.int64)

    def step(self, frame: np.ndarray, prompts: Sequence[ObjectPrompt] = ()) -> FrameResult:
        img = as_rgb_uint8(frame, "frame")
        if self._prev is not None and img.shape != self._prev.shape:
            raise InputError(
                f"frame {self.t} is {img.shape[1]}x{img.shape[0]}, earlier frames are "
                f"{self._prev.shape[1]}x{self._prev.shape[0]} (expected one size)"
            )
        labels = self._labels(img) if self.snap else None
        h, w = img.shape[:2]
        probs: dict[int, np.ndarray] = {}
        alive = {i: m for i, m in self.masks.items() if m.any()}
        if alive and self._prev is not None:
            sample = {"seg0": labels, "seg1": self._prev_labels} if self.snap else None
            back = self.flow(img, self._prev, sample)
            for i, m in alive.items():
                probs[i] = warp_backward(m.astype(np.float32), back)
        masks = {i: (snap_to_regions(p, labels) if labels is not None else p > 0.5) for i, p in probs.items()}
        if len(masks) > 1:
            ids = list(masks)
            score = np.where(np.stack([masks[i] for i in ids]), np.stack([probs[i] for i in ids]), -1.0)
            win = np.argmax(score, axis=0)
            masks = {i: masks[i] & (win == k) for k, i in enumerate(ids)}
        for pr in prompts:
            if pr.mask is None:
                raise InputError("flow propagation takes mask prompts only (no points or boxes)")
            m = np.asarray(pr.mask, bool)
            if m.shape != (h, w):
                raise InputError(f"mask prompt is {m.shape}, frame {self.t} is {(h, w)}")
            i = max(self.masks, default=0) + 1 if pr.obj_id is None else int(pr.obj_id)
            if not 1 <= i <= MAX_ID:
                raise InputError(f"expected an object id in 1..{MAX_ID}, found {i}")
            for j in masks:
                masks[j] = masks[j] & ~m
            masks[i] = m
        for i in self.masks:
            masks.setdefault(i, np.zeros((h, w), bool))
        self.masks = masks
        self._prev, self._prev_labels = img, labels
        ids = sorted(masks)
        present = np.array([masks[i].any() for i in ids], bool)
        result = FrameResult(
            self.t,
            ids,
            np.stack([masks[i] for i in ids]) if ids else np.zeros((0, h, w), bool),
            np.where(present, 1.0, NO_OBJ_SCORE).astype(np.float32),
            present,
        )
        self.t += 1
        return result
