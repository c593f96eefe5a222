"""Pure label-map operations shared by the classical backends.

Label maps are int32 [H, W], 0 = unlabelled, 1..S segment ids.
"""

from __future__ import annotations

import numpy as np


def components_of_keys(keys: np.ndarray, valid: np.ndarray | None = None) -> np.ndarray:
    """4-connected components of pixels that share the same integer key.

    keys: int [H, W]; valid: bool [H, W] (pixels outside stay 0).
    Returns int32 [H, W] with ids 1..S (row-major order of first appearance is not guaranteed).
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    h, w = keys.shape
    if valid is None:
        valid = np.ones((h, w), dtype=bool)
    idx = np.arange(h * w).reshape(h, w)
    right = (keys[:, :-1] == keys[:, 1:]) & valid[:, :-1] & valid[:, 1:]
    down = (keys[:-1, :] == keys[1:, :]) & valid[:-1, :] & valid[1:, :]
    src = np.concatenate([idx[:, :-1][right], idx[:-1, :][down]])
    dst = np.concatenate([idx[:, 1:][right], idx[1:, :][down]])
    graph = coo_matrix((np.ones(src.size, np.int8), (src, dst)), shape=(h * w, h * w))
    _, comp = connected_components(graph, directed=False)
    comp = comp.reshape(h, w)
    # Renumber the components of valid pixels 1..S; invalid pixels (each its own component) become 0.
    used = np.bincount(comp[valid], minlength=h * w) > 0
    new_id = np.cumsum(used).astype(np.int32)  # bincount + cumsum: no sort on large images
    return np.where(valid, new_id[comp], 0).astype(np.int32)


def fill_from_nearest(labels: np.ndarray) -> np.ndarray:
    """Give every 0 pixel the label of the nearest labelled pixel. labels: int [H, W] -> int32 [H, W]."""
    from scipy.ndimage import distance_transform_edt

    labels = np.asarray(labels, dtype=np.int32)
    empty = labels == 0
    if not empty.any() or empty.all():
        return labels.copy()
    _, (iy, ix) = distance_transform_edt(empty, return_indices=True)
    return labels[iy, ix]


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
    n, comp, stats, _ = cv2.connectedComponentsWithStats(m, connectivity=8)
    keep = stats[:, cv2.CC_STAT_AREA] >= min_area
    keep[0] = False
    return fill_holes(keep[comp])
