"""KITTI optical-flow PNGs: 16-bit, three channels (u, v, valid) in the file's R, G, B order.

u and v are stored as ``value = flow * 64 + 2**15`` (so the range is about +-512 px in 1/64 px steps);
valid is 1 where ground truth exists. OpenCV hands the channels back as B, G, R: reversed here.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from segcorr.errors import InputError
from segcorr.io.atomic import atomic_write_bytes
from segcorr.io.image import decode_unchanged, read_bytes

_OFFSET = 2.0**15
_SCALE = 64.0


def read_kitti_flow(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Read a KITTI flow PNG. Returns (flow float32 [2, H, W], valid bool [H, W]).

    Flow at invalid pixels is set to 0 so that it never leaks into a metric by accident.
    """
    img = decode_unchanged(read_bytes(path, "KITTI flow PNG"), path, "KITTI flow PNG")
    if img.dtype != np.uint16 or img.ndim != 3 or img.shape[2] != 3:
        found = f"{img.dtype} with shape {img.shape}"
        raise InputError(f"expected a 16-bit 3-channel KITTI flow PNG (u, v, valid), found {found}", path)
    rgb = img[:, :, ::-1].astype(np.float32)
    valid = rgb[:, :, 2] > 0
    flow = ((rgb[:, :, :2] - _OFFSET) / _SCALE).transpose(2, 0, 1)
    flow = np.where(valid[None], flow, 0.0).astype(np.float32)
    return np.ascontiguousarray(flow), valid


def write_kitti_flow(path: str | os.PathLike, flow: np.ndarray, valid: np.ndarray | None = None) -> None:
    """Write flow float [2, H, W] and valid bool [H, W] (default: finite pixels) as a KITTI PNG, atomically.

    Values are rounded to 1/64 px and clipped to the storable range (about -512..+512 px).
    """
    import cv2

    p = Path(path)
    flow = np.asarray(flow, dtype=np.float64)
    if flow.ndim != 3 or flow.shape[0] != 2 or flow.shape[1] == 0 or flow.shape[2] == 0:
        raise InputError(f"expected flow of shape [2, H, W], found {flow.shape}", p)
    finite = np.isfinite(flow).all(axis=0)
    valid = finite if valid is None else (np.asarray(valid, dtype=bool) & finite)
    if valid.shape != flow.shape[1:]:
        raise InputError(f"expected valid mask of shape {flow.shape[1:]}, found {valid.shape}", p)
    stored = np.clip(np.rint(np.where(finite, flow, 0.0) * _SCALE + _OFFSET), 0, 65535).astype(np.uint16)
    bgr = np.stack([valid.astype(np.uint16), stored[1], stored[0]], axis=2)
    ok, buf = cv2.imencode(".png", bgr)
    if not ok:
        raise InputError("OpenCV could not encode the KITTI flow PNG", p)
    atomic_write_bytes(p, buf.tobytes())
