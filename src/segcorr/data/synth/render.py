"""Render frames of a ``Scene`` and derive exact flow and occlusion from its transforms.

Each surface (background canvas or part sprite) is inverse-mapped into the frame with its affine
transform at time t (``cv2.warpAffine`` samples the rest-pose sprite at ``M^-1 x``), back to front.
The surface index map ``sid`` records which surface is visible at each pixel; flow at a pixel is the
analytic motion of that surface point, ``M_b M_a^-1 x - x``, never an estimate.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from segcorr.data.synth.scene import Scene


@dataclass(frozen=True)
class Frame:
    """One rendered frame. ``image``: uint8 [H, W, 3]; ``sid``: int32 [H, W] visible surface
    (0 = background, k = k-th part in draw order); ``seg``/``inst``: int32 [H, W]; ``line``: bool [H, W]."""

    image: np.ndarray
    sid: np.ndarray
    seg: np.ndarray
    inst: np.ndarray
    line: np.ndarray


def _bbox(m: np.ndarray, h: int, w: int, height: int, width: int) -> tuple[int, int, int, int] | None:
    """Image-space box covering a sprite of size (h, w) under the 2x3 map ``m``, clipped to the frame."""
    corners = np.array([[-1, -1, 1], [w, -1, 1], [-1, h, 1], [w, h, 1]], np.float64)
    xy = corners @ m.T
    x0 = max(int(np.floor(xy[:, 0].min())) - 1, 0)
    y0 = max(int(np.floor(xy[:, 1].min())) - 1, 0)
    x1 = min(int(np.ceil(xy[:, 0].max())) + 2, width)
    y1 = min(int(np.ceil(xy[:, 1].max())) + 2, height)
    if x1 <= x0 or y1 <= y0:
        return None
    return x0, y0, x1, y1


def render(scene: Scene, t: float, mats: np.ndarray | None = None) -> Frame:
    """Render ``scene`` at time ``t``. ``mats``: optional precomputed ``scene.surface_matrices(t)``."""
    H, W = scene.height, scene.width
    mats = scene.surface_matrices(t) if mats is None else mats
    seg_of, inst_of, _ = scene.surface_tables()
    bg = scene.background
    # Reflecting borders keep the background a fixed function of canvas coordinates, so even a
    # pan past the canvas edge stays exactly consistent between frames.
    m = mats[0][:2]
    image = cv2.warpAffine(bg.color, m, (W, H), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    regions = cv2.warpAffine(bg.regions, m, (W, H), flags=cv2.INTER_NEAREST, borderMode=cv2.BORDER_REFLECT)
    sid = np.zeros((H, W), np.int32)
    line = np.zeros((H, W), bool)
    order = scene.draw_order()
    for k, (li, pi) in enumerate(order, start=1):
        sp = scene.layers[li].parts[pi].sprite
        h, w = sp.code.shape
        box = _bbox(mats[k][:2], h, w, H, W)
        if box is None:
            continue
        x0, y0, x1, y1 = box
        mk = (mats[k] if x0 == 0 and y0 == 0 else np.array([[1, 0, -x0], [0, 1, -y0], [0, 0, 1.0]]) @ mats[k])[:2]
        code = cv2.warpAffine(
            sp.code, mk, (x1 - x0, y1 - y0), flags=cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT, borderValue=0
        )
        inside = code > 0
        if not inside.any():
            continue
        col = cv2.warpAffine(sp.color, mk, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        image[y0:y1, x0:x1][inside] = col[inside]
        sid[y0:y1, x0:x1][inside] = k
        line[y0:y1, x0:x1][inside] = code[inside] == 2
    seg = np.where(sid > 0, seg_of[sid], regions.astype(np.int32))
    return Frame(image=image, sid=sid, seg=seg, inst=inst_of[sid], line=line)


def _grid(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    return np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))


def flow_between(sid_a: np.ndarray, mats_a: np.ndarray, mats_b: np.ndarray) -> np.ndarray:
    """Exact flow from frame a to frame b, ``float32 [2, H, W]``.

    ``sid_a``: int32 [H, W] visible surfaces in frame a; ``mats_a``/``mats_b``: [K+1, 3, 3] surface
    matrices at the two times. Each surface moves by the affine map ``M_b M_a^-1``.
    """
    H, W = sid_a.shape
    d = (mats_b @ np.linalg.inv(mats_a))[:, :2, :] - np.eye(3)[None, :2, :]  # [K+1, 2, 3]
    d = d.astype(np.float32)
    X, Y = _grid(H, W)
    flow = np.empty((2, H, W), np.float32)
    # Background everywhere first (one affine map, no gather), then the parts' pixels only.
    fg = sid_a > 0
    ks, xs, ys = sid_a[fg], X[fg], Y[fg]
    for c in range(2):
        flow[c] = d[0, c, 0] * X + d[0, c, 1] * Y + d[0, c, 2]
        flow[c][fg] = d[ks, c, 0] * xs + d[ks, c, 1] * ys + d[ks, c, 2]
    return flow


def occlusion(flow_a: np.ndarray, sid_a: np.ndarray, sid_b: np.ndarray) -> np.ndarray:
    """Pixels of frame a not visible in frame b, ``bool [H, W]``: their surface point leaves the frame,
    or the pixel it lands on in frame b shows another surface (a nearer layer or part covers it)."""
    H, W = sid_a.shape
    X, Y = _grid(H, W)
    x1 = X + flow_a[0]
    y1 = Y + flow_a[1]
    out = (x1 < -0.5) | (x1 >= W - 0.5) | (y1 < -0.5) | (y1 >= H - 0.5)
    xi = np.clip(np.floor(x1 + 0.5), 0, W - 1).astype(np.int32)
    yi = np.clip(np.floor(y1 + 0.5), 0, H - 1).astype(np.int32)
    return out | (sid_b[yi, xi] != sid_a)
