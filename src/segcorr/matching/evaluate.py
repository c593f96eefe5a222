"""Evaluate a matcher on a homography or pose set: ONE protocol for every method (learned or classical).

Protocol (``MatchProtocol``):
1. the matcher sees both images resized so the longer side is ``longer_side`` (the matcher resizes; its
   matches come back in original pixels), and at most ``max_matches`` matches, highest confidence first;
2. homography pairs: ``cv2.findHomography`` RANSAC, 3 px in original pixels -> mean corner error of img0's
   four corners against the ground truth -> ``auc3/5/10``; ``precision`` = share of matches within 3 px of
   the true homography;
3. pose pairs: ``cv2.findEssentialMat`` RANSAC on normalised points with threshold 0.5 px *at the matching
   resolution* / mean focal (SuperGlue's rule, so ScanNet at 640 px gets their exact threshold), prob
   0.99999 -> ``recoverPose`` -> pose error = max(rotation angle, translation-direction angle) ->
   ``pose_auc5/10/20``; ``precision`` = share of matches with squared symmetric epipolar distance < 5e-4
   (normalised coordinates) under the true pose.
A pair with no estimate counts as error inf (AUC 0 for that pair). ``ms_per_item`` is the matcher's wall time
alone (mean ms per pair), estimation excluded.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from segcorr.errors import InputError

Matcher = Callable[[np.ndarray, np.ndarray], dict[str, np.ndarray]]
METHODS = ("as-mamba", "sift", "orb")
REFINES = ("patch", "none")


@dataclass(frozen=True)
class MatchProtocol:
    """The shared evaluation settings (see the module docstring)."""

    longer_side: int | None = 640
    max_matches: int = 2048
    h_threshold_px: float = 3.0
    e_threshold_px: float = 0.5
    e_confidence: float = 0.99999


def build_matcher(
    method: str,
    longer_side: int | None = 640,
    max_matches: int = 2048,
    refine: str = "patch",
    turns: bool = True,
    prealign: bool = True,
) -> Matcher:
    """A matcher by name: ``sift`` | ``orb`` | ``as-mamba`` (shipped ``as_mamba_tiny``) | a .safetensors path
    of AS-Mamba weights. ``refine``: "patch" (AS-Mamba's points refined on the pictures,
    ``segcorr.matching.patch_refine``) or "none" (the network's fine positions); ``turns``: AS-Mamba's orientation
    search (``segcorr.matching.orientation``; it needs "patch"); ``prealign``: AS-Mamba's small first pass whose
    homography warps image 1 onto image 0 (``segcorr.matching.prealign``). The classical methods ignore all three."""
    if refine not in REFINES:
        raise InputError(f"unknown refinement {refine!r}; known: {', '.join(REFINES)}")
    from segcorr.matching.classical import ClassicalMatcher

    if method in ("sift", "orb"):
        return ClassicalMatcher(method, longer_side=longer_side, max_matches=max_matches)
    if method == "as-mamba" or method.endswith(".safetensors"):
        from segcorr.matching.orientation import OrientationSearch
        from segcorr.matching.patch_refine import PatchRefine
        from segcorr.matching.prealign import PreAlign
        from segcorr.matching.predictor import MatchPredictor

        source = "as_mamba_tiny" if method == "as-mamba" else method
        if method != "as-mamba" and not Path(method).is_file():
            raise InputError("weights file not found", method)
        return MatchPredictor.from_pretrained(
            source,
            longer_side=longer_side,
            max_matches=max_matches,
            refine=PatchRefine(enabled=refine == "patch"),
            orientation=OrientationSearch(enabled=turns),
            prealign=PreAlign(enabled=prealign),
        )
    raise InputError(f"unknown matching method {method!r}; known: {', '.join(METHODS)} or a .safetensors path")


def _checked(out: dict[str, Any], method: str, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    try:
        k0 = np.asarray(out["mkpts0"], np.float64).reshape(-1, 2)
        k1 = np.asarray(out["mkpts1"], np.float64).reshape(-1, 2)
        c = np.asarray(out["mconf"], np.float64).reshape(-1)
    except (KeyError, ValueError) as e:
        raise ValueError(f"method {method!r} returned no valid mkpts0/mkpts1/mconf for pair {name} ({e})") from None
    if not len(k0) == len(k1) == len(c):
        raise ValueError(f"method {method!r} returned {len(k0)}/{len(k1)}/{len(c)} mkpts0/mkpts1/mconf for {name}")
    return k0, k1, c


def score_pair(pair: Any, k0: np.ndarray, k1: np.ndarray, protocol: MatchProtocol) -> dict[str, float]:
    """Per-pair figures: homography -> ``corner_error``, ``precision``; pose -> ``err_R``, ``err_t``,
    ``precision``. ``k0/k1 [N, 2]`` in original pixels of ``pair.img0`` / ``pair.img1``."""
    from segcorr.geometry import corner_error, estimate_homography, estimate_pose, pose_error
    from segcorr.geometry.resize import resize_scale
    from segcorr.metrics.matching import epipolar_precision, homography_precision

    if pair.kind == "homography":
        H, _ = estimate_homography(k0, k1, threshold=protocol.h_threshold_px)
        h, w = pair.img0.shape[:2]
        return {"corner_error": corner_error(H, pair.H, h, w), "precision": homography_precision(k0, k1, pair.H)}
    _, _, s, _ = resize_scale(*pair.img0.shape[:2], protocol.longer_side)
    est = estimate_pose(
        k0, k1, pair.K0, pair.K1, threshold_px=protocol.e_threshold_px / s, confidence=protocol.e_confidence
    )
    err_R, err_t = (np.inf, np.inf) if est is None else pose_error(pair.T_0to1, est[1], est[2])
    return {"err_R": err_R, "err_t": err_t, "precision": epipolar_precision(k0, k1, pair.T_0to1, pair.K0, pair.K1)}


def evaluate_matches(
    dataset: Any,
    matcher: Matcher,
    method_name: str,
    data_name: str | None = None,
    protocol: MatchProtocol = MatchProtocol(),
    progress: bool = True,
    limit: int | None = None,
) -> dict[str, Any]:
    """Run ``matcher`` on every pair (or the first ``limit``) and return the flat metrics dict
    (``method``, ``data``, ``count``, ``ms_per_item`` and ``segcorr.metrics.matching.MATCH_KEYS``)."""
    from segcorr.matching.classical import top_matches
    from segcorr.metrics.loop import item_count, progress_bar, result_head
    from segcorr.metrics.matching import MatchMetricAccumulator

    n = item_count(dataset, limit)
    acc = MatchMetricAccumulator()
    method_s = 0.0
    with progress_bar(f"match {method_name}", n, progress) as advance:
        for i in range(n):
            pair = dataset[i]
            t0 = time.perf_counter()
            out = matcher(pair.img0, pair.img1)
            method_s += time.perf_counter() - t0
            k0, k1, _ = _checked(top_matches(out, protocol.max_matches), method_name, pair.name)
            s = score_pair(pair, k0, k1, protocol)
            if pair.kind == "homography":
                acc.add_homography(s["corner_error"], len(k0), s["precision"])
            else:
                acc.add_pose(s["err_R"], s["err_t"], len(k0), s["precision"])
            advance()
    result = result_head(method_name, data_name, dataset, n, method_s)
    result.update(acc.result())
    return result


def jitter_pixels(img: np.ndarray, rng: np.random.Generator, share: float = 0.1) -> np.ndarray:
    """A copy of ``img`` (uint8 / uint16 / float in 0..1, any channels) with about ``share`` of its values moved by
    one grey level (1/255 for floats) up or down, clipped to the range: a change no one can see, used to measure
    how far a result moves under it."""
    a = np.asarray(img)
    step = 1.0 / 255.0 if a.dtype.kind == "f" else 1
    top = 1.0 if a.dtype.kind == "f" else np.iinfo(a.dtype).max
    d = rng.choice(np.array([-1, 1], np.int8), a.shape) * (rng.random(a.shape) < share)
    return np.clip(a.astype(np.float64) + d * step, 0, top).astype(a.dtype)


def jittered(matcher: Matcher, seed: int, share: float = 0.1) -> Matcher:
    """``matcher`` seeing both images of every pair through ``jitter_pixels`` (one generator per wrapper, seeded: the
    same seed on the same pairs in the same order gives the same images)."""
    rng = np.random.default_rng(seed)

    def run(img0: np.ndarray, img1: np.ndarray) -> dict[str, np.ndarray]:
        return matcher(jitter_pixels(img0, rng, share), jitter_pixels(img1, rng, share))

    return run
