"""Small helpers shared by the AS-Mamba modules: running one module on both images, grid coordinates."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn


def pair_apply(
    fn: Callable[..., torch.Tensor], x0: torch.Tensor, x1: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """(fn(x0), fn(x1)), as one batched call when both have the same shape (fewer, larger kernels on CPU)."""
    if x0.shape == x1.shape:
        y = fn(torch.cat([x0, x1], 0))
        return y[: x0.shape[0]], y[x0.shape[0] :]
    return fn(x0), fn(x1)


def in_row_tiles(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, tile: int) -> torch.Tensor:
    """fn(x) for x [N, ...] whose rows are independent, computed ``tile`` rows per intra-op thread at a time and
    concatenated.

    Inference only: when autograd records (x requires grad), when tracing or exporting, or when ``tile`` is 0 or
    the tile not below N, it is one call. The result is the same; the point is speed: fn's temporaries for a tile
    stay in the CPU's cache (the local span's Mamba over 4800 cells at 640x480 runs about twice as fast on one
    thread in tiles of 256 cells)."""
    n = x.shape[0]
    tile *= torch.get_num_threads()
    if (
        tile <= 0
        or n <= tile
        or (torch.is_grad_enabled() and x.requires_grad)
        or torch.jit.is_tracing()
        or torch.onnx.is_in_onnx_export()
    ):
        return fn(x)
    return torch.cat([fn(x[i : i + tile]) for i in range(0, n, tile)], 0)


def grid_xy(h: int, w: int, like: torch.Tensor) -> torch.Tensor:
    """[h*w, 2] (x, y) of the cells of an h x w grid, row-major, dtype/device of ``like``."""
    ys, xs = torch.meshgrid(
        torch.arange(h, device=like.device, dtype=like.dtype),
        torch.arange(w, device=like.device, dtype=like.dtype),
        indexing="ij",
    )
    return torch.stack([xs.reshape(-1), ys.reshape(-1)], -1)


def cell_centres(xy_cells: torch.Tensor, scale: int) -> torch.Tensor:
    """Input-pixel (x, y) of coarse cell centres (pixel centres at integers): x * scale + (scale - 1) / 2."""
    return xy_cells * scale + (scale - 1) / 2.0


class Pointwise(nn.Linear):
    """1x1 convolution as a linear map over the channels of [B, C, H, W] -> [B, C_out, H, W].

    On channels-last inputs (what the encoder produces and the blocks keep) the permutes are views and the map is
    one GEMM; the output is channels-last. (``nn.Conv2d`` with a 1x1 kernel falls back to a slow im2col path on
    CPU for channels-last inputs.)"""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class GLUConv(nn.Module):
    """Gated linear unit of 3x3 convolutions: pw_out(dw3x3(a) * GELU(dw3x3(g))), [a, g] = pw_in(x).

    Depthwise-separable 3x3 convolutions keep the aggregator cheap on CPU (a dense 3x3 at 128 channels on the
    1/8 grid would cost ~9x more). A residual is added when ``dim_out == dim``.
    Forward: [B, dim, H, W] -> [B, dim_out, H, W].
    """

    def __init__(self, dim: int, hidden: int, dim_out: int | None = None) -> None:
        super().__init__()
        dim_out = dim_out or dim
        self.residual = dim_out == dim  # a head that changes the width has no residual
        self.pw_in = Pointwise(dim, 2 * hidden)
        self.dw = nn.Conv2d(2 * hidden, 2 * hidden, 3, padding=1, groups=2 * hidden)
        self.pw_out = Pointwise(hidden, dim_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, g = self.dw(self.pw_in(x)).chunk(2, dim=1)
        y = self.pw_out(a * torch.nn.functional.gelu(g))
        return x + y if self.residual else y
