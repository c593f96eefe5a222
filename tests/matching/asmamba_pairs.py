"""A synthetic pair with an exact dense correspondence field: image 1 is image 0 shifted by a few pixels."""

import numpy as np
import pytest
import torch


def texture(h: int, w: int, seed: int = 0) -> np.ndarray:
    """Smooth random texture in 0..1, float32 [h, w] (blurred noise: features vary at the 1/8 scale)."""
    import cv2

    rng = np.random.default_rng(seed)
    noise = rng.random((h, w)).astype(np.float32)
    img = cv2.GaussianBlur(noise, (0, 0), 2.0)
    return (img - img.min()) / (img.max() - img.min() + 1e-6)


def shifted_pair(h: int = 64, w: int = 64, dx: int = 8, dy: int = 8, batch: int = 1, seed: int = 0) -> dict:
    """image1(x, y) = image0(x + dx, y + dy): pixel (x, y) of image 0 is at (x - dx, y - dy) in image 1.

    Returns the model's input dict with the GT fields corr01 [B, 2, h, w], valid01 [B, h, w], corr10, valid10.
    """
    base = texture(h + abs(dy), w + abs(dx), seed)
    oy, ox = max(0, -dy), max(0, -dx)
    img0 = base[oy : oy + h, ox : ox + w]
    img1 = base[oy + dy : oy + dy + h, ox + dx : ox + dx + w]
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    corr01 = np.stack([xs - dx, ys - dy])
    corr10 = np.stack([xs + dx, ys + dy])
    valid01 = (corr01[0] >= 0) & (corr01[0] <= w - 1) & (corr01[1] >= 0) & (corr01[1] <= h - 1)
    valid10 = (corr10[0] >= 0) & (corr10[0] <= w - 1) & (corr10[1] >= 0) & (corr10[1] <= h - 1)

    def t(a, dtype=torch.float32):
        return torch.from_numpy(np.ascontiguousarray(a)).to(dtype)[None].expand(batch, *a.shape).clone()

    return {
        "image0": t(img0[None]),
        "image1": t(img1[None]),
        "corr01": t(corr01),
        "corr10": t(corr10),
        "valid01": t(valid01, torch.bool),
        "valid10": t(valid10, torch.bool),
    }


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny tensors: one thread avoids the per-op cost of waking a second thread on a busy machine."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
