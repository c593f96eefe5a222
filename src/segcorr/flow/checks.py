"""The input checks of the flow API (classical methods, the predictor, the refinement): one message per mistake,
raised as `InputError` at the boundary so the CLI reports it in one line."""

from __future__ import annotations

import numpy as np

from segcorr.errors import InputError
from segcorr.io.image import check_image_array


def check_frame(img: object, which: str, rgb_only: bool = False) -> np.ndarray:
    """img: uint8 [H, W, 3] RGB (or [H, W] grey unless `rgb_only`) -> the same array."""
    return check_image_array(img, which, grey=not rgb_only)


def check_frames(img0: object, img1: object, rgb_only: bool = False) -> tuple[int, int]:
    """Two frames of one size (see `check_frame`) -> (H, W)."""
    a, b = check_frame(img0, "img0", rgb_only), check_frame(img1, "img1", rgb_only)
    if a.shape[:2] != b.shape[:2]:
        raise InputError(
            f"frames differ in size: img0 is {a.shape[1]}x{a.shape[0]}, "
            f"img1 is {b.shape[1]}x{b.shape[0]} (expected equal sizes)"
        )
    return a.shape[0], a.shape[1]


def check_flow(flow: object, hw: tuple[int, int], which: str = "flow") -> None:
    """flow: float [2, H, W] with (H, W) = hw."""
    shape = tuple(np.shape(flow))
    if shape != (2, *hw):
        raise InputError(f"{which}: expected shape {(2, *hw)} ([2, H, W]), found {shape}")


def check_labels(labels: object, hw: tuple[int, int], which: str = "labels") -> None:
    """labels: integer [H, W] with (H, W) = hw, or None (no label map)."""
    if labels is None:
        return
    a = np.asarray(labels)
    if a.shape != tuple(hw) or not np.issubdtype(a.dtype, np.integer):
        raise InputError(
            f"{which}: expected an integer label map {tuple(hw)} ([H, W]), found {a.dtype} {tuple(a.shape)}"
        )
