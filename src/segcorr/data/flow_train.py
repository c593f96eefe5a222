"""Torch datasets that feed flow training: synthetic cels on the fly, any flow reader (pairs folders, AnimeRun)
with augmentation, raw frames.

Every dataset returns the same dict of tensors, so one collate and one trainer serve all of them:
    img0, img1: float [3, H, W] in 0..1
    flow:       float [2, H, W] frame0 -> frame1 (zeros when unknown)
    valid:      float [H, W], 1 where the ground-truth flow may be used (all 0 without ground truth)
    occ:        float [H, W], 1 where a pixel of frame0 is occluded in frame1 (0 when unknown)
    seg0, seg1: long [H, W] label maps (0 = no segment; all 0 when no masks are known)

Randomness: an item index may be an ``int`` or an ``(index, draw)`` pair. ``draw`` seeds the augmentation, so
the trainer's sampler decides every random choice and a resumed run sees exactly the same batches.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from segcorr.errors import InputError

TRAIN_SEED_START = 1_000_000
VAL_SEED_START = 500_000
VAL_SEED_END = 1_000_000  # exclusive; evaluation and benchmark sets use 0..499_999
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")
VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".gif")


def check_seed_range(seed_start: int, length: int, split: str) -> None:
    """Training seeds live in [1_000_000, inf), validation seeds in [500_000, 1_000_000); never overlapping."""
    lo, hi = seed_start, seed_start + length
    if split == "train" and lo < TRAIN_SEED_START:
        raise ValueError(f"training seeds must be >= {TRAIN_SEED_START}, got start {lo}")
    if split == "val" and not (lo >= VAL_SEED_START and hi <= VAL_SEED_END):
        raise ValueError(f"validation seeds must lie in [{VAL_SEED_START}, {VAL_SEED_END}), got [{lo}, {hi})")
    if split not in ("train", "val"):
        raise ValueError(f"split must be 'train' or 'val', got {split!r}")


@dataclass(frozen=True)
class AugmentConfig:
    """Augmentation applied identically to both frames unless stated.

    crop: (h, w) random crop (None = keep size; images smaller than the crop are an error);
    hflip / vflip: probabilities (flow u / v change sign); jitter: max relative brightness/contrast/saturation
    change; jitter_asym: extra per-frame brightness change (photometric robustness).
    """

    crop: tuple[int, int] | None = None
    hflip: float = 0.5
    vflip: float = 0.1
    jitter: float = 0.2
    jitter_asym: float = 0.03
    enabled: bool = True


def _split_index(item: Any) -> tuple[int, int]:
    if isinstance(item, (tuple, list)):
        return int(item[0]), int(item[1])
    return int(item), int(item)


def _jitter(img: np.ndarray, bright: float, contrast: float, sat: float) -> np.ndarray:
    """img: float [H, W, 3] in 0..1."""
    img = img * bright
    mean = img.mean()
    img = (img - mean) * contrast + mean
    grey = img.mean(axis=2, keepdims=True)
    img = (img - grey) * sat + grey
    return np.clip(img, 0.0, 1.0).astype(np.float32)


def augment(sample: dict[str, np.ndarray], cfg: AugmentConfig, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Crop, flip and colour-jitter a NumPy sample (img0/img1 float [H, W, 3]; flow [2, H, W]; maps [H, W])."""
    out = dict(sample)
    if cfg.crop is not None:
        ch, cw = cfg.crop
        h, w = out["img0"].shape[:2]
        if h < ch or w < cw:
            raise InputError(f"expected frames of at least {ch}x{cw} for the crop, found {h}x{w}")
        y = int(rng.integers(0, h - ch + 1))
        x = int(rng.integers(0, w - cw + 1))
        for k, v in out.items():
            out[k] = v[..., y : y + ch, x : x + cw] if k == "flow" else v[y : y + ch, x : x + cw]
    if not cfg.enabled:
        return out
    if rng.random() < cfg.hflip:
        out = {k: (v[:, :, ::-1] if k == "flow" else v[:, ::-1]) for k, v in out.items()}
        out["flow"] = out["flow"] * np.array([-1.0, 1.0], np.float32)[:, None, None]
    if rng.random() < cfg.vflip:
        out = {k: (v[:, ::-1] if k == "flow" else v[::-1]) for k, v in out.items()}
        out["flow"] = out["flow"] * np.array([1.0, -1.0], np.float32)[:, None, None]
    if cfg.jitter > 0:
        j = cfg.jitter
        b, c, s = (float(x) for x in rng.uniform(1 - j, 1 + j, size=3))
        for k in ("img0", "img1"):
            extra = float(rng.uniform(1 - cfg.jitter_asym, 1 + cfg.jitter_asym))
            out[k] = _jitter(out[k], b * extra, c, s)
    return out


