"""Mamba mixer (S6 block) in plain PyTorch: G independent mixers packed in one module and run as one scan.

One mixer, as in Mamba (Gu & Dao) and ``mambapy.mamba.MambaBlock`` (same parameterisation, no biases on the
projections, a bias on the convolution)::

    x, z  = in_proj(x)                      D -> 2E
    x     = silu(causal depthwise conv1d(x))  kernel d_conv over time
    dt, B, C = x_proj(x)                    E -> R + 2N
    delta = softplus(dt_proj(dt))           R -> E (with bias)
    y     = selective_scan(x, delta, A = -exp(A_log), B, C, D)
    out   = out_proj(y * silu(z))           E -> D

Packing: JEGO's four scan directions each have their own mixer, and a multi-head mixer splits a token's
channels into heads, each with its own mixer. Both are G mixers over G sequences of equal length; packing them
stacks their weights ([G, ...]) so the projections are batched matmuls and the scan is one call over Bt*G
sequences (one Python loop over time instead of G).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from segcorr.matching.selective_scan import BACKENDS, selective_scan


def _uniform_(t: torch.Tensor, bound: float) -> torch.Tensor:
    with torch.no_grad():
        return t.uniform_(-bound, bound)


class Mamba(nn.Module):
    """G packed Mamba mixers.

    Arguments:
        d_model: channels D of each mixer's input and output.
        groups: number G of independent mixers (directions or heads).
        d_state: state size N; d_conv: causal convolution length; expand: E = expand * D;
        dt_rank: R (default ceil(D / 16)); dt_min, dt_max: range of the initial step sizes.
        backend: selective-scan backend, ``sequential`` (inference) or ``parallel`` (training, ONNX).
    Forward: x [Bt, L, G, D] -> [Bt, L, G, D]; sequence g of every batch element goes through mixer g. With
    ``last_only`` only the last step's output is computed and returned, [Bt, G, D].
    """

    def __init__(
        self,
        d_model: int,
        groups: int = 1,
        d_state: int = 16,
        d_conv: int = 4,
        expand: int = 2,
        dt_rank: int | None = None,
        dt_min: float = 1e-3,
        dt_max: float = 0.1,
        backend: str = "sequential",
    ) -> None:
        super().__init__()
        g, d, n = groups, d_model, d_state
        e = expand * d
        r = dt_rank or math.ceil(d / 16)
        self.groups, self.d_model, self.d_inner, self.d_state, self.dt_rank, self.d_conv = g, d, e, n, r, d_conv
        self.backend = backend
        # weights follow nn.Linear / nn.Conv1d default initialisation, per mixer
        self.in_proj = nn.Parameter(_uniform_(torch.empty(g, 2 * e, d), d**-0.5))
        self.conv_weight = nn.Parameter(_uniform_(torch.empty(g * e, 1, d_conv), d_conv**-0.5))
        self.conv_bias = nn.Parameter(_uniform_(torch.empty(g * e), d_conv**-0.5))
        self.x_proj = nn.Parameter(_uniform_(torch.empty(g, r + 2 * n, e), e**-0.5))
        self.dt_proj_weight = nn.Parameter(_uniform_(torch.empty(g, e, r), r**-0.5))
        # initial step sizes log-uniform in [dt_min, dt_max]; the bias is their softplus inverse
        dt = torch.exp(torch.rand(g, e) * (math.log(dt_max) - math.log(dt_min)) + math.log(dt_min)).clamp(min=1e-4)
        self.dt_proj_bias = nn.Parameter(dt + torch.log(-torch.expm1(-dt)))
        # S4D-real: A = -(1..N) for every channel
        self.A_log = nn.Parameter(torch.log(torch.arange(1, n + 1, dtype=torch.float32)).repeat(g, e, 1))
        self.D = nn.Parameter(torch.ones(g, e))
        self.out_proj = nn.Parameter(_uniform_(torch.empty(g, d, e), e**-0.5))

    def set_backend(self, backend: str) -> None:
        if backend not in BACKENDS:
            raise ValueError(f"scan backend: expected one of {BACKENDS}, found {backend!r}")
        self.backend = backend

    def forward(self, x: torch.Tensor, last_only: bool = False) -> torch.Tensor:
        _bt, length, g, _ = x.shape
        e, n, r, k = self.d_inner, self.d_state, self.dt_rank, self.d_conv
        if last_only:  # the gate is read at the last step only
            xi = torch.einsum("blgd,ged->blge", x, self.in_proj[:, :e])
            z = torch.einsum("bgd,ged->bge", x[:, -1], self.in_proj[:, e:])
        else:
            xi, z = torch.einsum("blgd,ged->blge", x, self.in_proj).split(e, dim=-1)
        # causal depthwise convolution over time as k shifted multiply-adds (no layout change, ONNX-friendly)
        w = self.conv_weight.reshape(g, e, k)
        xp = F.pad(xi, (0, 0, 0, 0, k - 1, 0))
        xc = torch.addcmul(self.conv_bias.reshape(g, e), xp[:, :length], w[:, :, 0])
        for i in range(1, k):
            xc = (
                xc + xp[:, i : i + length] * w[:, :, i]
                if xc.requires_grad
                else xc.addcmul_(xp[:, i : i + length], w[:, :, i])
            )
        xc = F.silu(xc)
        dt, b, c = torch.einsum("blge,gke->blgk", xc, self.x_proj).split([r, n, n], dim=-1)
        delta = F.softplus(torch.einsum("blgr,ger->blge", dt, self.dt_proj_weight) + self.dt_proj_bias)
        y = selective_scan(xc, delta, -torch.exp(self.A_log), b, c, self.D, self.backend, last_only)
        if last_only:
            return torch.einsum("bge,gde->bgd", y * F.silu(z), self.out_proj)
        return torch.einsum("blge,gde->blgd", y * F.silu(z), self.out_proj)


class MultiHeadMamba(nn.Module):
    """Multi-head Mamba over one sequence of tokens: channels split into ``heads`` groups, one mixer each.

    Cost per token is 1/heads of a single mixer of the same width (block-diagonal projections), which is what
    makes a mixer affordable on the many short span sequences of the AS-Mamba block's local path.
    Forward: x [Bt, L, C] -> [Bt, L, C] (C divisible by heads), or [Bt, C] (last step) with ``last_only``.
    """

    def __init__(
        self, dim: int, heads: int, d_state: int = 8, expand: int = 1, d_conv: int = 4, backend: str = "sequential"
    ) -> None:
        super().__init__()
        if dim % heads:
            raise ValueError(f"MultiHeadMamba: dim {dim} must be divisible by heads {heads}")
        self.heads = heads
        self.mamba = Mamba(dim // heads, groups=heads, d_state=d_state, expand=expand, d_conv=d_conv, backend=backend)

    def forward(self, x: torch.Tensor, last_only: bool = False) -> torch.Tensor:
        bt, length, c = x.shape
        y = self.mamba(x.reshape(bt, length, self.heads, c // self.heads), last_only)
        return y.reshape(bt, c) if last_only else y.reshape(bt, length, c)
