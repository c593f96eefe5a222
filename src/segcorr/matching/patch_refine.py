"""Sub-pixel refinement of matches on the pictures themselves: local-affine patch correlation.

The network's fine stage places a match within a few pixels; this step moves image 1's point to where image 0's
patch, warped by the local motion, correlates best. Per match (positions at the matching resolution, pixel
centres at integers):

1. local affine ``A`` [2, 2]: least squares of the ``neighbours`` nearest matches' displacements (in image 0),
   fitted again without the neighbours whose residual exceeds max(3 px, twice the median) (outliers of the
   coarse stage); kept only if its singular values lie in 0.3 .. 3 and det > 0, else the identity;
2. template [P, P], P = 2 radius + 1: image 0 around ``k0`` resampled into image 1's frame through ``A``
   (bilinear), so rotation, scale and shear between the views do not decorrelate it;
3. normalised cross-correlation (OpenCV's TM_CCOEFF_NORMED) against image 1 at every integer offset within
   +-``search`` px of ``k1``, the peak refined by a parabola along each axis.

Steps 1-3 run ``iterations`` times, each from the previous positions. ``refine_and_filter`` (what
``MatchPredictor`` calls) then drops the matches that their neighbours' motion does not explain
(``segcorr.matching.consistency``, ``consistency_px``) and runs ``refit_iterations`` more rounds on the rest, whose
local affines no longer see the dropped ones. Matches whose search window leaves the
image, or whose template is flat, keep their position. Everything is batched over matches (numpy + one
``cv2.remap``, one grouped convolution): about M x (2 search + 1)^2 x P^2 multiply-adds per iteration.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class PatchRefine:
    """Settings of ``refine_matches``. The defaults were chosen on validation pairs (warped training photos,
    seeds 500000..); ``enabled=False`` returns the network's positions unchanged."""

    enabled: bool = True
    radius: int = 7
    search: int = 4
    iterations: int = 3
    neighbours: int = 20
    consistency_px: float = 8.0  # after refining, drop matches farther than this from their neighbours' motion
    refit_iterations: int = 2  # then refine the kept matches again, with neighbourhoods free of the dropped ones
    consistency_min: int = 8  # with fewer matches passing the check, every match is kept (too few to judge)

    def __post_init__(self) -> None:
        if self.radius < 1 or self.search < 1 or self.iterations < 1 or self.neighbours < 3:
            raise ValueError(f"PatchRefine: radius, search, iterations >= 1 and neighbours >= 3, found {self}")
        if self.consistency_px < 0 or self.refit_iterations < 0 or self.consistency_min < 0:
            raise ValueError(f"PatchRefine: consistency_px, refit_iterations, consistency_min >= 0, found {self}")


def neighbour_index(k0: np.ndarray, neighbours: int) -> np.ndarray | None:
    """k0 [M, 2] -> int [M, K] indices of each point's K = min(neighbours, M) nearest points (itself first), or None
    when K < 4 (too few for a fit)."""
    k = min(neighbours, len(k0))
    if k < 4:
        return None
    from scipy.spatial import cKDTree

    return cKDTree(k0).query(k0, k=k)[1]


def local_affines(k0: np.ndarray, k1: np.ndarray, idx: np.ndarray | None) -> np.ndarray:
    """k0, k1 [M, 2], idx [M, K] (``neighbour_index``) -> A [M, 2, 2] with k1 - mean1 ~ A (k0 - mean0) over each
    match's neighbours (the identity where idx is None or the fit is implausible)."""
    m = len(k0)
    eye = np.broadcast_to(np.eye(2), (m, 2, 2)).copy()
    if idx is None:
        return eye
    p, q = k0[idx].astype(np.float64), k1[idx].astype(np.float64)  # [M, K, 2]
    w = np.ones(idx.shape)
    a = _weighted_fit(p, q, w)
    res = np.linalg.norm(_centred(p, w) @ a.transpose(0, 2, 1) - _centred(q, w), axis=-1)  # [M, K]
    inlier = res <= np.maximum(3.0, 2.0 * np.median(res, axis=1, keepdims=True))
    w = np.where(inlier.sum(1, keepdims=True) >= 4, inlier.astype(np.float64), w)
    a = _weighted_fit(p, q, w)  # again without the outliers of the first fit
    smin, smax = _singular_values(a)
    ok = (smin > 0.3) & (smax < 3.0) & (_det(a) > 0) & np.isfinite(a).all((1, 2))
    return np.where(ok[:, None, None], a, eye)


def _det(a: np.ndarray) -> np.ndarray:
    """Determinants [M] of 2 x 2 matrices [M, 2, 2]."""
    return a[:, 0, 0] * a[:, 1, 1] - a[:, 0, 1] * a[:, 1, 0]


def _inv(a: np.ndarray) -> np.ndarray:
    """Inverses [M, 2, 2] of 2 x 2 matrices [M, 2, 2] (closed form: batched ``np.linalg`` is slow on 2 x 2)."""
    adj = np.stack([a[:, 1, 1], -a[:, 0, 1], -a[:, 1, 0], a[:, 0, 0]], -1).reshape(-1, 2, 2)
    return adj / _det(a)[:, None, None]


