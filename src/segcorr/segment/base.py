"""The Segmenter protocol every backend implements (flat, labelmap, sam2, builtin).

Prompts and answers are plain NumPy so that any system can use a segmenter without importing torch
internals of another system.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np


@dataclass
class Prompts:
    """Prompts for one image. Coordinates are pixels in the image's frame.

    points: [P, 2] float (x, y); point_labels: [P] int (1 foreground, 0 background);
    boxes: [N, 4] float (x0, y0, x1, y1); masks: [N, H, W] bool; text: concept phrases.
    Each box (or mask, or text phrase) asks for one object; points without boxes ask for one object.
    """

    points: np.ndarray | None = None
    point_labels: np.ndarray | None = None
    boxes: np.ndarray | None = None
    masks: np.ndarray | None = None
    text: list[str] = field(default_factory=list)


@dataclass
class Masks:
    """Answer of a segmenter: masks [N, H, W] bool, scores [N] float in 0..1, optional ids [N].

    Backends that can fill them add predicted IoUs, boxes and (for a text prompt) the presence probability.
    """

    masks: np.ndarray
    scores: np.ndarray
    ids: list | None = None
    iou_pred: np.ndarray | None = None  # [N] predicted IoU (SAM-style decoders)
    boxes: np.ndarray | None = None  # [N, 4] float (x0, y0, x1, y1)
    presence: float | None = None  # text prompts: probability that the concept is in the image at all

    def __len__(self) -> int:
        return int(self.masks.shape[0])


@runtime_checkable
class Segmenter(Protocol):
    name: str

    def segment(self, image: np.ndarray, prompts: Prompts) -> Masks:
        """image: [H, W, 3] uint8 RGB (or [H, W] grey). Returns one mask per prompted object."""
        ...

    def segment_all(self, image: np.ndarray) -> np.ndarray:
        """Automatic segmentation. Returns a label map [H, W] int32, 0 = no segment, 1..S."""
        ...
