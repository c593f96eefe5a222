"""Reader for AnimeRun (Siyao et al., NeurIPS 2022) as flow pairs.

Layout of one split (``<root>/{train,test}/``)::

    Frame_Anime/<scene>/original/*.png      frames, paired i -> i+1 in name order
    Flow/<scene>/forward/*.flo              one flow per pair, in name order
    Segment/<scene>/*.npy                   one label map per frame (ids from 0; 0 is a real segment)
    UnmatchedForward/<scene>/*.npy          one map per pair, 1 = matched (NOT occluded), 0 = occluded;
                                            older releases: UnMatched/ or Unmatched/
    LineArea/<scene>/*.npy                  one map per pair (test only), 0 = line pixel

Files are matched by position in name order within each scene, as the authors' own loader does, so
the names themselves need not line up across folders; counts must. Optional folders may be absent
(the metrics that need them become None); an optional folder that exists must be complete. Evaluation and
training (`segcorr.data.flow_train`) both read AnimeRun here.

Precomputed label maps (``labels_dir``, e.g. from ``segcorr precompute-masks``) replace ``Segment/``:
``<labels_dir>/<scene>/<frame stem>.png`` (16-bit, 0 = no segment); a frame without one has no label map.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from segcorr.data.flow_sample import FlowSample, check_same_size
from segcorr.errors import InputError

FRAMES = "Frame_Anime"
# Names seen across releases, preferred first.
OCC_DIRS = ("UnmatchedForward", "UnMatchedForward", "Unmatched", "UnMatched")
LINE_RADIUS = 2


def _split_dir(root: Path, split: str) -> Path | None:
    if (root / split / FRAMES).is_dir():
        return root / split
    if (root / FRAMES).is_dir():  # the user pointed at one split folder
        return root
    return None


def is_animerun_root(root: str | Path) -> bool:
    """True when ``root`` (or its train/test folder) has a ``Frame_Anime`` folder."""
    root = Path(root)
    return any((root / s / FRAMES).is_dir() for s in ("test", "train")) or (root / FRAMES).is_dir()


def _files(folder: Path, pattern: str) -> list[Path]:
    return sorted(p for p in folder.glob(pattern) if p.is_file()) if folder.is_dir() else []


@dataclass(frozen=True)
class _Pair:
    name: str
    img0: Path
    img1: Path
    flow: Path
    occ: Path | None
    line: Path | None
    seg0: Path | None
    seg1: Path | None


def _need_count(files: list[Path], want: int, folder: Path, what: str) -> None:
    if len(files) != want:
        raise InputError(
            f"expected {want} {what} files (one per {'frame' if what == 'segment' else 'pair'}), found {len(files)}",
            folder,
        )


def _scene_pairs(split: Path, scene: str, labels_dir: Path | None) -> list[_Pair]:
    frames = _files(split / FRAMES / scene / "original", "*.png")
    if len(frames) < 2:
        return []
    n = len(frames) - 1
    flow_dir = split / "Flow" / scene / "forward"
    flows = _files(flow_dir, "*.flo")
    _need_count(flows, n, flow_dir, "forward flow (.flo)")
    occs: list[Path | None] = [None] * n
    for name in OCC_DIRS:
        if (split / name / scene).is_dir():
            occs = _files(split / name / scene, "*.npy")
            _need_count(occs, n, split / name / scene, "occlusion (.npy)")
            break
    lines: list[Path | None] = [None] * n
    if (split / "LineArea" / scene).is_dir():
        lines = _files(split / "LineArea" / scene, "*.npy")
        _need_count(lines, n, split / "LineArea" / scene, "line area (.npy)")
    segs: list[Path | None] = [None] * (n + 1)
    if labels_dir is not None:
        segs = [labels_dir / scene / f"{f.stem}.png" for f in frames]
        segs = [p if p.is_file() else None for p in segs]
    elif (split / "Segment" / scene).is_dir():
        segs = _files(split / "Segment" / scene, "*.npy")
        _need_count(segs, n + 1, split / "Segment" / scene, "segment")
    return [
        _Pair(f"{scene}/{frames[i].stem}", frames[i], frames[i + 1], flows[i], occs[i], lines[i], segs[i], segs[i + 1])
        for i in range(n)
    ]


def _load_npy(path: Path) -> np.ndarray:
    try:
        a = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as e:
        raise InputError(f"expected a NumPy .npy array, could not read it ({e})", path) from e
    a = np.squeeze(a)
    if a.ndim != 2:
        raise InputError(f"expected a 2-D map [H, W], found shape {a.shape}", path)
    return a


def _labels(path: Path | None) -> np.ndarray | None:
    """AnimeRun ids start at 0 for a real segment; ours reserve 0 for 'no segment', hence the shift. A .png is a
    precomputed label map in our ids, read as is."""
    if path is None:
        return None
    if path.suffix == ".png":
        from segcorr.io.labelmap import read_labelmap

        return read_labelmap(path)
    a = _load_npy(path).astype(np.int64)
    return np.where(a >= 0, a + 1, 0).astype(np.int32)


class AnimeRunFlowDataset:
    """Lazy AnimeRun flow pairs of one split; scenes in name order, frames i -> i+1 within a scene.

    labels_dir: precomputed label maps used instead of ``Segment/`` (see the module docstring).
    """

    def __init__(
        self,
        root: str | Path,
        split: str = "test",
        line_radius: float = LINE_RADIUS,
        labels_dir: str | Path | None = None,
    ) -> None:
        self.root = Path(root)
        self.line_radius = line_radius
        labels = Path(labels_dir) if labels_dir else None
        if labels is not None and not labels.is_dir():
            raise InputError("expected a folder of label maps <scene>/<frame stem>.png, found no folder", labels)
        found = _split_dir(self.root, split)
        if found is None:
            have = [s for s in ("test", "train") if (self.root / s / FRAMES).is_dir()]
            raise InputError(
                f"AnimeRun split {split!r} not found (expected {split}/{FRAMES}/; "
                f"found splits: {', '.join(have) or 'none'})",
                self.root,
            )
        self.split_dir = found
        scenes = sorted(p.name for p in (found / FRAMES).iterdir() if p.is_dir())
        self._pairs = [pair for scene in scenes for pair in _scene_pairs(found, scene, labels)]
        if not self._pairs:
            raise InputError(
                f"no frame pairs found (expected {FRAMES}/<scene>/original/*.png, at least two frames per scene)",
                found / FRAMES,
            )

    def __len__(self) -> int:
        return len(self._pairs)

    def __getitem__(self, index: int) -> FlowSample:
        from segcorr.io.flo import read_flo
        from segcorr.io.image import read_image

        p = self._pairs[index]
        img0 = read_image(p.img0)
        shape = img0.shape[:2]
        img1 = read_image(p.img1)
        check_same_size(shape, img1, p.img1, "frame 1")
        flow = read_flo(p.flow)
        check_same_size(shape, flow, p.flow, "flow")
        occ = None
        if p.occ is not None:
            occ = _load_npy(p.occ) == 0
            check_same_size(shape, occ, p.occ, "occlusion map")
        seg0, seg1 = _labels(p.seg0), _labels(p.seg1)
        check_same_size(shape, seg0, p.seg0, "segment map")
        check_same_size(shape, seg1, p.seg1, "segment map")
        line = None
        if p.line is not None:
            line = _load_npy(p.line) == 0
            check_same_size(shape, line, p.line, "line area map")
        elif seg0 is not None:
            from segcorr.metrics.flow import line_mask_from_segments

            line = line_mask_from_segments(seg0, self.line_radius)
        return FlowSample(
            name=p.name, img0=img0, img1=img1, flow=flow, valid=None, occ=occ, line=line, seg0=seg0, seg1=seg1
        )