def to_tensors(
    img0: np.ndarray,
    img1: np.ndarray,
    flow: np.ndarray | None = None,
    valid: np.ndarray | None = None,
    occ: np.ndarray | None = None,
    seg0: np.ndarray | None = None,
    seg1: np.ndarray | None = None,
    aug: AugmentConfig | None = None,
    rng: np.random.Generator | None = None,
) -> dict[str, torch.Tensor]:
    """NumPy sample (uint8 [H, W, 3] frames, optional maps) -> the training dict documented in the module."""
    h, w = img0.shape[:2]
    if img1.shape[:2] != (h, w):
        raise InputError(f"expected both frames the same size, found {img0.shape[:2]} and {img1.shape[:2]}")
    zeros = np.zeros((h, w), np.float32)
    s = {
        "img0": img0.astype(np.float32) / 255.0,
        "img1": img1.astype(np.float32) / 255.0,
        "flow": np.zeros((2, h, w), np.float32) if flow is None else flow.astype(np.float32),
        "valid": zeros if valid is None else valid.astype(np.float32),
        "occ": zeros if occ is None else occ.astype(np.float32),
        "seg0": np.zeros((h, w), np.int64) if seg0 is None else seg0.astype(np.int64),
        "seg1": np.zeros((h, w), np.int64) if seg1 is None else seg1.astype(np.int64),
    }
    if flow is not None and valid is None:
        s["valid"] = np.isfinite(s["flow"]).all(axis=0).astype(np.float32)
    s["flow"] = np.nan_to_num(s["flow"], nan=0.0, posinf=0.0, neginf=0.0)
    if aug is not None:
        s = augment(s, aug, rng if rng is not None else np.random.default_rng(0))
    t = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in s.items()}
    t["img0"] = t["img0"].permute(2, 0, 1).contiguous()
    t["img1"] = t["img1"].permute(2, 0, 1).contiguous()
    return t


class SynthFlowDataset(Dataset):
    """Synthetic cel/textured pairs generated on the fly from seeds ``seed_start + i`` (exact flow and segments).

    ``split`` "train" requires seeds >= 1_000_000, "val" requires seeds in [500_000, 1_000_000).
    """

    def __init__(
        self,
        seed_start: int,
        length: int,
        height: int = 256,
        width: int = 320,
        style: str = "mixed",
        aug: AugmentConfig | None = None,
        split: str = "train",
        mask_occluded: bool = False,
    ) -> None:
        check_seed_range(seed_start, length, split)
        self.seed_start, self.length, self.height, self.width = seed_start, length, height, width
        self.style, self.aug, self.split, self.mask_occluded = style, aug, split, mask_occluded

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, item: Any) -> dict[str, torch.Tensor]:
        from segcorr.data.synth.cels import make_cel_pair

        idx, draw = _split_index(item)
        if not 0 <= idx < self.length:
            raise IndexError(idx)
        seed = self.seed_start + idx
        p = make_cel_pair(seed, self.height, self.width, style=self.style)
        valid = ~p.occ0 if self.mask_occluded else None
        rng = np.random.default_rng([seed, draw])
        return to_tensors(p.img0, p.img1, p.flow_fw, valid, p.occ0, p.seg0, p.seg1, self.aug, rng)


def _read_labels(path: Path) -> np.ndarray | None:
    """A 16-bit label-map PNG, None when the file does not exist."""
    if not path.exists():
        return None
    from segcorr.io.labelmap import read_labelmap

    return read_labelmap(path)


