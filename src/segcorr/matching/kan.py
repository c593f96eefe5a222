"""Kolmogorov-Arnold network with a Gaussian RBF basis (FastKAN-style), and an MLP of the same size.

KAN layer (in -> out): every input is layer-normalised, expanded on ``num_basis`` Gaussian bumps
exp(-((x - c_k) / h)^2) with centres c_k evenly spaced on [-2, 2] and width h their spacing (a smooth stand-in
for the B-spline basis of the original KAN, cheaper: one exp per bump, no recursion), and the learned
univariate functions are a linear map of the bump values, plus a SiLU base branch::

    y = W_base silu(x) + W_rbf phi(LN(x)) + b          W_rbf: [out, in * num_basis]

The flow head can be this KAN or an MLP with the hidden width that gives the same parameter count
(``mlp_hidden_for``), for the ablation; ``tests/matching/test_kan.py`` checks the counts agree within 5%.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class RBFKANLayer(nn.Module):
    """Forward: x [..., in] -> [..., out]."""

    def __init__(self, dim_in: int, dim_out: int, num_basis: int = 8, lo: float = -2.0, hi: float = 2.0) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim_in)
        self.register_buffer("centres", torch.linspace(lo, hi, num_basis), persistent=False)
        self.inv_width = (num_basis - 1) / (hi - lo)
        self.base = nn.Linear(dim_in, dim_out)
        self.spline = nn.Linear(dim_in * num_basis, dim_out, bias=False)
        with torch.no_grad():  # small initial splines: the layer starts close to its SiLU base branch
            self.spline.weight.mul_(0.1)

    def basis(self, x: torch.Tensor) -> torch.Tensor:
        """phi [num_basis, ..., in] of x [..., in]: one bump per leading slice, so each centre broadcasts as a
        scalar over contiguous memory (a trailing basis axis of 6-8 made this the head's slowest step)."""
        xn = self.norm(x) * self.inv_width
        z = xn.unsqueeze(0) - (self.centres * self.inv_width).reshape(-1, *([1] * xn.dim()))
        if torch.is_grad_enabled() and z.requires_grad:
            return torch.exp(-z.square())
        return z.square_().neg_().exp_()  # inference: in place, no extra [num_basis, ..., in] buffers

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # W_rbf [out, in * K] (basis index fastest) applied per bump: sum_k phi_k [rows, in] @ W_k [in, out]
        k = self.centres.numel()
        phi = self.basis(x).reshape(k, -1, x.shape[-1])
        w = self.spline.weight.reshape(-1, x.shape[-1], k).permute(2, 1, 0)
        spline = torch.bmm(phi, w).sum(0).reshape(*x.shape[:-1], -1)
        return self.base(F.silu(x)) + spline


class KAN(nn.Module):
    """Stack of RBF-KAN layers with widths ``dims`` (e.g. [160, 16, 4]). Forward: [..., dims[0]] -> [..., dims[-1]]."""

    def __init__(self, dims: list[int], num_basis: int = 8) -> None:
        super().__init__()
        self.layers = nn.ModuleList([RBFKANLayer(a, b, num_basis) for a, b in zip(dims[:-1], dims[1:])])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x)
        return x


class MLP(nn.Module):
    """Linear -> GELU -> Linear (with LayerNorm on the input, as the KAN). Forward: [..., dim_in] -> [..., dim_out]."""

    def __init__(self, dim_in: int, hidden: int, dim_out: int) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.LayerNorm(dim_in), nn.Linear(dim_in, hidden), nn.GELU(), nn.Linear(hidden, dim_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def kan_param_count(dims: list[int], num_basis: int = 8) -> int:
    """Parameters of ``KAN(dims, num_basis)`` (per layer: LayerNorm 2*in, base in*out + out, rbf in*out*K)."""
    return sum(2 * a + a * b + b + a * b * num_basis for a, b in zip(dims[:-1], dims[1:]))


def mlp_hidden_for(dim_in: int, dim_out: int, params: int) -> int:
    """Hidden width of ``MLP(dim_in, hidden, dim_out)`` whose parameter count is nearest ``params``."""
    # params = 2*in + in*h + h + h*out + out
    return max(1, round((params - 2 * dim_in - dim_out) / (dim_in + 1 + dim_out)))
