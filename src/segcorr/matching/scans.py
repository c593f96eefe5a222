"""Scan orders of a 2-D token grid: row-major (and its four directions) and a Hilbert curve.

An order of an h x w grid is a permutation of the flat indices ``y * w + x`` (int64 numpy array, read-only,
cached per size with ``functools.lru_cache``; ``torch.from_numpy`` views it without a copy).

- ``rowmajor``: rows top to bottom, each left to right.
- ``hilbert``: the Hilbert curve of the next power-of-two square that holds the grid, keeping the cells inside
  the grid in curve order. On power-of-two squares every step moves to a 4-neighbour; on other sizes the curve
  leaves and re-enters the grid, so a few steps jump, but cells near in the sequence stay near in the image
  far more often than in row-major order (whose row ends jump by w - 1).
- ``four_directions``: the VMamba/JamMa family of directions: the order, its transpose (column-major for
  ``rowmajor``), and both reversed.
"""

from __future__ import annotations

import functools

import numpy as np

ORDERS = ("rowmajor", "hilbert")


def _frozen(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a, dtype=np.int64)
    a.setflags(write=False)
    return a


@functools.lru_cache(maxsize=128)
def hilbert_xy(n: int) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) of the n*n cells in Hilbert-curve order, n a power of two (vectorised over the curve index)."""
    if n < 1 or n & (n - 1):
        raise ValueError(f"hilbert_xy: n must be a power of two, found {n}")
    t = np.arange(n * n, dtype=np.int64)
    x = np.zeros_like(t)
    y = np.zeros_like(t)
    s = 1
    while s < n:
        rx = (t >> 1) & 1
        ry = (t ^ rx) & 1
        # rotate the quadrant so the sub-curve joins its neighbours
        flip = (ry == 0) & (rx == 1)
        x = np.where(flip, s - 1 - x, x)
        y = np.where(flip, s - 1 - y, y)
        swap = ry == 0
        x, y = np.where(swap, y, x), np.where(swap, x, y)
        x = x + s * rx
        y = y + s * ry
        t = t >> 2
        s <<= 1
    return _frozen(x), _frozen(y)


@functools.lru_cache(maxsize=128)
def hilbert_order(h: int, w: int) -> np.ndarray:
    """Flat indices of an h x w grid in Hilbert-curve order ([h*w] int64)."""
    n = 1 << max(0, (max(h, w) - 1).bit_length())
    x, y = hilbert_xy(n)
    keep = (x < w) & (y < h)
    return _frozen(y[keep] * w + x[keep])


@functools.lru_cache(maxsize=128)
def rowmajor_order(h: int, w: int) -> np.ndarray:
    """Flat indices of an h x w grid in row-major order (the identity, [h*w] int64)."""
    return _frozen(np.arange(h * w))


def grid_order(h: int, w: int, kind: str = "rowmajor") -> np.ndarray:
    """The ``kind`` order (``rowmajor`` or ``hilbert``) of an h x w grid."""
    if kind == "rowmajor":
        return rowmajor_order(h, w)
    if kind == "hilbert":
        return hilbert_order(h, w)
    raise ValueError(f"scan order: expected one of {ORDERS}, found {kind!r}")


@functools.lru_cache(maxsize=128)
def four_directions(h: int, w: int, kind: str = "rowmajor") -> np.ndarray:
    """[4, h*w] flat indices: the order, the order of the transposed grid, and both reversed."""
    fwd = grid_order(h, w, kind)
    # order of the w x h transposed grid, mapped back to indices of the h x w grid
    tr = grid_order(w, h, kind)
    tr = (tr % h) * w + tr // h
    return _frozen(np.stack([fwd, tr, fwd[::-1], tr[::-1]]))
