"""Screentone detection: periodic halftone (dot or line) regions on grey manga pages.

Screentone is printed as a periodic pattern of small dots or thin parallel lines. Its dark dots look
like line art to a threshold and shatter a flat-colour segmentation into one segment per dot, so the
flat segmenter asks this module where tone is and treats those pixels as fillable area.

Method: the page is cut into overlapping tiles (`tile` x `tile`, step `tile // 2`). For each tile the
autocorrelation (via a zero-padded FFT, normalised by the overlap at each lag) is searched for a
secondary peak: a local maximum at lag >= 2 px that is strongly correlated (>= `peak_corr`) AND separated
from the origin by a valley (the correlation at half that lag is lower by >= `valley_drop`). A periodic
pattern has such peaks at multiples of its period; an edge or a stroke of line art gives a ridge that
decays monotonically (no valley), and noise or flat paper gives no strong peak at all. The tile's
central cell is then marked, and the coarse cell mask is refined to pixels whose 5x5 neighbourhood is
textured, so the mask follows the tone's outline to within a couple of pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from segcorr.errors import InputError


@dataclass(frozen=True)
class ScreentoneConfig:
    tile: int = 32  # FFT window side (px); periods up to max_period must fit twice
    max_period: int = 12  # longest tone period searched (px)
    min_std: float = 12.0  # grey-level std below which a tile is flat paper, never tone
    peak_corr: float = 0.35  # normalised autocorrelation a secondary peak must reach
    valley_drop: float = 0.35  # how much lower the correlation at half the peak's lag must be
    texture_std: float = 10.0  # 5x5 std that marks a pixel as textured in the refinement
    blur_sigma: float = 0.7  # pre-blur (px) before the periodicity test
    grow: int = 17  # dilation (px) of the coarse cell mask before the texture refinement


def _tiles(gray: np.ndarray, tile: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cut [H, W] into tiles [T, tile, tile] centred on a grid of step tile//2 (edge-padded).

    Returns tiles and the (row, col) of each tile's central cell in the cell grid.
    """
    step = tile // 2
    h, w = gray.shape
    rows, cols = -(-h // step), -(-w // step)
    pad = tile // 4
    padded = np.pad(
        gray,
        ((pad, rows * step - h + pad), (pad, cols * step - w + pad)),
        mode="reflect" if min(h, w) > pad else "edge",
    )
    view = np.lib.stride_tricks.sliding_window_view(padded, (tile, tile))[::step, ::step]
    view = view[:rows, :cols]
    rr, cc = np.meshgrid(np.arange(rows), np.arange(cols), indexing="ij")
    return view.reshape(-1, tile, tile), rr.ravel(), cc.ravel()


def _periodic_tiles(tiles: np.ndarray, cfg: ScreentoneConfig) -> np.ndarray:
    """tiles: [T, t, t] float32 -> bool [T], True where the tile holds a periodic pattern."""
    from scipy.ndimage import maximum_filter

    t = tiles.shape[-1]
    x = tiles - tiles.mean(axis=(1, 2), keepdims=True)
    std = x.std(axis=(1, 2))
    m = cfg.max_period
    # Zero padding by at least m keeps lags up to m free of circular wrap-around.
    n = -(-(t + m) // 16) * 16
    spec = np.fft.rfft2(x, s=(n, n))
    ac = np.fft.irfft2(spec * np.conj(spec), s=(n, n))
    # lags -m..m in both axes, moved to the middle of a [2m+1, 2m+1] window
    idx = np.r_[np.arange(n - m, n), np.arange(0, m + 1)]
    ac = ac[:, idx][:, :, idx]
    lag = np.arange(-m, m + 1)
    overlap = (t - np.abs(lag))[:, None] * (t - np.abs(lag))[None, :]
    # Unbiased estimate: each lag averages over its overlap, then normalise by the zero-lag value.
    corr = (ac / overlap) / np.maximum(ac[:, m, m] / (t * t), 1e-6)[:, None, None]
    dy, dx = np.meshgrid(lag, lag, indexing="ij")
    far = (dy * dy + dx * dx) >= 4
    is_max = corr >= maximum_filter(corr, size=(1, 3, 3), mode="nearest")
    half_y = np.rint(dy / 2).astype(int) + m
    half_x = np.rint(dx / 2).astype(int) + m
    valley = corr - corr[:, half_y, half_x]
    hit = is_max & far & (corr >= cfg.peak_corr) & (valley >= cfg.valley_drop)
    return hit.any(axis=(1, 2)) & (std >= cfg.min_std)


def detect_screentone(gray: np.ndarray, config: ScreentoneConfig | None = None) -> np.ndarray:
    """Screentone regions of a grey page.

    gray: uint8 [H, W] (an RGB [H, W, 3] image is converted to grey).
    Returns bool [H, W], True on periodic halftone (dots or hatching).
    """
    import cv2

    cfg = config or ScreentoneConfig()
    gray = np.asarray(gray)
    if gray.ndim == 3 and gray.shape[2] == 3:
        gray = cv2.cvtColor(np.ascontiguousarray(gray), cv2.COLOR_RGB2GRAY)
    if gray.ndim != 2 or gray.dtype != np.uint8:
        raise InputError(f"expected a grey image uint8 [H, W], found {gray.dtype} {gray.shape}")
    h, w = gray.shape
    if min(h, w) < cfg.tile:
        return np.zeros((h, w), dtype=bool)
    g = gray.astype(np.float32)
    # A slight blur removes the 1-px staircase of aliased strokes, which is periodic along the stroke
    # and would otherwise read as tone; real tone periods (>= 3 px) survive it.
    tiles, rr, cc = _tiles(cv2.GaussianBlur(g, (0, 0), cfg.blur_sigma), cfg.tile)
    hit = _periodic_tiles(tiles, cfg)
    step = cfg.tile // 2
    cells = np.zeros((rr.max() + 1, cc.max() + 1), dtype=np.uint8)
    cells[rr[hit], cc[hit]] = 1
    coarse = np.kron(cells, np.ones((step, step), np.uint8))[:h, :w]
    # A tile straddling the tone's edge may miss; grow by half a cell, the texture test trims it back.
    coarse = cv2.dilate(coarse, np.ones((cfg.grow, cfg.grow), np.uint8))
    mean = cv2.blur(g, (5, 5))
    var = cv2.blur(g * g, (5, 5)) - mean * mean
    textured = var >= cfg.texture_std**2
    mask = (coarse > 0) & textured
    # Close the pin-holes between sparse dots, then erode by the 5x5 window's half-width: a window
    # already reads as textured 2 px before it reaches the tone, and this takes that rim back.
    mask = cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8))
    mask = cv2.erode(mask, np.ones((5, 5), np.uint8))
    return mask.astype(bool)
