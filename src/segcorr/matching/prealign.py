"""Pre-alignment: a small first pass finds the global motion, the full pass matches image 1 warped onto image 0.

The tiny AS-Mamba model matches well where the two views are nearly aligned and poorly under strong perspective,
scale or rotation: there it finds a few dozen correct matches in one part of the image, and a homography fitted
to them is right near them and tens of pixels off at the far corners. So ``MatchPredictor`` first matches the
pair at ``probe_side`` (a fraction of the cost of the full pass; the orientation search's views are tried there
too) and fits a homography ``H`` (image 0 -> image 1 pixels; OpenCV RANSAC, ``threshold_px`` at the probe's
resolution). When it has ``min_inliers`` inliers, image 1 is warped into image 0's frame
(``warped(x) = image1(H x)``) and, if it then covers ``min_overlap`` of the frame, the full pass matches image 0
with the warped image, where the views are nearly aligned; every match ``x`` of the warped image is mapped back
to ``H x`` in image 1. The mapping is exact, so the matches are true correspondences of the original pair; in 3-D
scenes the warp aligns one plane and the rest keeps its parallax, which the network handles as before. Without a
usable ``H`` the pair is matched as given.

A probe with ``plain_above`` or more consistent matches shows the network matching the pair well as given: the full
pass then matches it as given. A warp gains little there, and in a 3-D scene it aligns one plane, whose matches then
crowd out the rest (an essential matrix from matches on one plane is ill-determined: three ray-cast validation scenes
with 43-70 degrees of pose error from 2039-2047 consistent, all correct matches fell to 0.4-5 degrees without
the warp).

A probe can pass with a few dozen consistent matches that are consistently wrong (a repeated pattern such as
petals matched a petal off at the wrong turn, or a scale change): its homography then leads the full pass astray,
which ends with far fewer consistent matches than a good pass keeps (hundreds to 2000). Below ``recheck_below``
the orientation search's views are probed after all, and a view that beats the first probe is aligned and matched
in full; the full pass with more consistent matches is the answer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class PreAlign:
    """Settings of the pre-alignment. ``enabled=False`` matches the pair as given at full size (then the
    orientation search, when on, runs after the full pass as before). The defaults were chosen on validation pairs
    (photos no training split uses, ray-cast scenes); figures in the weights README, section AS-Mamba."""

    enabled: bool = True
    probe_side: int = 320  # longer side of the first, small pass
    min_inliers: int = 8  # the probe's homography needs this many RANSAC inliers
    threshold_px: float = 3.0  # RANSAC threshold in the probe's pixels
    min_overlap: float = 0.1  # the warp must show image 1 in this share of image 0's frame, else no warp
    # when the warped pair's full pass finds fewer consistent matches than the probe (or than the orientation search's
    # retry_below), the pair is also matched as given and the pass with more consistent matches wins
    fallback: bool = True
    # when the pair's first probe passed (no orientation search) but the full pass ends with fewer consistent
    # matches than this, the search's views are probed after all and a view that beats the first probe is aligned
    # and matched in full; the pass with more consistent matches wins (0: off). A good 640 px pass of a photo pair
    # keeps hundreds to 2000; chosen on validation (weights README, "Recheck")
    recheck_below: int = 300
    # a probe with at least this many consistent matches skips the warp: the full pass matches the pair as given
    # (0: always warp when a homography is found); chosen on validation (weights README, "Plain pass after a strong
    # probe")
    plain_above: int = 300

    def __post_init__(self) -> None:
        if (
            self.probe_side < 64
            or self.min_inliers < 4
            or self.threshold_px <= 0
            or not 0 <= self.min_overlap < 1
            or self.recheck_below < 0
            or self.plain_above < 0
        ):
            raise ValueError(
                "PreAlign: probe_side >= 64, min_inliers >= 4, threshold_px > 0, min_overlap in [0, 1), "
                f"recheck_below >= 0, plain_above >= 0, found {self}"
            )


def fit_prealignment(k0: np.ndarray, k1: np.ndarray, cfg: PreAlign, px_scale: float) -> np.ndarray | None:
    """Matches k0, k1 [N, 2] (original pixels of images 0 and 1) -> H [3, 3] float64 (image 0 -> image 1) or None
    when RANSAC finds fewer than ``min_inliers`` inliers or ``H`` is singular. ``px_scale``: image 1's original
    pixels per probe pixel (the RANSAC threshold is ``threshold_px`` probe pixels)."""
    from segcorr.geometry import estimate_homography

    H, inliers = estimate_homography(k0, k1, threshold=cfg.threshold_px * px_scale)
    if H is None or int(inliers.sum()) < cfg.min_inliers or abs(np.linalg.det(H)) < 1e-12:
        return None
    return H


def warp_onto(img1: np.ndarray, H: np.ndarray, hw0: tuple[int, int]) -> tuple[np.ndarray, float]:
    """Image 1 [H1, W1, ...] seen in image 0's frame of (height, width) ``hw0``: ``out(x) = img1(H x)``, bilinear,
    zeros where ``H x`` falls outside image 1 or behind the view (homogeneous w <= 0, which a plain perspective warp
    would fill with a mirrored copy). Returns (out: same dtype and channels, the share of image 0's frame that sees
    image 1)."""
    import cv2

    h, w = hw0
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    out = cv2.warpPerspective(np.ascontiguousarray(img1), H, (w, h), flags=flags, borderMode=cv2.BORDER_CONSTANT)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    q = H[:, 0, None, None] * xs + H[:, 1, None, None] * ys + H[:, 2, None, None]  # [3, h, w]
    ahead = q[2] > 1e-9
    x1 = np.where(ahead, q[0] / np.where(ahead, q[2], 1.0), -1.0)
    y1 = np.where(ahead, q[1] / np.where(ahead, q[2], 1.0), -1.0)
    h1, w1 = img1.shape[:2]
    seen = ahead & (x1 > -0.5) & (x1 < w1 - 0.5) & (y1 > -0.5) & (y1 < h1 - 0.5)
    out[~ahead] = 0
    return out, float(seen.mean())


def points_through(H: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Points [N, 2] of the warped image -> image 1's points ``H x`` [N, 2] (same dtype)."""
    from segcorr.geometry.homography import warp_points

    return warp_points(H, pts.astype(np.float64)).astype(pts.dtype)
