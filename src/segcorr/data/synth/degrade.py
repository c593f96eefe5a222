"""Broadcast-like degradation of a rendered frame pair: colour grading, slight blur, film grain, JPEG.

Applied after rendering, so the ground truth (flow, occlusion, segments, lines) is untouched. Both frames get the
same grade, blur and JPEG quality (a pixel-wise colour map and a shift-invariant blur commute with the motion up
to resampling error); only the grain differs per frame, as it does in real footage. What stays of the exact-flow
guarantee is "img0 = warp(img1) up to the grain and the JPEG error" (`segcorr.data.synth.selfcheck`).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class Degradation:
    """One pair's settings. gain: per-channel RGB multiplier; gamma: tone curve exponent; lift: added black level
    (grey levels); saturation: 1 = unchanged; blur_sigma: Gaussian sigma in px (0 = none); grain: std of the
    luma grain in grey levels (chroma grain is a third of it); grain_px: grain clump size (Gaussian sigma of the
    grain, px); jpeg_quality: OpenCV JPEG quality (None = no compression)."""

    gain: tuple[float, float, float] = (1.0, 1.0, 1.0)
    gamma: float = 1.0
    lift: float = 0.0
    saturation: float = 1.0
    blur_sigma: float = 0.0
    grain: float = 0.0
    grain_px: float = 0.0
    jpeg_quality: int | None = None


def sample_degradation(rng: np.random.Generator) -> Degradation:
    """Random settings: a slight grade (gains 0.93..1.07, gamma 0.88..1.12, lift 0..10, saturation 0.85..1.15),
    blur sigma 0..1 px, grain std 0..3.5 grey levels (clumps 0..0.7 px), JPEG quality 60..95."""
    return Degradation(
        gain=tuple(float(g) for g in rng.uniform(0.93, 1.07, 3)),
        gamma=float(rng.uniform(0.88, 1.12)),
        lift=float(rng.uniform(0.0, 10.0)),
        saturation=float(rng.uniform(0.85, 1.15)),
        blur_sigma=float(rng.uniform(0.0, 1.0)),
        grain=float(rng.uniform(0.0, 3.5)),
        grain_px=float(rng.uniform(0.0, 0.7)),
        jpeg_quality=int(rng.integers(60, 96)),
    )


def grade(image: np.ndarray, d: Degradation) -> np.ndarray:
    """Pixel-wise colour grade of ``image`` (uint8 [H, W, 3] RGB) -> float32 [H, W, 3] in 0..255: per-channel
    gain and gamma (a lookup table), then saturation about the luma and the lift (one 3x4 colour matrix)."""
    levels = np.arange(256, dtype=np.float32) / np.float32(255.0)
    x = np.empty(image.shape, np.float32)
    for c in range(3):
        x[..., c] = np.power(levels * np.float32(d.gain[c]), np.float32(d.gamma))[image[..., c]]
    luma = np.asarray([0.299, 0.587, 0.114], np.float32)
    sat = np.float32(d.saturation) * np.eye(3, dtype=np.float32) + (1 - np.float32(d.saturation)) * luma[None, :]
    m = np.concatenate([sat * np.float32(255.0 - d.lift), np.full((3, 1), d.lift, np.float32)], 1)
    return cv2.transform(x, m)


def _grain(rng: np.random.Generator, h: int, w: int, d: Degradation) -> np.ndarray:
    """Zero-mean grain, float32 [H, W, 3]: luma noise plus a weaker red-blue chroma noise, optionally clumped."""
    n = rng.standard_normal((h, w, 2), dtype=np.float32)
    if d.grain_px > 0.05:
        n = cv2.GaussianBlur(n, (0, 0), d.grain_px, borderType=cv2.BORDER_REFLECT)
        n /= max(float(n[::4, ::4].std()), 1e-6)
    m = np.float32(d.grain) * np.asarray([[1.0, 1.0 / 3], [1.0, 0.0], [1.0, -1.0 / 3]], np.float32)
    return cv2.transform(n, m)


def _jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    """JPEG round trip through OpenCV (4:2:0 chroma, as broadcast and web video), RGB in and out."""
    ok, buf = cv2.imencode(".jpg", np.ascontiguousarray(image[..., ::-1]), [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return np.ascontiguousarray(cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1])


def degrade(image: np.ndarray, d: Degradation, rng: np.random.Generator) -> np.ndarray:
    """Grade, blur, add grain (drawn from ``rng``), compress: uint8 [H, W, 3] RGB -> uint8 [H, W, 3] RGB."""
    x = grade(image, d)
    if d.blur_sigma > 0.05:
        x = cv2.GaussianBlur(x, (0, 0), d.blur_sigma, borderType=cv2.BORDER_REFLECT)
    if d.grain > 0:
        x = x + _grain(rng, image.shape[0], image.shape[1], d)
    out = np.clip(np.round(x), 0, 255).astype(np.uint8)
    return out if d.jpeg_quality is None else _jpeg(out, d.jpeg_quality)


def degrade_pair(
    rng: np.random.Generator, img0: np.ndarray, img1: np.ndarray, d: Degradation | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Degrade both frames with the same settings (``d``, or drawn from ``rng``) and independent grain."""
    d = sample_degradation(rng) if d is None else d
    g0, g1 = (np.random.default_rng(int(s)) for s in rng.integers(2**63, size=2))
    return degrade(img0, d, g0), degrade(img1, d, g1)
