"""Synthetic 3-D scenes for pose-aware matching: textured planes and boxes seen by two calibrated cameras.

A small exact ray-caster (``trace``) intersects pixel rays with planar rectangles (walls, a floor, box
faces, floating boards). It renders both views, and it also decides visibility: a pixel of view 0 is valid
in view 1 when its 3-D point projects inside view 1, in front of it, and the ray of view 1 through that
projection hits the same face at the same depth (nothing in between). So ``corr01`` is exact
(depth + pose + intrinsics), and occlusion is exact too, at sub-pixel positions.

World frame = camera 0 (x right, y down, z forward). Camera c maps world points by ``X_c = R_c X + t_c``;
``T_0to1 = [R_1 | t_1]`` since camera 0 is the identity.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from segcorr.data.matchsynth.photos import random_source, split_of_seed

MIN_OVERLAP = 0.25


@dataclass
class Face:
    """Rectangle ``origin + u a + v b`` (u, v in 0..1, ``a`` orthogonal to ``b``) with a texture tiled
    ``repeat`` times along each axis (mirrored tiling)."""

    origin: np.ndarray
    a: np.ndarray
    b: np.ndarray
    texture: np.ndarray
    repeat: tuple[float, float] = (1.0, 1.0)
    two_sided: bool = True

    @property
    def normal(self) -> np.ndarray:
        n = np.cross(self.a, self.b)
        return n / np.linalg.norm(n)


@dataclass
class Camera:
    K: np.ndarray
    R: np.ndarray
    t: np.ndarray
    height: int
    width: int

    @property
    def centre(self) -> np.ndarray:
        return -self.R.T @ self.t


def trace(faces: list[Face], cam: Camera, pix: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cast rays through pixel positions ``pix [N, 2]`` of ``cam``.

    Returns ``depth [N]`` (camera z of the nearest hit; inf where none), ``face [N]`` (index, -1 none) and
    ``uv [N, 2]`` (face coordinates of the hit). Cost: O(N x faces).
    """
    Kinv = np.linalg.inv(cam.K)
    d_cam = np.concatenate([pix, np.ones((len(pix), 1))], axis=1) @ Kinv.T  # z = 1: ray length = depth
    d = d_cam @ cam.R  # world directions (R^T d for each row)
    C = cam.centre
    depth = np.full(len(pix), np.inf)
    face = np.full(len(pix), -1, np.int64)
    uv = np.zeros((len(pix), 2))
    for i, f in enumerate(faces):
        n = f.normal
        num = float(n @ (f.origin - C))
        if not f.two_sided and num >= 0:  # the camera sees the face's back: a closed box hides it
            continue
        den = d @ n
        with np.errstate(divide="ignore", invalid="ignore"):
            s = num / den
        cand = (s > 1e-6) & (s < depth)
        if not cand.any():
            continue
        idx = np.nonzero(cand)[0]
        rel = C[None] + s[idx, None] * d[idx] - f.origin[None]
        u = rel @ f.a / float(f.a @ f.a)
        v = rel @ f.b / float(f.b @ f.b)
        inside = (u >= 0) & (u <= 1) & (v >= 0) & (v <= 1)
        idx = idx[inside]
        depth[idx] = s[idx]
        face[idx] = i
        uv[idx] = np.stack([u[inside], v[inside]], axis=1)
    return depth, face, uv


def _tile(c: np.ndarray, size: int) -> np.ndarray:
    """Mirrored tiling of texture coordinates (pixels) into 0..size-1."""
    c = np.mod(c, 2 * size)
    return np.where(c >= size, 2 * size - 1 - c, c)


