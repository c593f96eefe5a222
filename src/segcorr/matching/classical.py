"""Classical matchers: SIFT and ORB (OpenCV) with Lowe's ratio test, behind the predictor's ``__call__``.

Same contract as ``segcorr.matching.predictor.MatchPredictor``: ``matcher(img0, img1) -> {"mkpts0" [M, 2],
"mkpts1" [M, 2], "mconf" [M]}`` (float32, original pixel coordinates), images resized to ``longer_side``
before detection, at most ``max_matches`` matches kept (highest confidence first).

Ratio test: SIFT 0.8 (Lowe's value, the reference in benchmarks/README); ORB 0.9, because Hamming distances
of 256-bit descriptors are coarse and 0.8 leaves too few matches on textured scenes. Confidence is
``1 - d1/d2`` (0 at the ratio limit's worst, 1 for a unique match), so the cap keeps the most distinctive.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from segcorr.errors import InputError
from segcorr.geometry.resize import points_to_original, resize_longer_side

MIN_SIDE = 16


def to_gray_u8(img: np.ndarray, what: str = "image") -> np.ndarray:
    """uint8 / float (0..1) image [H, W], [H, W, 1|3|4] (RGB[A]) -> uint8 [H, W] grey."""
    import cv2

    a = np.asarray(img)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (3, 4)):
        raise InputError(f"expected {what} as [H, W] grey or [H, W, 3|4] colour, found shape {a.shape}")
    if min(a.shape[:2]) < MIN_SIDE:
        raise InputError(f"expected {what} at least {MIN_SIDE}x{MIN_SIDE} px, found {a.shape[1]}x{a.shape[0]}")
    if a.dtype != np.uint8:
        if not np.issubdtype(a.dtype, np.floating):
            raise InputError(f"expected {what} as uint8 or float in 0..1, found {a.dtype}")
        a = np.clip(np.rint(a * 255.0), 0, 255).astype(np.uint8)
    if a.ndim == 3:
        a = cv2.cvtColor(np.ascontiguousarray(a[:, :, :3]), cv2.COLOR_RGB2GRAY)
    return np.ascontiguousarray(a)


def empty_matches() -> dict[str, np.ndarray]:
    return {
        "mkpts0": np.zeros((0, 2), np.float32),
        "mkpts1": np.zeros((0, 2), np.float32),
        "mconf": np.zeros(0, np.float32),
    }


def top_matches(result: dict[str, np.ndarray], max_matches: int | None) -> dict[str, np.ndarray]:
    """Keep the ``max_matches`` most confident matches (stable order by decreasing confidence)."""
    conf = np.asarray(result["mconf"])
    if max_matches is None or len(conf) <= max_matches:
        return result
    keep = np.argsort(-conf, kind="stable")[:max_matches]
    return {k: np.asarray(v)[keep] for k, v in result.items()}


@dataclass
class ClassicalMatcher:
    """SIFT or ORB keypoints + brute-force kNN (k=2) + ratio test.

    kind: "sift" | "orb"; ratio: Lowe's ratio (None = the kind's default); max_features: detector budget.
    """

    kind: str = "sift"
    longer_side: int | None = 640
    max_matches: int | None = 2048
    ratio: float | None = None
    max_features: int = 8000

    def __post_init__(self) -> None:
        if self.kind not in ("sift", "orb"):
            raise InputError(f"unknown classical matcher {self.kind!r}; known: sift, orb")
        if self.ratio is None:
            self.ratio = 0.8 if self.kind == "sift" else 0.9

    def _detector(self):
        import cv2

        if self.kind == "sift":
            return cv2.SIFT_create(nfeatures=self.max_features), cv2.NORM_L2
        return cv2.ORB_create(nfeatures=self.max_features, fastThreshold=10), cv2.NORM_HAMMING

    def __call__(self, img0: np.ndarray, img1: np.ndarray) -> dict[str, np.ndarray]:
        import cv2

        g0, sx0, sy0 = resize_longer_side(to_gray_u8(img0, "image 0"), self.longer_side)
        g1, sx1, sy1 = resize_longer_side(to_gray_u8(img1, "image 1"), self.longer_side)
        det, norm = self._detector()
        k0, d0 = det.detectAndCompute(g0, None)
        k1, d1 = det.detectAndCompute(g1, None)
        if d0 is None or d1 is None or len(k0) < 2 or len(k1) < 2:
            return empty_matches()
        knn = cv2.BFMatcher(norm).knnMatch(d0, d1, k=2)
        q, t, conf = [], [], []
        for pair in knn:
            if len(pair) < 2:
                continue
            m, n = pair
            if m.distance < self.ratio * n.distance:
                q.append(m.queryIdx)
                t.append(m.trainIdx)
                conf.append(1.0 - m.distance / max(n.distance, 1e-9))
        if not q:
            return empty_matches()
        p0 = np.array([k0[i].pt for i in q], np.float64)
        p1 = np.array([k1[i].pt for i in t], np.float64)
        out = {
            "mkpts0": points_to_original(p0, sx0, sy0),
            "mkpts1": points_to_original(p1, sx1, sy1),
            "mconf": np.asarray(conf, np.float32),
        }
        return top_matches(out, self.max_matches)
