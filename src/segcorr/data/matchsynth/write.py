"""Write synthetic matching pairs to disk in the homography layout (an evaluation set of warped photos)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from segcorr.data.matchsynth.homography import homography_pair
from segcorr.data.matchsynth.photometric import photometric
from segcorr.data.matchsynth.photos import EVAL_PHOTOS, load_photo, random_crop_resized, split_of_seed


def write_homography_pairs(
    out: str | Path, count: int, seed: int = 0, height: int = 480, width: int = 640, strength: float = 1.0
) -> Path:
    """``count`` pairs ``NNNNN_img0.png NNNNN_img1.png NNNNN_H.txt`` of the held-out photos (``EVAL_PHOTOS``:
    chelsea, coffee, rocket from scikit-image, never used in training), seeds ``seed .. seed+count-1``
    (evaluation range 0..499_999 only), plus ``meta.json``. Files are written atomically."""
    from segcorr.io.atomic import atomic_write_text
    from segcorr.io.image import write_image

    if split_of_seed(seed) != "eval" or split_of_seed(seed + count - 1) != "eval":
        raise ValueError(f"evaluation sets use seeds 0..499999, found {seed}..{seed + count - 1}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        rng = np.random.default_rng(seed + i)
        photo = load_photo(EVAL_PHOTOS[i % len(EVAL_PHOTOS)])
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
        "photos": list(EVAL_PHOTOS),
    }
    atomic_write_text(out / "meta.json", json.dumps(meta, indent=1) + "\n")
    return out
