"""Middlebury ``.flo`` optical flow files, in pure NumPy.

Layout (little-endian): float32 magic 202021.25 (the bytes spell "PIEH"), int32 width, int32 height,
then height * width * 2 float32 values, row-major, u and v interleaved per pixel.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from segcorr.errors import InputError
from segcorr.io.atomic import atomic_write_bytes
from segcorr.io.image import read_bytes

MAGIC = np.float32(202021.25)
MAX_SIDE = 100_000
_HEADER = 12


def parse_flo(data: bytes, path: str | os.PathLike | None = None) -> np.ndarray:
    """Decode the bytes of a .flo file. Returns float32 [2, H, W] (u, v)."""
    if len(data) < _HEADER:
        raise InputError(f"expected a .flo file of at least {_HEADER} bytes, found {len(data)} bytes", path)
    magic = np.frombuffer(data, "<f4", count=1)[0]
    if magic != MAGIC:
        raise InputError(f"expected .flo magic 202021.25 ('PIEH'), found {data[:4]!r}", path)
    w, h = (int(x) for x in np.frombuffer(data, "<i4", count=2, offset=4))
    if not (0 < w < MAX_SIDE and 0 < h < MAX_SIDE):
        raise InputError(f"expected width and height in 1..{MAX_SIDE - 1}, found {w}x{h}", path)
    want = _HEADER + 8 * w * h
    if len(data) != want:
        kind = "truncated" if len(data) < want else "oversized"
        raise InputError(f"{kind} .flo: a {w}x{h} flow needs {want} bytes, found {len(data)}", path)
    uv = np.frombuffer(data, "<f4", count=2 * w * h, offset=_HEADER).reshape(h, w, 2)
    return np.ascontiguousarray(uv.transpose(2, 0, 1), dtype=np.float32)


def read_flo(path: str | os.PathLike) -> np.ndarray:
    """Read a Middlebury .flo file. Returns float32 [2, H, W] (u, v) in pixels, frame0 -> frame1."""
    return parse_flo(read_bytes(path, ".flo flow"), path)


def flo_bytes(flow: np.ndarray, path: str | os.PathLike | None = None) -> bytes:
    """Encode float [2, H, W] as .flo bytes (non-finite values are kept as they are)."""
    flow = np.asarray(flow)
    if flow.ndim != 3 or flow.shape[0] != 2:
        raise InputError(f"expected flow of shape [2, H, W], found {flow.shape}", path)
    if not np.issubdtype(flow.dtype, np.floating) and not np.issubdtype(flow.dtype, np.integer):
        raise InputError(f"expected a numeric flow array, found {flow.dtype}", path)
    _, h, w = flow.shape
    if not (0 < w < MAX_SIDE and 0 < h < MAX_SIDE):
        raise InputError(f"expected width and height in 1..{MAX_SIDE - 1}, found {w}x{h}", path)
    header = MAGIC.astype("<f4").tobytes() + np.array([w, h], "<i4").tobytes()
    return header + np.ascontiguousarray(flow.transpose(1, 2, 0), dtype="<f4").tobytes()


def write_flo(path: str | os.PathLike, flow: np.ndarray) -> None:
    """Write float [2, H, W] (u, v) to a Middlebury .flo file atomically."""
    atomic_write_bytes(Path(path), flo_bytes(flow, path))
