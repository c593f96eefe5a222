"""Small matching cases with known geometry, shared by the matching tests (not a test module)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

H_TRUE = np.array([[0.95, 0.08, 6.0], [-0.06, 1.02, 3.0], [1e-4, -5e-5, 1.0]])


def textured(h: int = 120, w: int = 160, seed: int = 0) -> np.ndarray:
    """uint8 [h, w, 3]: random blobs and lines, rich in corners for SIFT/ORB."""
    rng = np.random.default_rng(seed)
    img = np.full((h, w, 3), 128, np.uint8)
    for _ in range(60):
        c = tuple(int(v) for v in rng.integers(0, 256, 3))
        x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
        if rng.random() < 0.5:
            cv2.circle(img, (x, y), int(rng.integers(3, 12)), c, -1)
        else:
            cv2.rectangle(img, (x, y), (x + int(rng.integers(4, 20)), y + int(rng.integers(4, 20))), c, -1)
    return img


def warped_pair(h: int = 120, w: int = 160, seed: int = 0, H: np.ndarray = H_TRUE) -> tuple[np.ndarray, np.ndarray]:
    img0 = textured(h, w, seed)
    img1 = cv2.warpPerspective(img0, H, (w, h), flags=cv2.INTER_LINEAR, borderValue=(128, 128, 128))
    return img0, img1


def write_homography_set(root: Path, count: int = 2) -> Path:
    from segcorr.io.image import write_image

    root.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        a, b = warped_pair(seed=i)
        write_image(root / f"{i:05d}_img0.png", a)
        write_image(root / f"{i:05d}_img1.png", b)
        np.savetxt(root / f"{i:05d}_H.txt", H_TRUE)
    return root


def write_pose_set(root: Path) -> Path:
    """Two pairs rendered by the 3-D scene generator, with pairs_with_gt.txt."""
    from segcorr.data.matchsynth.scene3d import render_scene_pair
    from segcorr.io.image import write_image

    root.mkdir(parents=True, exist_ok=True)
    lines = []
    for i in range(2):
        p = render_scene_pair(1_000_000 + i, 160, 224)
        write_image(root / f"a{i}.png", p["image0"])
        write_image(root / f"b{i}.png", p["image1"])
        nums = [0, 0, *p["K0"].ravel(), *p["K1"].ravel(), *p["T_0to1"].ravel()]
        lines.append(f"a{i}.png b{i}.png " + " ".join(f"{v:.9g}" for v in nums))
    (root / "pairs_with_gt.txt").write_text("\n".join(lines) + "\n")
    return root
