"""Flow sets on disk: one opener that recognises the layout and returns its reader.

Layouts (see DESIGN "File layouts"):
- pairs: ``NNNNN_img0.png NNNNN_img1.png NNNNN_flow.flo`` (+ optional occ / seg / line files),
  read by ``segcorr.data.pairs.PairsFlowDataset``;
- AnimeRun: a root with ``{train,test}/Frame_Anime/...``, read by ``segcorr.data.animerun.AnimeRunFlowDataset``;
- pairs without ground truth (no ``_flow.flo`` at all: real footage), read by
  ``segcorr.data.pairs.PairsFramesDataset`` through ``open_frame_pairs`` (``is_frames_only`` tells them apart).
Training reads through the same readers (``segcorr.data.flow_train.FlowTrainingSet``). The sample type every
reader returns, ``FlowSample``, lives in ``segcorr.data.flow_sample`` and is importable from here too.
"""

from __future__ import annotations

from pathlib import Path

from segcorr.data.animerun import AnimeRunFlowDataset, is_animerun_root
from segcorr.data.flow_sample import FlowDataset, FlowSample, check_same_size
from segcorr.data.pairs import PairsFlowDataset, PairsFramesDataset, has_flow_files, is_pairs_dir
from segcorr.errors import InputError

__all__ = ["FlowDataset", "FlowSample", "check_same_size", "is_frames_only", "open_flow_dataset", "open_frame_pairs"]


def open_flow_dataset(root: str | Path, split: str = "test") -> FlowDataset:
    """Open a flow set, recognising its layout.

    Arguments:
        root: a pairs folder or an AnimeRun root (or one AnimeRun split folder).
        split: AnimeRun split to read ("test" or "train"); ignored for the pairs layout.
    Raises:
        InputError: missing or empty folder, unknown layout, missing partner file.
    """
    root = Path(root)
    if not root.is_dir():
        raise InputError("expected a folder of flow pairs or an AnimeRun root, found no such folder", root)
    if is_pairs_dir(root):
        return PairsFlowDataset(root)
    if is_animerun_root(root):
        return AnimeRunFlowDataset(root, split=split)
    if not any(root.iterdir()):
        raise InputError(
            "folder is empty (expected NNNNN_img0.png/_img1.png/_flow.flo pairs or an AnimeRun root)", root
        )
    raise InputError(
        "unknown layout: expected NNNNN_img0.png/_img1.png/_flow.flo pairs or an AnimeRun root "
        "({train,test}/Frame_Anime/<scene>/original/*.png)",
        root,
    )


def is_frames_only(root: str | Path) -> bool:
    """True for a pairs folder with frames but no ``_flow.flo`` file at all (evaluation without ground truth)."""
    root = Path(root)
    return root.is_dir() and is_pairs_dir(root) and not has_flow_files(root)


def open_frame_pairs(root: str | Path) -> PairsFramesDataset:
    """Open a pairs folder for evaluation without ground truth (its ``_flow.flo`` files, if any, are not read).

    Raises:
        InputError: missing folder, no ``NNNNN_img0.png``/``_img1.png`` pairs, missing partner frame.
    """
    return PairsFramesDataset(root)
