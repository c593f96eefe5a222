"""The flow pair every flow reader returns (`FlowSample`), the reader protocol, and the size check they share."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from segcorr.errors import InputError


@dataclass(frozen=True)
class FlowSample:
    """One pair. All maps are [H, W] unless stated; None = not available.

    img0, img1: uint8 [H, W, 3] RGB; flow: float32 [2, H, W] GT frame0 -> frame1;
    valid: bool (GT usable); occ: bool (True = pixel of frame0 occluded in frame1);
    line: bool (True = line-art pixel of frame0); seg0, seg1: int32 label maps (0 = no segment).
    """

    name: str
    img0: np.ndarray
    img1: np.ndarray
    flow: np.ndarray
    valid: np.ndarray | None = None
    occ: np.ndarray | None = None
    line: np.ndarray | None = None
    seg0: np.ndarray | None = None
    seg1: np.ndarray | None = None


@runtime_checkable
class FlowDataset(Protocol):
    """Lazy, indexable set of ``FlowSample`` (files are read in ``__getitem__``; layout and partner files are
    checked when the set is opened)."""

    root: Path

    def __len__(self) -> int: ...

    def __getitem__(self, index: int) -> FlowSample: ...


def check_same_size(shape: tuple[int, int], array: np.ndarray | None, path: object, what: str) -> None:
    """Raise InputError naming ``path`` when ``array`` ([H, W, ...] or [2, H, W] for flow) is not ``shape``."""
    if array is None:
        return
    hw = tuple(array.shape[1:3]) if what == "flow" else tuple(array.shape[:2])
    if hw != tuple(shape):
        raise InputError(f"{what} is {hw[1]}x{hw[0]} but frame 0 is {shape[1]}x{shape[0]} (expected equal sizes)", path)
