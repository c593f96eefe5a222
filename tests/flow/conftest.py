"""Shared cases of the flow tests."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture
def non_affine_case():
    """(img0, img1 uint8 [64, 96, 3], bend float32 [2, 64, 96], labels int32 [64, 96] all one segment): frame 0
    is frame 1 warped by ``bend``, a smooth motion far from any affine map."""
    import cv2

    rng = np.random.default_rng(5)
    h, w = 64, 96
    img1 = cv2.GaussianBlur((rng.random((h, w, 3)) * 255).astype(np.uint8), (3, 3), 0)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    bend = np.stack([0.004 * (xs - 48) ** 2 - 4, 3 * np.sin(xs / 12)]).astype(np.float32)
    img0 = cv2.remap(img1, xs + bend[0], ys + bend[1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return img0, img1, bend, np.ones((h, w), np.int32)
