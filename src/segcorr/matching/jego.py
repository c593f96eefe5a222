"""JEGO joint scan of two token grids (JamMa) and the joint Mamba layer that runs on it.

Tokens: image 0 cell (y, x) is token ``y * w0 + x``, image 1 cell (y, x) is ``N0 + y * w1 + x``. Two canvases
hold both grids: side by side (image 1 to the right of image 0) and stacked (image 1 below). Image 1 starts at
an even offset in both (one empty column/row when w0/h0 is odd) and grids of different sizes leave empty cells;
empty cells are dropped from the sequences.

Four directions, each reading one parity class (row parity, column parity) of a canvas with skip 2::

    0: side by side, cells (even, even), in scan order
    1: stacked, transposed (column by column), cells (odd, odd), in scan order
    2: side by side, cells (even, odd), reversed
    3: stacked, transposed, cells (odd, even), reversed

Because image 1 starts at even offsets, a token's parity on the canvas is its parity in its own image, so the
four classes partition the tokens: every token of both images is in exactly one sequence (tested), each
sequence is about a quarter of all tokens, and each alternates between the two images (side by side: a row of
image 0 then the same row of image 1; stacked: a column of image 0 then of image 1). The scan order inside a
parity class is row-major or Hilbert (``scans.py``). Sequences shorter than the longest are padded at the end
with a dummy token; the scan is causal, so end padding never changes a real token's output.
"""

from __future__ import annotations

import functools

import numpy as np
import torch
from torch import nn

from segcorr.matching.mamba import Mamba
from segcorr.matching.scans import grid_order

# (canvas, row parity, column parity, transposed, reversed)
_DIRECTIONS = (
    ("side", 0, 0, False, False),
    ("stack", 1, 1, True, False),
    ("side", 0, 1, False, True),
    ("stack", 1, 0, True, True),
)


def _canvas(h0: int, w0: int, h1: int, w1: int, kind: str) -> np.ndarray:
    """Token ids on a canvas holding both grids (-1 where empty)."""
    n0 = h0 * w0
    ids0 = np.arange(n0).reshape(h0, w0)
    ids1 = n0 + np.arange(h1 * w1).reshape(h1, w1)
    if kind == "side":
        off = w0 + w0 % 2
        canvas = -np.ones((max(h0, h1), off + w1), np.int64)
        canvas[:h0, :w0] = ids0
        canvas[:h1, off:] = ids1
    else:
        off = h0 + h0 % 2
        canvas = -np.ones((off + h1, max(w0, w1)), np.int64)
        canvas[:h0, :w0] = ids0
        canvas[off:, :w1] = ids1
    return canvas


@functools.lru_cache(maxsize=64)
def jego_indices(h0: int, w0: int, h1: int, w1: int, order: str = "rowmajor") -> tuple[np.ndarray, np.ndarray]:
    """Gather and scatter indices of the JEGO scan.

    Returns ``seq`` [4, Lmax] int64, token ids of each direction's sequence (padded with the dummy id
    N0 + N1), and ``inv`` [N0 + N1] int64, the position of each token in ``seq.reshape(-1)``.
    """
    n = h0 * w0 + h1 * w1
    seqs = []
    for kind, py, px, transposed, reverse in _DIRECTIONS:
        sub = _canvas(h0, w0, h1, w1, kind)[py::2, px::2]
        if transposed:
            sub = sub.T
        s = sub.reshape(-1)[grid_order(sub.shape[0], sub.shape[1], order)] if sub.size else sub.reshape(-1)
        if reverse:
            s = s[::-1]
        seqs.append(s[s >= 0])
    lmax = max(len(s) for s in seqs)
    seq = np.full((4, lmax), n, np.int64)
    for k, s in enumerate(seqs):
        seq[k, : len(s)] = s
    inv = np.empty(n, np.int64)
    flat = seq.reshape(-1)
    real = flat < n
    inv[flat[real]] = np.nonzero(real)[0]
    seq.setflags(write=False)
    inv.setflags(write=False)
    return seq, inv


@functools.lru_cache(maxsize=64)
def _torch_indices(h0: int, w0: int, h1: int, w1: int, order: str) -> tuple[torch.Tensor, torch.Tensor, int]:
    """``jego_indices`` for the time-major layout [Lmax, 4]: (gather [Lmax * 4], inv [N0 + N1], Lmax). Made outside
    inference mode even when the first call comes from inside it: the cached tensors are shared by every later call,
    and an inference tensor cannot take part in a forward that autograd records (training at the same grid size)."""
    seq, inv = jego_indices(h0, w0, h1, w1, order)
    lmax = seq.shape[1]
    with torch.inference_mode(False):
        return torch.tensor(seq.T.reshape(-1)), torch.tensor((inv % lmax) * 4 + inv // lmax), lmax


def jego_scan(f0: torch.Tensor, f1: torch.Tensor, order: str = "rowmajor") -> tuple[torch.Tensor, torch.Tensor]:
    """Both token grids as the four JEGO sequences.

    Arguments: f0 [B, C, h0, w0], f1 [B, C, h1, w1]. Returns (seqs [B, Lmax, 4, C], inv [N0 + N1]) where
    ``inv`` feeds ``jego_merge``.
    """
    b, c = f0.shape[:2]
    # int(): under ONNX tracing sizes are traced tensors, but the indices are constants of a fixed input size
    gather, inv, lmax = _torch_indices(int(f0.shape[2]), int(f0.shape[3]), int(f1.shape[2]), int(f1.shape[3]), order)
    tokens = torch.cat([f0.flatten(2), f1.flatten(2), f0.new_zeros(b, c, 1)], 2).transpose(1, 2)
    # time-major gather, so the four sequences come out in the packed mixer's layout [B, L, G, C]
    return tokens[:, gather.to(f0.device)].reshape(b, lmax, 4, c), inv.to(f0.device)


def jego_merge(seqs: torch.Tensor, inv: torch.Tensor, hw0: tuple[int, int], hw1: tuple[int, int]):
    """Inverse of ``jego_scan``: seqs [B, Lmax, 4, C] -> (f0 [B, C, h0, w0], f1 [B, C, h1, w1])."""
    b, _, _, c = seqs.shape
    tokens = seqs.reshape(b, -1, c)[:, inv].transpose(1, 2)
    hw0, hw1 = (int(hw0[0]), int(hw0[1])), (int(hw1[0]), int(hw1[1]))
    n0 = hw0[0] * hw0[1]
    return tokens[:, :, :n0].reshape(b, c, *hw0), tokens[:, :, n0:].reshape(b, c, *hw1)


class JEGOMamba(nn.Module):
    """One joint Mamba layer over both images: f + merge(Mamba_dir(LayerNorm(scan(f)))), a mixer per direction.

    Forward: f0 [B, C, h0, w0], f1 [B, C, h1, w1] -> same shapes.
    """

    def __init__(
        self, dim: int, d_state: int = 16, expand: int = 2, order: str = "rowmajor", backend: str = "sequential"
    ) -> None:
        super().__init__()
        self.order = order
        self.norm = nn.LayerNorm(dim)
        self.mamba = Mamba(dim, groups=4, d_state=d_state, expand=expand, backend=backend)

    def forward(self, f0: torch.Tensor, f1: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        seqs, inv = jego_scan(f0, f1, self.order)
        y0, y1 = jego_merge(self.mamba(self.norm(seqs)), inv, f0.shape[2:], f1.shape[2:])
        return f0 + y0, f1 + y1
