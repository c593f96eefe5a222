"""The picture part of a folder of masks (``segcorr segment``, ``segcorr agent``): mask_NN.png and overlay.png.

The caller writes its index (masks.json) after these, so a reader who finds the index finds every file it names,
then calls ``remove_stale_masks``: mask files of an earlier run in the same folder beyond this run's count go, and
the folder holds exactly the masks its index lists.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

_MASK_FILE = re.compile(r"mask_\d{2,}\.png")


def write_mask_pictures(out: str | Path, image: np.ndarray, masks: np.ndarray) -> list[str]:
    """masks bool [N, H, W] on image uint8 [H, W, 3] -> mask_00.png .. (0/255) and overlay.png in folder ``out``
    (created), each written atomically; returns the mask file names in order."""
    from segcorr.io.image import write_image
    from segcorr.viz.overlay import overlay_masks

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    names = [f"mask_{i:02d}.png" for i in range(len(masks))]
    for name, m in zip(names, masks):
        write_image(out / name, np.asarray(m, bool).astype(np.uint8) * 255)
    write_image(out / "overlay.png", overlay_masks(image, masks) if len(masks) else image)
    return names


def remove_stale_masks(out: str | Path, names: list[str]) -> None:
    """Remove the mask_NN.png files of folder ``out`` that are not in ``names`` (an earlier run's extra masks)."""
    for old in Path(out).iterdir():
        if _MASK_FILE.fullmatch(old.name) and old.name not in names and old.is_file():
            old.unlink()
