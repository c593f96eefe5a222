"""Flow evaluation sets: one sample type, one opener that recognises the layout on disk.

Layouts (see DESIGN "File layouts"):
- pairs: ``NNNNN_img0.png NNNNN_img1.png NNNNN_flow.flo`` (+ optional occ / seg / line files),
  read by ``segcorr.data.pairs.PairsFlowDataset``;
- AnimeRun: a root with ``{train,test}/Frame_Anime/...``, read by ``segcorr.data.animerun.AnimeRunFlowDataset``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from segcorr.errors import InputError


@dataclass(frozen=True)
class FlowSample:
    """One evaluation pair. All maps are [H, W] unless stated; None = not available.

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
    """Lazy, indexable set of ``FlowSample`` (files are read in ``__getitem__``)."""

    root: Path

    def __len__(self) -> int: ...

    def __getitem__(self, index: int) -> FlowSample: ...


def check_same_size(shape: tuple[int, int], array: np.ndarray | None, path: object, what: str) -> None:
    """Raise InputError naming ``path`` when ``array`` ([H, W, ...] or [2, H, W] for flow) is not ``shape``."""
    if array is None:
        return
    hw = tuple(array.shape[1:3]) if what == "flow" else tuple(array.shape[:2])
    if hw != tuple(shape):
        raise InputError(f"{what} is {hw[1]}x{hw[0]} but frame 0 is {shape[1]}x{shape[0]} (expected equal sizes)",
                         path)


def open_flow_dataset(root: str | Path, split: str = "test") -> FlowDataset:
    """Open a flow set, recognising its layout.

    Arguments:
        root: a pairs folder or an AnimeRun root (or one AnimeRun split folder).
        split: AnimeRun split to read ("test" or "train"); ignored for the pairs layout.
    Raises:
        InputError: missing or empty folder, unknown layout, missing partner file.
    """
    from segcorr.data.animerun import AnimeRunFlowDataset, is_animerun_root
    from segcorr.data.pairs import PairsFlowDataset, is_pairs_dir

    root = Path(root)
    if not root.is_dir():
        raise InputError("expected a folder of flow pairs or an AnimeRun root, found no such folder", root)
    if is_pairs_dir(root):
        return PairsFlowDataset(root)
    if is_animerun_root(root):
        return AnimeRunFlowDataset(root, split=split)
    if not any(root.iterdir()):
        raise InputError("folder is empty (expected NNNNN_img0.png/_img1.png/_flow.flo pairs or an AnimeRun root)",
                         root)
    raise InputError("unknown layout: expected NNNNN_img0.png/_img1.png/_flow.flo pairs or an AnimeRun root "
                     "({train,test}/Frame_Anime/<scene>/original/*.png)", root)
