"""Photometric changes between the two views: brightness, contrast, gamma, noise, blur (each random)."""

from __future__ import annotations

import numpy as np


def photometric(rng: np.random.Generator, img: np.ndarray, strength: float = 1.0) -> np.ndarray:
    """``uint8 [H, W(, C)]`` -> same shape: gain/bias, gamma, optional Gaussian blur, Gaussian noise.

    ``strength`` 0 returns the image unchanged; 1 is the training default.
    """
    import cv2

    if strength <= 0:
        return img
    x = img.astype(np.float32) / 255.0
    gain = 1.0 + strength * rng.uniform(-0.35, 0.35)
    bias = strength * rng.uniform(-0.15, 0.15)
    gamma = float(np.exp(strength * rng.uniform(-0.4, 0.4)))
    x = np.clip(x * gain + bias, 0.0, 1.0) ** gamma
    if rng.random() < 0.3 * strength:
        sigma = rng.uniform(0.3, 1.5)
        x = cv2.GaussianBlur(x, (0, 0), sigmaX=sigma)
    noise = rng.uniform(0.0, 0.03 * strength)
    if noise > 0:
        x = x + rng.normal(0.0, noise, size=x.shape).astype(np.float32)
    return np.clip(np.rint(x * 255.0), 0, 255).astype(np.uint8)
