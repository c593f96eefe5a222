"""Which figure's drawing explains the overlap: a second occlusion test, for pairs whose outlines say little.

Where two amodal masks A and B overlap, the page shows the front figure's drawing there: its outline along its
own edge, its fill further in. So each overlap pixel, at distance k from A's edge, should look like A's pixels
nearby that lie outside B at the same distance k from A's edge when A is in front (A's outline where k is
within A's line weight, A's fill beyond), and like B's pixels at its distance from B's edge when B is. The test
compares the two fits:

    d(p) = |dark(p) - ref_B(p)| - |dark(p) - ref_A(p)|        (> 0: A's drawing fits better)
    t = mean(d) / (sd(d) / sqrt(n) + `floor`)                  over the n overlap pixels with both references

ref_X(p): the mean darkness (3x3-averaged) of X-alone pixels at p's distance from X's edge within a
`window` box around p. Distances are capped at `kmax`: deeper pixels compare with X's deeper fill.
The reference is the figure's own drawing, so no line weight, tone or fill level is assumed: a 1 px outline
over a 4 px one, a white hand over a dark sleeve and a grey coat over black trousers all read the same way.
Third figures' pixels (`free`) are left out. Cost: 2 * (kmax + 1) box filters on the pair's crop.
"""

from __future__ import annotations

import numpy as np


def _depth(m: np.ndarray, kmax: int) -> np.ndarray:
    """Distance (px, chessboard) of each pixel of bool crop `m` from its edge, capped at kmax + 1; 0 outside.
    The crop's border is no edge: the mask is extended past it."""
    import cv2

    u8 = np.pad(m.view(np.uint8), 1, mode="edge")
    return np.minimum(cv2.distanceTransform(u8, cv2.DIST_C, 3)[1:-1, 1:-1], kmax + 1)


def _fit_error(dark: np.ndarray, front: np.ndarray, back: np.ndarray, free: np.ndarray, kmax: int, window: int):
    """float32 crop: |dark - ref_front| on the overlap (NaN where there is no reference or no overlap)."""
    import cv2

    depth = _depth(front, kmax)
    overlap = front & back & free
    alone = front & ~back & free
    err = np.full(dark.shape, np.nan, np.float32)
    for k in range(1, kmax + 2):
        target = overlap & (depth == k)
        if not target.any():
            continue
        src = (alone & (depth == k)).astype(np.float32)
        num = cv2.boxFilter(dark * src, -1, (window, window), normalize=False, borderType=cv2.BORDER_CONSTANT)
        den = cv2.boxFilter(src, -1, (window, window), normalize=False, borderType=cv2.BORDER_CONSTANT)
        sel = target & (den > 0)
        err[sel] = np.abs(dark[sel] - num[sel] / den[sel])
    return err


def overlap_test(
    grey: np.ndarray,
    mi: np.ndarray,
    mj: np.ndarray,
    free: np.ndarray | None = None,
    kmax: int = 8,
    window: int = 21,
    floor: float = 0.02,
) -> tuple[float, int]:
    """(t, n): t > 0 when the overlap of bool crops mi, mj looks drawn by i (see the module docstring), from n
    overlap pixels; (0.0, 0) without any. grey: uint8 crop [h, w]; free: bool crop, pixels no third figure
    covers (None: all)."""
    import cv2

    dark = cv2.blur((255.0 - grey.astype(np.float32)) / 255.0, (3, 3))
    ok = np.ones(mi.shape, bool) if free is None else free
    ei = _fit_error(dark, mi, mj, ok, kmax, window)
    ej = _fit_error(dark, mj, mi, ok, kmax, window)
    both = ~np.isnan(ei) & ~np.isnan(ej)
    n = int(np.count_nonzero(both))
    if n == 0:
        return 0.0, 0
    d = ej[both] - ei[both]
    return float(d.mean() / (d.std() / np.sqrt(n) + floor)), n