def _sample(tex: np.ndarray, tx: np.ndarray, ty: np.ndarray) -> np.ndarray:
    """Bilinear samples of ``tex`` at ``(tx, ty) [N]`` -> float32 [N, 3] (maps folded into rows: OpenCV's
    remap takes at most 32767 columns)."""
    import cv2

    n, cols = len(tx), 1024
    rows = -(-n // cols)
    mx = np.zeros(rows * cols, np.float32)
    my = np.zeros(rows * cols, np.float32)
    mx[:n], my[:n] = tx, ty
    out = cv2.remap(
        tex, mx.reshape(rows, cols), my.reshape(rows, cols), cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
    )
    return out.reshape(rows * cols, -1)[:n].astype(np.float32)


def render(faces: list[Face], cam: Camera, shade: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(image uint8 [H, W, 3], depth float64 [H, W], face int64 [H, W])`` of ``cam``."""

    h, w = cam.height, cam.width
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    pix = np.stack([xs.ravel(), ys.ravel()], axis=1)
    depth, face, uv = trace(faces, cam, pix)
    img = np.zeros((h * w, 3), np.float32)
    for i, f in enumerate(faces):
        sel = np.nonzero(face == i)[0]
        if not len(sel):
            continue
        th, tw = f.texture.shape[:2]
        tx = _tile(uv[sel, 0] * f.repeat[0] * tw - 0.5, tw).astype(np.float32)
        ty = _tile(uv[sel, 1] * f.repeat[1] * th - 0.5, th).astype(np.float32)
        img[sel] = _sample(f.texture, tx, ty) * shade[i]
    img = np.clip(np.rint(img), 0, 255).astype(np.uint8).reshape(h, w, 3)
    return img, depth.reshape(h, w), face.reshape(h, w)


def correspondence(
    faces: list[Face], cam0: Camera, cam1: Camera, depth0: np.ndarray, face0: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``corr01 [2, H, W]`` float32 and ``valid01 [H, W]`` bool from view 0's depth (see module docstring)."""
    h, w = depth0.shape
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    pix = np.stack([xs.ravel(), ys.ravel(), np.ones(h * w)], axis=1)
    z = depth0.ravel()
    hit = np.isfinite(z)
    X0 = (pix @ np.linalg.inv(cam0.K).T) * np.where(hit, z, 1.0)[:, None]
    Xw = (X0 - cam0.t) @ cam0.R  # R^T (X0 - t)
    X1 = Xw @ cam1.R.T + cam1.t
    z1 = X1[:, 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        p1 = (X1 @ cam1.K.T)[:, :2] / z1[:, None]
    ok = hit & (z1 > 1e-6) & np.isfinite(p1).all(axis=1)
    ok &= (p1[:, 0] >= 0) & (p1[:, 0] <= cam1.width - 1) & (p1[:, 1] >= 0) & (p1[:, 1] <= cam1.height - 1)
    idx = np.nonzero(ok)[0]
    d1, f1, _ = trace(faces, cam1, p1[idx])
    seen = (f1 == face0.ravel()[idx]) & (np.abs(d1 - z1[idx]) <= 1e-6 * np.maximum(z1[idx], 1.0) + 1e-9)
    valid = np.zeros(h * w, bool)
    valid[idx[seen]] = True
    corr = np.where(ok[:, None], p1, 0.0).T.reshape(2, h, w)
    return corr.astype(np.float32), valid.reshape(h, w)


def _rot(axis: np.ndarray, angle: float) -> np.ndarray:
    import cv2

    return cv2.Rodrigues((np.asarray(axis, np.float64) / np.linalg.norm(axis) * angle).reshape(3, 1))[0]


def _box(rng: np.random.Generator, centre: np.ndarray, size: np.ndarray, tex) -> list[Face]:
    """Six closed, one-sided faces of a box rotated about y (yaw) and slightly tilted, normals outward."""
    R = _rot([0, 1, 0], rng.uniform(-np.pi, np.pi)) @ _rot([1, 0, 0], rng.uniform(-0.2, 0.2))
    ex, ey, ez = (R[:, k] * size[k] for k in range(3))
    c = centre - (ex + ey + ez) / 2  # corner
    faces = []
    for o, a, b in [
        (c, ey, ex),
        (c + ez, ex, ey),  # -z, +z
        (c, ez, ey),
        (c + ex, ey, ez),  # -x, +x
        (c, ex, ez),
        (c + ey, ez, ex),
    ]:  # -y, +y
        faces.append(Face(o, a, b, tex(), two_sided=False))
    # orient each normal away from the centre (the winding above is not guaranteed)
    for f in faces:
        mid = f.origin + (f.a + f.b) / 2
        if f.normal @ (mid - centre) < 0:
            f.a, f.b = f.b, f.a
            f.origin = f.origin.copy()
    return faces


def random_scene(rng: np.random.Generator, split: str, tex_size: int = 192) -> list[Face]:
    """Walls, floor, 2-5 boxes and 0-3 floating boards, every face textured from ``split``'s sources."""

    def tex() -> np.ndarray:
        return random_source(rng, tex_size, tex_size, split)

    zb = rng.uniform(7.0, 11.0)
    yf = rng.uniform(1.0, 2.0)
    tilt = _rot([0, 1, 0], rng.uniform(-0.35, 0.35))
    faces = [
        Face(
            np.array([-9.0, -7.0, zb]) @ tilt.T,
            tilt @ np.array([18.0, 0, 0]),
            tilt @ np.array([0, 14.0, 0]),
            tex(),
            repeat=(3.0, 2.0),
        ),
        Face(np.array([-9.0, yf, 0.3]), np.array([18.0, 0, 0]), np.array([0, 0, zb + 3.0]), tex(), repeat=(3.0, 2.0)),
    ]
    if rng.random() < 0.5:
        xs = rng.choice([-1.0, 1.0]) * rng.uniform(2.5, 4.0)
        faces.append(
            Face(
                np.array([xs, -7.0, 0.3]),
                np.array([0, 0, zb + 3.0]),
                np.array([0, 7.0 + yf, 0]),
                tex(),
                repeat=(2.0, 1.5),
            )
        )
    for _ in range(int(rng.integers(2, 6))):
        z = rng.uniform(3.0, 7.0)
        size = rng.uniform(0.5, 1.6, 3)
        x = rng.uniform(-0.45, 0.45) * z
        y = yf - size[1] / 2 if rng.random() < 0.6 else rng.uniform(-0.3, 0.3) * z
        faces += _box(rng, np.array([x, y, z]), size, tex)
    for _ in range(int(rng.integers(0, 4))):
        z = rng.uniform(2.5, 6.0)
        R = _rot(rng.normal(size=3), rng.uniform(0, 0.9))
        a, b = R @ np.array([rng.uniform(0.6, 2.0), 0, 0]), R @ np.array([0, rng.uniform(0.6, 2.0), 0])
        o = np.array([rng.uniform(-0.4, 0.4) * z, rng.uniform(-0.3, 0.3) * z, z]) - (a + b) / 2
        faces.append(Face(o, a, b, tex()))
    return faces


def random_intrinsics(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    f = w * rng.uniform(0.8, 1.3)
    return np.array(
        [
            [f, 0, (w - 1) / 2 + rng.uniform(-0.03, 0.03) * w],
            [0, f * rng.uniform(0.98, 1.02), (h - 1) / 2 + rng.uniform(-0.03, 0.03) * h],
            [0, 0, 1],
        ]
    )


def random_second_camera(rng: np.random.Generator, strength: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """``(R, t)`` of camera 1: a baseline of up to ~1.5 units looking at the scene's middle, with roll."""
    C = np.array([rng.uniform(-1.3, 1.3), rng.uniform(-0.4, 0.4), rng.uniform(-1.0, 1.0)]) * strength
    target = np.array([rng.uniform(-0.6, 0.6), rng.uniform(-0.4, 0.4), rng.uniform(3.5, 6.0)])
    f = target - C
    f /= np.linalg.norm(f)
    r = np.cross([0.0, 1.0, 0.0], f)
    r /= np.linalg.norm(r)
    d = np.cross(f, r)
    M = np.stack([r, d, f], axis=1) @ _rot([0, 0, 1], np.deg2rad(rng.uniform(-15, 15) * strength))
    return M.T, -M.T @ C


def render_scene_pair(
    seed: int, height: int, width: int, strength: float = 1.0, split: str | None = None
) -> dict[str, Any]:
    """One two-view scene pair, a pure function of ``seed``.

    Returns ``image0``, ``image1`` (uint8 [H, W, 3]), ``depth0``, ``depth1`` (float64 [H, W]), ``K0``,
    ``K1`` ([3, 3]), ``T_0to1`` ([4, 4]), ``corr01``, ``corr10`` (float32 [2, H, W]), ``valid01``,
    ``valid10`` (bool [H, W]). Camera 1 is redrawn (up to 8 times) until a quarter of view 0 is visible.
    """
    rng = np.random.default_rng(seed)
    split = split or split_of_seed(seed)
    faces = random_scene(rng, split)
    shade = rng.uniform(0.6, 1.15, len(faces))
    K0, K1 = random_intrinsics(rng, height, width), random_intrinsics(rng, height, width)
    cam0 = Camera(K0, np.eye(3), np.zeros(3), height, width)
    img0, depth0, face0 = render(faces, cam0, shade)
    for attempt in range(8):
        R, t = random_second_camera(rng, strength * (0.8**attempt))
        cam1 = Camera(K1, R, t, height, width)
        corr01, valid01 = correspondence(faces, cam0, cam1, depth0, face0)
        if valid01.mean() >= MIN_OVERLAP:
            break
    img1, depth1, face1 = render(faces, cam1, shade)
    corr10, valid10 = correspondence(faces, cam1, cam0, depth1, face1)
    T = np.eye(4)
    T[:3, :3], T[:3, 3] = R, t
    return {
        "image0": img0,
        "image1": img1,
        "depth0": depth0,
        "depth1": depth1,
        "K0": K0,
        "K1": K1,
        "T_0to1": T,
        "corr01": corr01,
        "valid01": valid01,
        "corr10": corr10,
        "valid10": valid10,
    }
