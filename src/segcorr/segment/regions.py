"""Pure label-map operations shared by the classical backends.

Label maps are int32 [H, W], 0 = unlabelled, 1..S segment ids.
"""

from __future__ import annotations

import numpy as np


def components_of_keys(keys: np.ndarray, valid: np.ndarray | None = None) -> np.ndarray:
    """4-connected components of pixels that share the same integer key.

    keys: int [H, W]; valid: bool [H, W] (pixels outside stay 0).
    Returns int32 [H, W] with ids 1..S, numbered in row-major order of each component's first pixel.
    The graph is drawn on a 2x grid (pixels on even cells, a link between equal neighbours on the cell
    between them) so OpenCV's binary labelling finds exactly the components of equal keys.
    """
    import cv2

    h, w = keys.shape
    if valid is None:
        valid = np.ones((h, w), dtype=bool)
    grid = np.zeros((2 * h, 2 * w), np.uint8)  # [2H, 2W]
    grid[0::2, 0::2] = valid
    grid[0::2, 1:-1:2] = (keys[:, :-1] == keys[:, 1:]) & valid[:, :-1] & valid[:, 1:]
    grid[1:-1:2, 0::2] = (keys[:-1, :] == keys[1:, :]) & valid[:-1, :] & valid[1:, :]
    _, comp = cv2.connectedComponents(grid, connectivity=4, ltype=cv2.CV_32S)
    return np.ascontiguousarray(comp[0::2, 0::2])


def border_pairs(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The labels on both sides of every 4-neighbour pixel pair whose labels differ: (a, b), each [P], left or
    upper pixel first. labels: int [H, W]. Only the border pairs are gathered, not every pair."""
    cut_x, cut_y = labels[:, :-1] != labels[:, 1:], labels[:-1] != labels[1:]
    a = np.concatenate([labels[:, :-1][cut_x], labels[:-1][cut_y]])
    b = np.concatenate([labels[:, 1:][cut_x], labels[1:][cut_y]])
    return a, b


def fill_from_nearest(labels: np.ndarray) -> np.ndarray:
    """Give every 0 pixel the label of the nearest labelled pixel. labels: int [H, W] -> int32 [H, W].

    Distances are OpenCV's 5x5-mask approximation of the Euclidean distance (within a few per cent of it;
    only near-ties between two labels can resolve differently from an exact transform).
    """
    import cv2

    labels = np.asarray(labels, dtype=np.int32)
    empty = labels == 0
    if not empty.any() or empty.all():
        return labels.copy()
    # DIST_LABEL_PIXEL numbers the labelled (zero-distance) pixels 1..N in row-major order.
    _, nearest = cv2.distanceTransformWithLabels(empty.astype(np.uint8), cv2.DIST_L2, 5, labelType=cv2.DIST_LABEL_PIXEL)
    return labels[~empty][nearest - 1]


def relabel_sequential(labels: np.ndarray) -> np.ndarray:
    """Renumber the non-zero labels of int [H, W] to 1..S (0 stays 0), in order of increasing old id."""
    labels = np.asarray(labels)
    if labels.size == 0:
        return labels.astype(np.int32)
    used = np.bincount(labels.ravel()) > 0
    used[0] = False
    new = np.cumsum(used).astype(np.int32)  # 0 stays 0; old id k -> number of used ids <= k
    return new[labels]


def small_or_thin(labels: np.ndarray, min_area: int, min_thickness: float = 0.0) -> np.ndarray:
    """bool [S + 1]: True for ids whose region has fewer than `min_area` px or is thinner than
    `min_thickness` (largest inscribed half-width, px). Index 0 is always False."""
    labels = np.asarray(labels, dtype=np.int32)
    n = int(labels.max())
    area = np.bincount(labels.ravel(), minlength=n + 1)
    drop = area < min_area
    if min_thickness > 0 and n > 0:
        import cv2

        # Distance to the nearest pixel of another label (region borders count as 0).
        border = np.zeros(labels.shape, bool)
        border[:, :-1] |= labels[:, :-1] != labels[:, 1:]
        border[:, 1:] |= labels[:, :-1] != labels[:, 1:]
        border[:-1, :] |= labels[:-1, :] != labels[1:, :]
        border[1:, :] |= labels[:-1, :] != labels[1:, :]
        dist = cv2.distanceTransform((~border).astype(np.uint8), cv2.DIST_L2, 3)
        thick = np.zeros(n + 1, np.float32)
        np.maximum.at(thick, labels.ravel(), dist.ravel())
        drop |= thick < min_thickness
    drop[0] = False
    return drop


def merge_small(labels: np.ndarray, min_area: int, min_thickness: float = 0.0) -> np.ndarray:
    """Dissolve regions smaller than `min_area` pixels (or thinner than `min_thickness`, see
    `small_or_thin`) into their nearest neighbours, then renumber 1..S.

    labels: int [H, W] with every pixel labelled (> 0). Returns int32 [H, W].
    """
    labels = np.asarray(labels, dtype=np.int32)
    n = int(labels.max())
    if n == 0:
        return labels.copy()
    drop = small_or_thin(labels, min_area, min_thickness)
    if drop[1:].all():
        # Everything is small: keep the largest region rather than an empty map.
        drop[int(np.argmax(np.bincount(labels.ravel(), minlength=n + 1)[1:])) + 1] = False
    out = np.where(drop[labels], 0, labels)
    return relabel_sequential(fill_from_nearest(out))


def fill_holes(mask: np.ndarray) -> np.ndarray:
    """bool [H, W] -> bool [H, W] with enclosed background holes filled."""
    from scipy.ndimage import binary_fill_holes

    return binary_fill_holes(mask)


def clean_mask(mask: np.ndarray, min_area: int = 16) -> np.ndarray:
    """A prompted mask made tidy: 3x3 closing, components below `min_area` dropped, holes filled.

    mask: bool [H, W] -> bool [H, W].
    """
    import cv2

    m = cv2.morphologyEx(np.asarray(mask, np.uint8), cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8))
    _n, comp, stats, _ = cv2.connectedComponentsWithStats(m, connectivity=8)
    keep = stats[:, cv2.CC_STAT_AREA] >= min_area
    keep[0] = False
    return fill_holes(keep[comp])