class FlowTrainingSet(Dataset):
    """Training items read by a flow reader (`segcorr.data.pairs.PairsFlowDataset`,
    `segcorr.data.animerun.AnimeRunFlowDataset`: the readers evaluation uses), augmented.

    reader: indexable, ``len`` and ``[i] -> FlowSample``; its layout and partner files are checked when it is built,
    so a missing file ends the run before the first step. supervised: False drops the ground truth (``valid`` all
    0) for unsupervised training; mask_occluded: occluded pixels are not ``valid``.
    """

    def __init__(
        self, reader: Any, aug: AugmentConfig | None = None, supervised: bool = True, mask_occluded: bool = False
    ) -> None:
        self.reader, self.aug, self.supervised, self.mask_occluded = reader, aug, supervised, mask_occluded

    def __len__(self) -> int:
        return len(self.reader)

    def __getitem__(self, item: Any) -> dict[str, torch.Tensor]:
        idx, draw = _split_index(item)
        s = self.reader[idx]
        rng = np.random.default_rng([idx, draw])
        if not self.supervised:
            return to_tensors(s.img0, s.img1, None, None, None, s.seg0, s.seg1, self.aug, rng)
        valid = ~s.occ if (self.mask_occluded and s.occ is not None) else s.valid
        return to_tensors(s.img0, s.img1, s.flow, valid, s.occ, s.seg0, s.seg1, self.aug, rng)


def _video_frames(path: Path) -> list[np.ndarray]:
    from segcorr.io.video import video_frames

    frames = list(video_frames(path))
    if len(frames) < 2:
        raise InputError(f"expected a video with at least 2 readable frames, found {len(frames)}", path)
    return frames


class FramesDataset(Dataset):
    """Consecutive frame pairs from folders of frames and/or video files (unsupervised: no ground truth).

    roots: folders (images sorted by name; sub-folders are separate clips) or video files.
    labels_dir: optional precomputed label maps ``<labels_dir>/<clip>/<frame stem>.png`` (16-bit); a clip is a
        folder (its name) or a video (its stem).
    segmenter: without labels_dir, the label maps are computed from each frame by this segmenter of
        ``segcorr.segment`` (e.g. "flat": the same maps ``segcorr precompute-masks`` writes); None: no segments.
    Video frames are decoded once and kept in memory: meant for short clips.
    """

    def __init__(
        self,
        roots: str | Path | Sequence[str | Path],
        aug: AugmentConfig | None = None,
        labels_dir: str | Path | None = None,
        segmenter: str | None = None,
    ) -> None:
        roots = [roots] if isinstance(roots, (str, Path)) else list(roots)
        self.clips: list[tuple[str, list[Any]]] = []
        for root in map(Path, roots):
            if root.is_file() and root.suffix.lower() in VIDEO_SUFFIXES:
                self.clips.append((root.stem, _video_frames(root)))
            elif root.is_dir():
                self._add_folder(root)
            else:
                raise InputError("expected a folder of frames or a video file, found neither", root)
        self.pairs = [(c, i) for c, (_, frames) in enumerate(self.clips) for i in range(len(frames) - 1)]
        if not self.pairs:
            raise InputError("expected at least two consecutive frames, found none", roots[0])
        self.labels = Path(labels_dir) if labels_dir else None
        self.aug = aug
        self.segmenter: Any = None
        if segmenter is not None and self.labels is None:
            from segcorr.segment import build

            self.segmenter = build(segmenter)  # the registry rejects an unknown name here, before the first step

    def _add_folder(self, root: Path) -> None:
        imgs = sorted(p for p in root.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if len(imgs) >= 2:
            self.clips.append((root.name, imgs))
        for sub in sorted(p for p in root.iterdir() if p.is_dir()):
            self._add_folder(sub)
        for vid in sorted(p for p in root.iterdir() if p.suffix.lower() in VIDEO_SUFFIXES):
            self.clips.append((vid.stem, _video_frames(vid)))

    def __len__(self) -> int:
        return len(self.pairs)

    def _frame(self, clip: int, i: int) -> tuple[np.ndarray, np.ndarray | None]:
        name, frames = self.clips[clip]
        f = frames[i]
        if isinstance(f, np.ndarray):
            stem = f"{i:06d}"
        else:
            from segcorr.io.image import read_image

            stem, f = f.stem, read_image(f)
        if self.labels is not None:
            return f, _read_labels(self.labels / name / f"{stem}.png")
        return f, self.segmenter.segment_all(f) if self.segmenter is not None else None

    def __getitem__(self, item: Any) -> dict[str, torch.Tensor]:
        idx, draw = _split_index(item)
        clip, i = self.pairs[idx]
        (a, sa), (b, sb) = self._frame(clip, i), self._frame(clip, i + 1)
        return to_tensors(a, b, None, None, None, sa, sb, self.aug, np.random.default_rng([idx, draw]))
