"""Training / validation pairs for AS-Mamba: a mix of homography pairs and 3-D scene pairs, dense fields.

Item ``i`` is a pure function of ``seed_start + i``; the seed picks the source photos' split (see
``photos.split_of_seed``), so validation seeds never draw training crops from the held-out photos.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from segcorr.data.matchsynth.homography import homography_pair
from segcorr.data.matchsynth.photometric import photometric
from segcorr.data.matchsynth.photos import random_source, split_of_seed
from segcorr.data.matchsynth.scene3d import render_scene_pair


@dataclass(frozen=True)
class MatchSynthConfig:
    """The mix (``data.args`` / ``val.args`` of a ``match`` training config).

    scene_share: fraction of 3-D scene pairs (the rest: homography pairs); strength: viewpoint change scale
    (1 = strong); photometric_strength: brightness/contrast/gamma/noise/blur scale (0 = none).
    """

    scene_share: float = 0.5
    strength: float = 1.0
    photometric_strength: float = 1.0


def make_pair(
    seed: int,
    height: int,
    width: int,
    scene_share: float = 0.5,
    strength: float = 1.0,
    photometric_strength: float = 1.0,
) -> dict[str, Any]:
    """One pair as NumPy arrays: ``image0/1`` uint8 [H, W, 3], ``corr01/10`` float32 [2, H, W],
    ``valid01/10`` bool [H, W], ``K0``, ``K1``, ``T_0to1`` (identity for homography pairs), ``is_scene``."""
    rng = np.random.default_rng(seed)
    split = split_of_seed(seed)
    if rng.random() < scene_share:
        p = render_scene_pair(int(rng.integers(2**62)), height, width, strength=strength, split=split)
        p["is_scene"] = True
    else:
        src = random_source(rng, 2 * height, 2 * width, split)
        p = homography_pair(rng, src, height, width, strength=strength)
        p.update(K0=np.eye(3), K1=np.eye(3), T_0to1=np.eye(4), is_scene=False)
    p["image0"] = photometric(rng, p["image0"], photometric_strength)
    p["image1"] = photometric(rng, p["image1"], photometric_strength)
    return p


def to_sample(p: dict[str, Any]) -> dict[str, torch.Tensor]:
    """Model-ready tensors: ``image0/1 [1, H, W]`` grey float 0..1, fields, ``K0/K1 [3, 3]``, ``T_0to1 [4, 4]``
    (float32), ``is_scene`` bool []."""
    import cv2

    out: dict[str, torch.Tensor] = {}
    for k in ("image0", "image1"):
        g = cv2.cvtColor(p[k], cv2.COLOR_RGB2GRAY)
        out[k] = torch.from_numpy(g.astype(np.float32) / 255.0)[None]
    for k in ("corr01", "corr10"):
        out[k] = torch.from_numpy(np.ascontiguousarray(p[k], np.float32))
    for k in ("valid01", "valid10"):
        out[k] = torch.from_numpy(np.ascontiguousarray(p[k], bool))
    for k in ("K0", "K1", "T_0to1"):
        out[k] = torch.from_numpy(np.asarray(p[k], np.float32))
    out["is_scene"] = torch.tensor(bool(p["is_scene"]))
    return out


class MatchSynthDataset(Dataset):
    """``length`` pairs from seed ``seed_start``; sizes must be multiples of 32 (the model's coarse stride x 4).

    scene_share: fraction of 3-D scene pairs (the rest are homography pairs); strength: viewpoint change
    scale (1 = strong); photometric_strength: 0 = none.
    """

    def __init__(
        self,
        seed_start: int,
        length: int,
        height: int,
        width: int,
        scene_share: float = 0.5,
        strength: float = 1.0,
        photometric_strength: float = 1.0,
    ) -> None:
        if height % 32 or width % 32:
            raise ValueError(f"expected height and width multiples of 32, found {height}x{width}")
        self.seed_start, self.length = int(seed_start), int(length)
        self.height, self.width = int(height), int(width)
        self.scene_share, self.strength, self.photometric_strength = scene_share, strength, photometric_strength

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, item: int | tuple[int, int]) -> dict[str, torch.Tensor]:
        """``item``: an index, or the trainer sampler's ``(index, draw)``; the pair depends on the index only
        (a million seeds make repeats rare, so the draw adds nothing)."""
        i = int(item[0]) if isinstance(item, tuple) else int(item)
        if not 0 <= i < self.length:
            raise IndexError(i)
        return to_sample(
            make_pair(
                self.seed_start + i, self.height, self.width, self.scene_share, self.strength, self.photometric_strength
            )
        )
