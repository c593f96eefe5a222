"""Reader for the pairs layout (DESIGN): ``NNNNN_img0.png NNNNN_img1.png NNNNN_flow.flo`` plus optional
``NNNNN_occ.png`` (255 = occluded in frame 0), ``NNNNN_seg0.png`` / ``NNNNN_seg1.png`` (16-bit label maps)
and ``NNNNN_line0.png`` (255 = line art in frame 0). ``meta.json`` and unknown files are ignored.

A pairs folder with no ``_flow.flo`` at all (real footage: no ground truth) is read by ``PairsFramesDataset``:
frames and label maps only, for evaluation without ground truth (``segcorr.flow.evaluate_nogt``).

Line pixels for the line/flat metrics: ``_line0.png`` when present, else pixels within 2 px of a segment
boundary of ``_seg0.png``, else none (line metrics None). Evaluation and training (`segcorr.data.flow_train`)
both read the layout here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from segcorr.data.flow_sample import FlowSample, check_same_size
from segcorr.errors import InputError

_PART = re.compile(r"^(?P<stem>.+)_(?P<part>img0|img1|flow)\.(png|flo)$")
_REQUIRED = {"img0": "_img0.png", "img1": "_img1.png", "flow": "_flow.flo"}
LINE_RADIUS = 2


def _stems(root: Path) -> dict[str, set[str]]:
    """stem -> required parts present (img0, img1, flow)."""
    found: dict[str, set[str]] = {}
    for p in root.iterdir():
        m = _PART.match(p.name)
        if m and p.is_file() and p.name == m["stem"] + _REQUIRED[m["part"]]:
            found.setdefault(m["stem"], set()).add(m["part"])
    return found


def is_pairs_dir(root: str | Path) -> bool:
    """True when ``root`` holds at least one file of the pairs layout."""
    return bool(_stems(Path(root)))


def has_flow_files(root: str | Path) -> bool:
    """True when ``root`` holds at least one ``NNNNN_flow.flo`` (ground truth); False for frames only."""
    return any("flow" in parts for parts in _stems(Path(root)).values())


class PairsFlowDataset:
    """Lazy pairs-layout set; samples sorted by stem. Partner files are checked at open time.

    labels_dir: a folder of ``NNNNN_seg0.png`` / ``_seg1.png`` label maps (precomputed by a segmenter) read instead
    of the pairs folder's own.
    """

    def __init__(
        self, root: str | Path, line_radius: float = LINE_RADIUS, labels_dir: str | Path | None = None
    ) -> None:
        self.root = Path(root)
        self.line_radius = line_radius
        if not self.root.is_dir():
            raise InputError("expected a folder in the pairs layout, found no folder", self.root)
        self.labels = Path(labels_dir) if labels_dir else self.root
        if not self.labels.is_dir():
            raise InputError(
                "expected a folder of label maps (NNNNN_seg0.png, NNNNN_seg1.png), found no folder", self.labels
            )
        found = _stems(self.root)
        if not found:
            raise InputError("no flow pairs found (expected NNNNN_img0.png, NNNNN_img1.png, NNNNN_flow.flo)", self.root)
        for stem in sorted(found):
            for part in ("img0", "img1", "flow"):
                if part not in found[stem]:
                    have = ", ".join(stem + _REQUIRED[p] for p in sorted(found[stem]))
                    raise InputError(f"missing partner file (found {have})", self.root / (stem + _REQUIRED[part]))
        self.stems = sorted(found)

    def __len__(self) -> int:
        return len(self.stems)

    def __getitem__(self, index: int) -> FlowSample:
        from segcorr.io.flo import read_flo
        from segcorr.io.image import read_gray, read_image
        from segcorr.io.labelmap import read_labelmap

        stem = self.stems[index]
        path = {
            k: self.root / f"{stem}{suffix}"
            for k, suffix in {
                "img0": "_img0.png",
                "img1": "_img1.png",
                "flow": "_flow.flo",
                "occ": "_occ.png",
                "line": "_line0.png",
            }.items()
        }
        path["seg0"], path["seg1"] = self.labels / f"{stem}_seg0.png", self.labels / f"{stem}_seg1.png"
        img0 = read_image(path["img0"])
        shape = img0.shape[:2]
        img1 = read_image(path["img1"])
        check_same_size(shape, img1, path["img1"], "img1")
        flow = read_flo(path["flow"])
        check_same_size(shape, flow, path["flow"], "flow")
        occ = read_gray(path["occ"]) > 127 if path["occ"].is_file() else None
        check_same_size(shape, occ, path["occ"], "occlusion mask")
        seg0 = read_labelmap(path["seg0"]) if path["seg0"].is_file() else None
        check_same_size(shape, seg0, path["seg0"], "label map")
        seg1 = read_labelmap(path["seg1"]) if path["seg1"].is_file() else None
        check_same_size(shape, seg1, path["seg1"], "label map")
        line = read_gray(path["line"]) > 127 if path["line"].is_file() else None
        check_same_size(shape, line, path["line"], "line mask")
        if line is None and seg0 is not None:
            from segcorr.metrics.flow import line_mask_from_segments

            line = line_mask_from_segments(seg0, self.line_radius)
        return FlowSample(
            name=stem, img0=img0, img1=img1, flow=flow, valid=None, occ=occ, line=line, seg0=seg0, seg1=seg1
        )


@dataclass(frozen=True)
class FramePair:
    """One pair without ground truth: img0, img1 uint8 [H, W, 3] RGB; seg0, seg1 int32 [H, W] label maps (0 = no
    segment) or None. Flow methods read ``seg0``/``seg1`` from it as from a ``FlowSample``."""

    name: str
    img0: np.ndarray
    img1: np.ndarray
    seg0: np.ndarray | None = None
    seg1: np.ndarray | None = None

    def swapped(self) -> FramePair:
        """The pair played backwards (frame 1 -> frame 0), label maps swapped too."""
        return FramePair(self.name, self.img1, self.img0, self.seg1, self.seg0)


class PairsFramesDataset:
    """Lazy pairs-layout set without ground truth: ``NNNNN_img0.png`` + ``NNNNN_img1.png`` (+ optional
    ``_seg0.png``/``_seg1.png``), samples (``FramePair``) sorted by stem. Partner frames are checked at open time."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise InputError("expected a folder in the pairs layout, found no folder", self.root)
        found = _stems(self.root)
        if not found:
            raise InputError("no frame pairs found (expected NNNNN_img0.png, NNNNN_img1.png)", self.root)
        for stem in sorted(found):
            for part in ("img0", "img1"):
                if part not in found[stem]:
                    raise InputError(
                        f"missing partner frame (found {stem + _REQUIRED[sorted(found[stem])[0]]})",
                        self.root / (stem + _REQUIRED[part]),
                    )
        self.stems = sorted(found)

    def __len__(self) -> int:
        return len(self.stems)

    def __getitem__(self, index: int) -> FramePair:
        from segcorr.io.image import read_image
        from segcorr.io.labelmap import read_labelmap

        stem = self.stems[index]
        img0 = read_image(self.root / f"{stem}_img0.png")
        img1 = read_image(self.root / f"{stem}_img1.png")
        check_same_size(img0.shape[:2], img1, self.root / f"{stem}_img1.png", "img1")
        segs = []
        for k in (0, 1):
            path = self.root / f"{stem}_seg{k}.png"
            seg = read_labelmap(path) if path.is_file() else None
            check_same_size(img0.shape[:2], seg, path, "label map")
            segs.append(seg)
        return FramePair(stem, img0, img1, *segs)
