"""Source pictures for synthetic matching pairs: photos that scikit-image ships, and procedural textures.

No downloads: ``skimage/data/*.png|jpg`` are files inside the installed wheel. Training and validation use
``TRAIN_PHOTOS``; the evaluation set (``write_homography_pairs``, seeds 0..499_999) uses ``EVAL_PHOTOS``,
which training never sees. Left out entirely: ``motorcycle_right`` (a near-duplicate of the left view),
and the synthetic or near-empty pictures (chessboard, horse, logo, phantom, color, microaneurysms,
clock_motion).
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

TRAIN_PHOTOS = (
    "astronaut.png",
    "brick.png",
    "camera.png",
    "cell.png",
    "coins.png",
    "grass.png",
    "gravel.png",
    "hubble_deep_field.jpg",
    "ihc.png",
    "moon.png",
    "motorcycle_left.png",
    "page.png",
    "retina.jpg",
    "text.png",
)
EVAL_PHOTOS = ("chelsea.png", "coffee.png", "rocket.jpg")
SPLITS = ("train", "val", "eval")


def split_of_seed(seed: int) -> str:
    """House seed ranges: evaluation 0..499_999, validation 500_000..999_999, training >= 1_000_000."""
    if seed < 0:
        raise ValueError(f"seeds are >= 0, found {seed}")
    return "eval" if seed < 500_000 else "val" if seed < 1_000_000 else "train"


def photo_names(split: str) -> tuple[str, ...]:
    """Photos a split draws from: held-out ``EVAL_PHOTOS`` for eval, ``TRAIN_PHOTOS`` otherwise."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, found {split!r}")
    return EVAL_PHOTOS if split == "eval" else TRAIN_PHOTOS


def photo_dir() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("skimage")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("scikit-image is needed for the matching photos (pip install scikit-image)")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


@functools.lru_cache(maxsize=32)
def load_photo(name: str) -> np.ndarray:
    """uint8 [H, W, 3] RGB of a shipped photo (read-only array; cached per process)."""
    from segcorr.io.image import read_image

    img = read_image(photo_dir() / name)
    img.setflags(write=False)
    return img


def random_crop_resized(
    rng: np.random.Generator, img: np.ndarray, h: int, w: int, min_frac: float = 0.35
) -> np.ndarray:
    """A random crop of ``img`` (at least ``min_frac`` of its shorter side, aspect of h:w), resized to
    ``[h, w, 3]``, randomly flipped."""
    import cv2

    H, W = img.shape[:2]
    aspect = w / h
    ch_max = min(H, int(W / aspect))
    ch = int(rng.uniform(min_frac, 1.0) * ch_max)
    ch = max(8, ch)
    cw = max(8, min(W, int(round(ch * aspect))))
    y = int(rng.integers(0, H - ch + 1))
    x = int(rng.integers(0, W - cw + 1))
    crop = img[y : y + ch, x : x + cw]
    if rng.random() < 0.5:
        crop = crop[:, ::-1]
    interp = cv2.INTER_AREA if ch > h else cv2.INTER_CUBIC
    return cv2.resize(np.ascontiguousarray(crop), (w, h), interpolation=interp)


def random_source(rng: np.random.Generator, h: int, w: int, split: str, photo_prob: float = 0.75) -> np.ndarray:
    """A source picture ``uint8 [h, w, 3]``: a crop of one of the split's photos (``photo_prob``) or a
    procedural texture (``segcorr.data.synth.textures``)."""
    if rng.random() < photo_prob:
        names = photo_names(split)
        return random_crop_resized(rng, load_photo(names[int(rng.integers(len(names)))]), h, w)
    from segcorr.data.synth.textures import random_texture

    tex, _ = random_texture(rng, h, w, size_hint=float(min(h, w)))
    return tex