def _singular_values(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(smallest, largest) singular values [M] of 2 x 2 matrices [M, 2, 2]: the roots of s^4 - |A|_F^2 s^2 +
    det(A)^2."""
    f2 = (a * a).sum((1, 2))
    d = np.abs(_det(a))
    root = np.sqrt(np.maximum(f2 * f2 - 4.0 * d * d, 0.0))
    smax = np.sqrt(0.5 * (f2 + root))
    return d / np.where(smax > 0, smax, 1.0), smax


def _centred(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    sw = w.sum(1)
    mean = np.stack([(x[..., 0] * w).sum(1) / sw, (x[..., 1] * w).sum(1) / sw], -1)  # [M, 2]
    return x - mean[:, None]


def _weighted_fit(p: np.ndarray, q: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Least squares A [M, 2, 2] of q ~ A p with weights w [M, K] (both centred with those weights)."""
    pc, qc = _centred(p, w), _centred(q, w)
    wx, wy = pc[..., 0] * w, pc[..., 1] * w  # [M, K]
    # sum_k w p_k p_k^T (+ a tiny ridge) and sum_k w p_k q_k^T, entry by entry (2 x 2: einsum is slower)
    ptp = np.stack(
        [(wx * pc[..., 0]).sum(1), (wx * pc[..., 1]).sum(1), (wy * pc[..., 0]).sum(1), (wy * pc[..., 1]).sum(1)], -1
    )
    ptq = np.stack(
        [(wx * qc[..., 0]).sum(1), (wx * qc[..., 1]).sum(1), (wy * qc[..., 0]).sum(1), (wy * qc[..., 1]).sum(1)], -1
    )
    ptp = ptp.reshape(-1, 2, 2) + 1e-6 * np.eye(2)
    return (_inv(ptp) @ ptq.reshape(-1, 2, 2)).transpose(0, 2, 1)


def _templates(g0: np.ndarray, k0: np.ndarray, a: np.ndarray, radius: int) -> np.ndarray:
    """Image 0 around k0 seen through A: [M, P, P] float32, template pixel u samples g0 at k0 + A^-1 u."""
    # the sampling maps in float32, what cv2.remap reads (its bilinear weights are quantised to 1/32 px anyway)
    r = np.arange(-radius, radius + 1, dtype=np.float32)
    uy, ux = np.meshgrid(r, r, indexing="ij")
    ux, uy = ux.ravel()[None], uy.ravel()[None]  # [1, P^2]
    b = _inv(a).astype(np.float32)  # [M, 2, 2]
    k = k0.astype(np.float32)
    mx = k[:, 0, None] + ux * b[:, 0, 0, None] + uy * b[:, 0, 1, None]  # [M, P^2]
    my = k[:, 1, None] + ux * b[:, 1, 0, None] + uy * b[:, 1, 1, None]
    t = cv2.remap(g0, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    p = 2 * radius + 1
    return t.reshape(len(k0), p, p)


def _box_sums(x, p: int):
    """Sums over every p x p window of each slice: [M, Q, Q] -> [M, Q - p + 1, Q - p + 1], in float64 (the
    variance below subtracts two such sums): window sums along y, then along x (separable; on the small regions of
    the search this is several times faster than a summed-area table, and exact where that one cancels)."""
    return x.double().unfold(1, p, 1).sum(-1).unfold(2, p, 1).sum(-1).float()


def _ncc(regions: np.ndarray, t: np.ndarray) -> np.ndarray:
    """TM_CCOEFF_NORMED of templates t [M, P, P] over regions [M, Q, Q] -> [M, Q - P + 1, Q - P + 1] (one grouped
    convolution for the correlations, separable window sums for the variances)."""
    import torch
    import torch.nn.functional as F

    p = t.shape[1]
    reg = torch.from_numpy(np.ascontiguousarray(regions, dtype=np.float32))[None]  # [1, M, Q, Q]
    tz = torch.from_numpy(np.ascontiguousarray(t, dtype=np.float32))
    tz = tz - tz.mean((1, 2), keepdim=True)
    cov = F.conv2d(reg, tz[:, None], groups=len(tz))[0]  # [M, S, S]
    n = float(p * p)
    s1, s2 = _box_sums(reg[0], p), _box_sums(reg[0] * reg[0], p)
    var = (s2 - s1 * s1 / n).clamp(min=0.0) * (tz * tz).sum((1, 2))[:, None, None]
    return torch.where(var > 1e-12, cov / var.clamp(min=1e-12).sqrt(), torch.full_like(cov, -1.0)).numpy()


def _parabola(lo: np.ndarray, mid: np.ndarray, hi: np.ndarray) -> np.ndarray:
    d = lo - 2.0 * mid + hi
    return np.where(d < 0, np.clip(0.5 * (lo - hi) / np.where(d < 0, d, -1.0), -0.5, 0.5), 0.0)


def _subpixel(score: np.ndarray, ay: np.ndarray, ax: np.ndarray, axis: int) -> np.ndarray:
    """Parabola offset [M] of each peak (ay, ax) of score [M, S, S] along axis 0 (y) or 1 (x); 0 on the border."""
    rows, side = np.arange(len(score)), score.shape[1]
    a = ay if axis == 0 else ax
    lo, hi = np.maximum(a - 1, 0), np.minimum(a + 1, side - 1)
    v_lo, v_hi = (score[rows, lo, ax], score[rows, hi, ax]) if axis == 0 else (score[rows, ay, lo], score[rows, ay, hi])
    return np.where((a > 0) & (a < side - 1), _parabola(v_lo, score[rows, ay, ax], v_hi), 0.0)


def _step(g0, g1, k0, k1, idx, valid_hw, cfg: PatchRefine) -> np.ndarray:
    """One round of local affines (neighbours idx) + correlation; returns the new k1 [M, 2]."""
    r, s = cfg.radius, cfg.search
    h, w = valid_hw
    t = _templates(g0, k0, local_affines(k0, k1, idx), r)
    c = np.rint(k1).astype(np.int64)  # [M, 2] integer centres in image 1
    ok = (c[:, 0] - r - s >= 0) & (c[:, 1] - r - s >= 0) & (c[:, 0] + r + s < w) & (c[:, 1] + r + s < h)
    ok &= t.reshape(len(t), -1).std(1) > 1e-3
    out = k1.copy()
    if not ok.any():
        return out
    q = 2 * (r + s) + 1
    windows = np.lib.stride_tricks.sliding_window_view(g1, (q, q))  # [H - q + 1, W - q + 1, q, q], a view
    score = _ncc(windows[c[ok, 1] - r - s, c[ok, 0] - r - s], t[ok])  # regions [M', q, q] -> [M', S, S]
    ay, ax = np.divmod(score.reshape(len(score), -1).argmax(1), 2 * s + 1)
    out[ok, 0] = c[ok, 0] - s + ax + _subpixel(score, ay, ax, 1)
    out[ok, 1] = c[ok, 1] - s + ay + _subpixel(score, ay, ax, 0)
    return out


def refine_matches(
    g0: np.ndarray,
    g1: np.ndarray,
    k0: np.ndarray,
    k1: np.ndarray,
    cfg: PatchRefine,
    valid_hw1: tuple[int, int],
    idx: np.ndarray | None = None,
) -> np.ndarray:
    """g0, g1: grey float32 images [H, W] at the matching resolution; k0, k1 [M, 2] (x, y) matches there;
    valid_hw1: the (h, w) of image 1 without padding; idx: ``neighbour_index(k0, cfg.neighbours)`` when the caller
    has it. Returns image 1's refined points [M, 2] float32 (k0 is kept: it is the cell centre the network
    matched from)."""
    if not cfg.enabled or len(k0) == 0:
        return k1.astype(np.float32)
    g0 = np.ascontiguousarray(g0, dtype=np.float32)
    g1 = np.ascontiguousarray(g1, dtype=np.float32)
    k0d, k1d = k0.astype(np.float64), k1.astype(np.float64)
    if idx is None:
        idx = neighbour_index(k0d, cfg.neighbours)  # k0 does not move: one neighbour search for every round
    for _ in range(cfg.iterations):
        k1d = _step(g0, g1, k0d, k1d, idx, valid_hw1, cfg)
    return k1d.astype(np.float32)


def refine_and_filter(
    g0: np.ndarray, g1: np.ndarray, k0: np.ndarray, k1: np.ndarray, cfg: PatchRefine, valid_hw1: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray, int]:
    """``refine_matches``, then (``consistency_px`` > 0) the neighbourhood-consistency check of
    ``segcorr.matching.consistency`` and ``refit_iterations`` more rounds on the matches it keeps.
    Returns (image 1's refined points [M', 2] float32, keep: bool [M], which of the M input matches they are,
    support: how many matches passed the check). With fewer than ``consistency_min`` passing, every match is kept
    (too few to judge) and ``support`` says so; with the check off, ``support`` is M."""
    from dataclasses import replace

    from segcorr.matching.consistency import consistent_matches

    idx = neighbour_index(k0.astype(np.float64), cfg.neighbours) if cfg.enabled and len(k0) else None
    k1 = refine_matches(g0, g1, k0, k1, cfg, valid_hw1, idx)
    keep = np.ones(len(k0), bool)
    if not cfg.enabled or cfg.consistency_px <= 0 or len(k0) == 0:
        return k1, keep, len(k0)
    passed = consistent_matches(k0, k1, cfg.neighbours, cfg.consistency_px, min_kept=0, idx=idx)
    support = int(passed.sum())
    if support < max(cfg.consistency_min, 1):
        return k1, keep, support
    k0, k1 = k0[passed], k1[passed]
    if cfg.refit_iterations > 0 and support < len(passed):
        k1 = refine_matches(g0, g1, k0, k1, replace(cfg, iterations=cfg.refit_iterations), valid_hw1)
    return k1, passed, support
