"""Mamba's selective scan (the S6 recurrence) in plain PyTorch, with a sequential and a parallel backend.

For every sequence b, channel e and state n::

    h_t = exp(delta_t A) * h_{t-1} + delta_t B_t u_t        (h_0 = 0)
    y_t = <C_t, h_t> + D u_t

Shapes (one flat batch ``Bt``: packed Mambas and heads fold into it, see ``mamba.py``):
    u, delta: [Bt, L, E]; A: [Bt or 1, E, N] (negative); B, C: [Bt, L, N]; D: [Bt or 1, E]  ->  y: [Bt, L, E]

Backends (equal to ~1e-6 in float32; ``tests/matching/test_mamba.py``):
- ``sequential``: a loop over time, vectorised over batch, channels and states. O(L) work, state memory only
  [chunk, Bt, E, N]; the inference path (with autograd off each step is one fused ``addcmul`` into a buffer).
- ``parallel``: Hillis-Steele inclusive scan of the affine maps (a_t, b_t) in ceil(log2 L) steps. O(L log L)
  work and [Bt, L, E, N] memory per step, kept for backward; the training path. No Python loop over L
  (only over log2 L shifts with static sizes), so it traces to ONNX at a fixed input size.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

BACKENDS = ("sequential", "parallel")


def _discretise(u: torch.Tensor, delta: torch.Tensor, A: torch.Tensor, B: torch.Tensor):
    """(a, b) of h_t = a_t h_{t-1} + b_t: a = exp(delta A), b = delta u B. Shapes [Bt, L, E, N]."""
    a = torch.exp(delta.unsqueeze(-1) * A.unsqueeze(1))
    b = (delta * u).unsqueeze(-1) * B.unsqueeze(2)
    return a, b


def scan_sequential(u: torch.Tensor, delta: torch.Tensor, A: torch.Tensor, B: torch.Tensor, C: torch.Tensor,
                    D: torch.Tensor, chunk: int = 64) -> torch.Tensor:
    """Selective scan by a loop over time, ``chunk`` steps discretised at once (bounds memory to the chunk).

    Arguments: u, delta [Bt, L, E]; A [Bt|1, E, N]; B, C [Bt, L, N]; D [Bt|1, E]. Returns y [Bt, L, E].
    """
    bt, length, e = u.shape
    h = u.new_zeros(bt, e, A.shape[-1])
    track = torch.is_grad_enabled() and any(t.requires_grad for t in (u, delta, A, B, C))
    ys = []
    for t0 in range(0, length, chunk):
        t1 = min(length, t0 + chunk)
        # time first, so each step reads and writes one contiguous [Bt, E, N] slab
        a, b = (x.transpose(0, 1).contiguous() for x in _discretise(u[:, t0:t1], delta[:, t0:t1], A, B[:, t0:t1]))
        if track:
            steps = []
            for i in range(t1 - t0):
                h = torch.addcmul(b[i], a[i], h)
                steps.append(h)
            hs = torch.stack(steps)
        else:
            hs = torch.empty_like(a)
            for i in range(t1 - t0):
                h = torch.addcmul(b[i], a[i], h, out=hs[i])
        ys.append(torch.einsum("tben,btn->bte", hs, C[:, t0:t1]))
    return torch.cat(ys, 1) + u * D.unsqueeze(1)


def scan_parallel(u: torch.Tensor, delta: torch.Tensor, A: torch.Tensor, B: torch.Tensor, C: torch.Tensor,
                  D: torch.Tensor) -> torch.Tensor:
    """Selective scan by a Hillis-Steele scan over the affine maps h -> a_t h + b_t.

    Step d (1, 2, 4, ...) composes every element with the one d earlier: (a, b)_t <- (a_t a_{t-d},
    a_t b_{t-d} + b_t), with the identity (1, 0) shifted in before the start; after ceil(log2 L) steps b_t is
    h_t. Arguments and result as ``scan_sequential``.
    """
    a, b = _discretise(u, delta, A, B)
    length = u.shape[1]
    d = 1
    while d < length:
        b = b + a * F.pad(b[:, : length - d], (0, 0, 0, 0, d, 0))
        if 2 * d < length:  # the last step's a is never read
            a = a * F.pad(a[:, : length - d], (0, 0, 0, 0, d, 0), value=1.0)
        d *= 2
    return (b * C.unsqueeze(2)).sum(-1) + u * D.unsqueeze(1)


def selective_scan(u: torch.Tensor, delta: torch.Tensor, A: torch.Tensor, B: torch.Tensor, C: torch.Tensor,
                   D: torch.Tensor, backend: str = "sequential") -> torch.Tensor:
    """Dispatch to ``scan_sequential`` or ``scan_parallel`` (shapes in the module docstring)."""
    if backend == "sequential":
        return scan_sequential(u, delta, A, B, C, D)
    if backend == "parallel":
        return scan_parallel(u, delta, A, B, C, D)
    raise ValueError(f"scan backend: expected one of {BACKENDS}, found {backend!r}")
