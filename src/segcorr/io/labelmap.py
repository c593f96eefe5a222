"""Label maps on disk: single-channel 16-bit PNG, 0 = no segment, 1..65535 segment ids.

8-bit grey PNGs are accepted on read (ids 0..255). Colour PNGs are refused: a palette-coloured
visualisation is not a label map, and guessing ids from colours would silently merge segments.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from segcorr.errors import InputError
from segcorr.io.atomic import atomic_write_bytes
from segcorr.io.image import decode_unchanged, read_bytes

MAX_LABEL = 65535


def read_labelmap(path: str | os.PathLike) -> np.ndarray:
    """Read a label-map PNG (16-bit or 8-bit grey). Returns int32 [H, W]."""
    img = decode_unchanged(read_bytes(path, "label map"), path, "label map PNG")
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[:, :, 0]
    if img.ndim != 2:
        raise InputError(
            f"expected a single-channel (grey) label map, found {img.shape[2]} channels; "
            "a colour visualisation is not a label map",
            path,
        )
    if img.dtype not in (np.uint8, np.uint16):
        raise InputError(f"expected 8- or 16-bit integer labels, found {img.dtype}", path)
    return img.astype(np.int32)


def labelmap_bytes(labels: np.ndarray, path: str | os.PathLike | None = None) -> bytes:
    """Encode integer labels [H, W] in 0..65535 as a 16-bit PNG."""
    import cv2

    labels = np.asarray(labels)
    if labels.ndim != 2 or labels.shape[0] == 0 or labels.shape[1] == 0:
        raise InputError(f"expected a label map of shape [H, W], found {labels.shape}", path)
    if labels.dtype == np.bool_:
        labels = labels.astype(np.uint16)
    if not np.issubdtype(labels.dtype, np.integer):
        raise InputError(f"expected integer labels, found {labels.dtype}", path)
    lo, hi = int(labels.min()), int(labels.max())
    if lo < 0 or hi > MAX_LABEL:
        raise InputError(f"expected labels in 0..{MAX_LABEL}, found range {lo}..{hi}", path)
    ok, buf = cv2.imencode(".png", labels.astype(np.uint16))
    if not ok:
        raise InputError("OpenCV could not encode the label map", path)
    return buf.tobytes()


def write_labelmap(path: str | os.PathLike, labels: np.ndarray) -> None:
    """Write integer labels [H, W] (0..65535) as a 16-bit PNG, atomically."""
    p = Path(path)
    if p.suffix.lower() != ".png":
        raise InputError(f"expected a .png path for a label map, found {p.suffix or 'no suffix'!r}", p)
    atomic_write_bytes(p, labelmap_bytes(labels, p))
