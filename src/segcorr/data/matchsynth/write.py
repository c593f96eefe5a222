"""Write synthetic matching pairs to disk: warped photos in the homography layout, ray-cast scenes in the pose
layout (``segcorr.data.matchsets`` reads both)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from segcorr.data.matchsynth.homography import homography_pair
from segcorr.data.matchsynth.photometric import photometric
from segcorr.data.matchsynth.photos import EVAL_PHOTOS, load_photo, random_crop_resized, split_of_seed
from segcorr.data.matchsynth.scene3d import render_scene_pair


def _check_seeds(seed: int, count: int, split: str) -> None:
    if count < 1 or split_of_seed(seed) != split or split_of_seed(seed + count - 1) != split:
        ranges = {"eval": "0..499999", "val": "500000..999999"}
        raise ValueError(f"{split} sets use seeds {ranges[split]}, found {seed}..{seed + count - 1}")


def write_homography_pairs(
    out: str | Path,
    count: int,
    seed: int = 0,
    height: int = 480,
    width: int = 640,
    strength: float = 1.0,
    photos: list[str | Path] | None = None,
) -> Path:
    """``count`` pairs ``NNNNN_img0.png NNNNN_img1.png NNNNN_H.txt``, seeds ``seed .. seed+count-1``, plus
    ``meta.json``; pair i warps a crop of photo ``i % len(photos)``. Without ``photos``: the held-out photos
    (``EVAL_PHOTOS``: chelsea, coffee, rocket from scikit-image, never used in training) and evaluation seeds
    (0..499_999) only. With ``photos`` (image files that no split uses, for validation sets): validation seeds
    (500_000..999_999) only. Files are written atomically."""
    from segcorr.io.atomic import atomic_write_text
    from segcorr.io.image import read_image, write_image

    _check_seeds(seed, count, "eval" if photos is None else "val")
    pictures = [load_photo(n) for n in EVAL_PHOTOS] if photos is None else [read_image(p) for p in photos]
    if not pictures:
        raise ValueError("photos: expected at least one image file")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        rng = np.random.default_rng(seed + i)
        photo = pictures[i % len(pictures)]
        src = random_crop_resized(rng, photo, 2 * height, 2 * width, min_frac=0.6)
        p = homography_pair(rng, src, height, width, strength=strength)
        write_image(out / f"{i:05d}_img0.png", photometric(rng, p["image0"], 0.5))
        write_image(out / f"{i:05d}_img1.png", photometric(rng, p["image1"], 0.5))
        atomic_write_text(
            out / f"{i:05d}_H.txt", "\n".join(" ".join(f"{v:.10g}" for v in row) for row in p["H"]) + "\n"
        )
    meta = {
        "generator": "segcorr.data.matchsynth.write_homography_pairs",
        "count": count,
        "seed": seed,
        "height": height,
        "width": width,
        "strength": strength,
        "photos": list(EVAL_PHOTOS) if photos is None else [Path(p).name for p in photos],
    }
    atomic_write_text(out / "meta.json", json.dumps(meta, indent=1) + "\n")
    return out


def write_scene_pairs(
    out: str | Path, count: int, seed: int, height: int = 480, width: int = 640, strength: float = 1.0
) -> Path:
    """``count`` ray-cast scene pairs (``render_scene_pair``, seeds ``seed .. seed+count-1``, validation range
    500_000..999_999 only: the evaluation pose set is real, scannet15) in the pose layout: ``images/NNNNN_0.png``,
    ``images/NNNNN_1.png`` and ``pairs_with_gt.txt`` (``name0 name1 0 0 K0 K1 T_0to1``), plus ``meta.json``.
    ``strength`` scales the second camera's motion (2.5 gives wide baselines). Files are written atomically."""
    from segcorr.io.atomic import atomic_write_text
    from segcorr.io.image import write_image

    _check_seeds(seed, count, "val")
    out = Path(out)
    (out / "images").mkdir(parents=True, exist_ok=True)
    lines = []
    for i in range(count):
        p = render_scene_pair(seed + i, height, width, strength=strength)
        names = (f"{i:05d}_0.png", f"{i:05d}_1.png")
        write_image(out / "images" / names[0], p["image0"])
        write_image(out / "images" / names[1], p["image1"])
        nums = np.concatenate([p["K0"].ravel(), p["K1"].ravel(), p["T_0to1"].ravel()])
        lines.append(" ".join([*names, "0", "0", *(f"{v:.10g}" for v in nums)]))
    atomic_write_text(out / "pairs_with_gt.txt", "\n".join(lines) + "\n")
    meta = {
        "generator": "segcorr.data.matchsynth.write_scene_pairs",
        "count": count,
        "seed": seed,
        "height": height,
        "width": width,
        "strength": strength,
    }
    atomic_write_text(out / "meta.json", json.dumps(meta, indent=1) + "\n")
    return out
