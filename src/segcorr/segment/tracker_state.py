"""The tracker's data: a prompt for one object (``ObjectPrompt``), the bounded state and memory bank of one object
(``ObjectTrack``) and one frame's answer (``FrameResult``)."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

from segcorr.segment.memory import MemoryEntry
from segcorr.segment.model.sam3 import NO_OBJ_SCORE


@dataclass
class ObjectPrompt:
    """Prompt for one object on the frame it is given with. obj_id: None starts a new masklet; a known id
    corrects it. points [P, 2] (x, y) pixels with labels [P] (1 on, 0 not on); box [4] x0, y0, x1, y1;
    mask bool [H, W] (used as the answer on this frame, SAM 2's mask-as-output)."""

    obj_id: int | None = None
    points: np.ndarray | None = None
    labels: np.ndarray | None = None
    box: np.ndarray | None = None
    mask: np.ndarray | None = None


@dataclass
class ObjectTrack:
    """Bounded state of one object. The ``last_*`` fields describe its last good mask (what reprompts and
    recovery start from); ``cond`` and ``recent`` are its memory bank (memory mode)."""

    obj_id: int
    phrase: str | None
    num_recent: int
    present: bool = False
    score: float = NO_OBJ_SCORE
    best_score: float = 0.0
    last_t: int = -1
    last_prompt: np.ndarray | None = None  # [h4, w4] mask-prompt logits
    last_small: np.ndarray | None = None  # float32 [sh, sw]: the mask at the model's working size
    last_point: np.ndarray | None = None  # [2] x, y
    last_box: np.ndarray | None = None  # [4]
    last_area: int = 0
    last_centroid: np.ndarray | None = None
    last_mask: np.ndarray | None = None  # bool [H, W], full size (motion "regions" only)
    palette: np.ndarray | None = None  # [K, 3] CIELAB colours of its prompted regions (motion "regions" only)
    distinct: np.ndarray | None = None  # bool [K]: palette colours found nowhere else on the prompted frame
    ref_area: int = 0  # its area when prompted (the size prior of a re-entry)
    own_share: float = 0.0  # share of its prompted region pixels in its own (``distinct``) colours
    edge_motion: np.ndarray | None = None  # [2] its last median backward flow (motion "regions", ``edge_motion``)
    velocity: np.ndarray = field(default_factory=lambda: np.zeros(2, np.float32))
    cond: MemoryEntry | None = None
    recent: deque = field(default_factory=deque)

    def __post_init__(self) -> None:
        self.recent = deque(maxlen=max(self.num_recent, 0))

    def memories(self) -> list[MemoryEntry]:
        return ([self.cond] if self.cond is not None else []) + list(self.recent)


@dataclass
class FrameResult:
    """One frame's answer: ids [N] of every object known so far, masks bool [N, H, W], scores [N] (object score
    logits; NO_OBJ_SCORE where absent), present bool [N]."""

    t: int
    ids: list[int]
    masks: np.ndarray
    scores: np.ndarray
    present: np.ndarray

    def labels(self) -> np.ndarray:
        """Label map uint16 [H, W]: value = object id, 0 = none (masks never overlap)."""
        out = np.zeros(self.masks.shape[1:], np.uint16)
        for i, m in zip(self.ids, self.masks):
            out[m] = i
        return out
