"""Neighbourhood consistency of matches: drop a match that its neighbours' motion does not explain.

Each match's point in image 1 is predicted from its ``neighbours`` nearest matches in image 0 (the match itself
left out) through their least-squares affine motion, fitted twice: the second time without the neighbours whose own
residual exceeds max(2 px, twice the median). A match farther than ``max_px`` from its prediction is dropped. This
is the neighbourhood-consensus idea (a correct match moves with the matches around it) with a local affine model,
so it holds under rotation, scale and perspective, and across depth changes wherever the neighbours share the
surface. When fewer than ``min_kept`` matches would remain, every match is kept (too few to judge).
"""

from __future__ import annotations

import numpy as np

from segcorr.matching.patch_refine import _weighted_fit, neighbour_index


def _predict(p: np.ndarray, q: np.ndarray, w: np.ndarray) -> np.ndarray:
    """p, q [M, K, 2] neighbourhoods (entry 0 the match itself), w [M, K] -> [M, K, 2] where the weighted affine
    fit of q ~ p puts every entry."""
    a = _weighted_fit(p, q, w)  # [M, 2, 2]
    mp = (p * w[..., None]).sum(1) / w.sum(1)[:, None]
    mq = (q * w[..., None]).sum(1) / w.sum(1)[:, None]
    return mq[:, None] + (p - mp[:, None]) @ a.transpose(0, 2, 1)


def consistent_matches(
    k0: np.ndarray,
    k1: np.ndarray,
    neighbours: int = 20,
    max_px: float = 2.0,
    min_kept: int = 8,
    idx: np.ndarray | None = None,
) -> np.ndarray:
    """k0, k1 [M, 2] (x, y) matches -> bool [M], True for the matches to keep (see the module docstring).
    ``idx``: ``neighbour_index(k0, neighbours)`` when the caller has it (the search is then skipped)."""
    m = len(k0)
    if idx is None:
        idx = neighbour_index(np.asarray(k0, np.float64), neighbours)
    if idx is None or idx.shape[1] < 5:
        return np.ones(m, bool)
    p, q = np.asarray(k0, np.float64)[idx], np.asarray(k1, np.float64)[idx]  # [M, K, 2]
    w = np.ones(idx.shape)
    w[:, 0] = 0.0  # the match itself never votes for itself
    res = np.linalg.norm(_predict(p, q, w) - q, axis=-1)  # [M, K]
    inlier = res <= np.maximum(2.0, 2.0 * np.median(res[:, 1:], axis=1, keepdims=True))
    inlier[:, 0] = False
    w = np.where(inlier.sum(1, keepdims=True) >= 4, inlier.astype(np.float64), w)
    own = np.linalg.norm(_predict(p, q, w)[:, 0] - q[:, 0], axis=-1)  # [M]
    keep = own <= max_px
    return keep if int(keep.sum()) >= min_kept else np.ones(m, bool)  # min_kept 0: the check's own answer
