"""Mamba's selective scan (the S6 recurrence) in plain PyTorch, with a sequential and a parallel backend.

For every sequence b, group g (a packed mixer: a scan direction or a head), channel e and state n::

    h_t = exp(delta_t A) * h_{t-1} + delta_t B_t u_t        (h_0 = 0)
    y_t = <C_t, h_t> + D u_t

Shapes: u, delta [Bt, L, G, E]; A [G, E, N] (negative); B, C [Bt, L, G, N]; D [G, E] -> y [Bt, L, G, E]
(or [Bt, G, E], the last step only, with ``last_only``). Groups share nothing but the call: the layout keeps
them as a dimension so A and D broadcast instead of being copied per sequence.

Backends (equal to ~1e-6 in float32; ``tests/matching/test_mamba.py``):
- ``sequential``: a loop over time, vectorised over batch, groups, channels and states; ``chunk`` steps are
  discretised at once, time-major, so each step reads and writes contiguous slabs (with autograd off a step is
  one fused ``addcmul`` into a buffer). O(L) work, memory [chunk, Bt, G, E, N]. The inference path. With
  ``last_only`` the recurrence is unrolled instead: h_L = sum_t exp(A S_t) delta_t u_t B_t with S_t = sum_{s>t}
  delta_s, one state index at a time with the sequences innermost (cheap broadcasts, no Python step per token).
  Same O(L) work, memory [Bt, L, G, E].
- ``parallel``: Hillis-Steele inclusive scan of the affine maps h -> a_t h + b_t in ceil(log2 L) steps.
  O(L log L) work and [Bt, L, G, E, N] memory per step (kept for backward). The training path. No Python loop
  over L (only over log2 L shifts with static sizes), so it traces to ONNX at a fixed input size.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

BACKENDS = ("sequential", "parallel")


def _discretise(u: torch.Tensor, delta: torch.Tensor, A: torch.Tensor, B: torch.Tensor):
    """(a, b) of h_t = a_t h_{t-1} + b_t with a = exp(delta A), b = delta u B: shapes [..., G, E, N]."""
    a = torch.exp(delta.unsqueeze(-1) * A)
    b = (delta * u).unsqueeze(-1) * B.unsqueeze(-2)
    return a, b


def _readout(h: torch.Tensor, C: torch.Tensor) -> torch.Tensor:
    """<C, h> over the state: h [..., E, N] (contiguous), C [..., N] -> [..., E], as one flat batched matmul."""
    e, n = h.shape[-2:]
    y = torch.bmm(h.reshape(-1, e, n), C.reshape(-1, n, 1))
    return y.reshape(h.shape[:-1])


def _last_step_unrolled(
    u: torch.Tensor,
    delta: torch.Tensor,
    A: torch.Tensor,
    B: torch.Tensor,
    C: torch.Tensor,
    D: torch.Tensor,
    track: bool,
) -> torch.Tensor:
    """y_L of the recurrence, by its unrolled sum (module docstring): -> [Bt, G, E]. ``track``: autograd records,
    so nothing is written in place."""
    d = delta.permute(2, 3, 1, 0)  # [G, E, L, Bt]: the sequences innermost, so A and C_L B_t broadcast cheaply
    later = d.sum(2, keepdim=True) - d.cumsum(2)  # S_t = sum_{s>t} delta_s (flips cost more than this)
    cb = (B * C[:, -1:]).permute(3, 2, 1, 0)  # <C_L, B_t> per state: [N, G, L, Bt]
    decay = None if track else torch.empty_like(later)  # inference: one buffer for every state (no page faults)
    acc = None
    for i in range(A.shape[-1]):
        a_i = A[:, :, i, None, None]
        decay = (later * a_i).exp() if track else torch.mul(later, a_i, out=decay).exp_()
        if acc is None:
            acc = decay * cb[i, :, None]
        elif track:
            acc = acc + decay * cb[i, :, None]
        else:
            acc.addcmul_(decay, cb[i, :, None])
    y = (acc * (delta * u).permute(2, 3, 1, 0)).sum(2)  # [G, E, Bt]
    return y.permute(2, 0, 1) + u[:, -1] * D


def scan_sequential(
    u: torch.Tensor,
    delta: torch.Tensor,
    A: torch.Tensor,
    B: torch.Tensor,
    C: torch.Tensor,
    D: torch.Tensor,
    last_only: bool = False,
    chunk: int = 64,
) -> torch.Tensor:
    """Selective scan by a loop over time, or the unrolled sum for the last step (shapes in the module docstring)."""
    track = torch.is_grad_enabled() and any(t.requires_grad for t in (u, delta, A, B, C))
    if last_only:
        return _last_step_unrolled(u, delta, A, B, C, D, track)
    bt, length, g, e = u.shape
    h = u.new_zeros(bt, g, e, A.shape[-1])
    ys = []
    for t0 in range(0, length, chunk):
        t1 = min(length, t0 + chunk)
        # discretise time-major from the small [T, Bt, G, E] inputs: the big [T, Bt, G, E, N] come out contiguous
        a, b = _discretise(u[:, t0:t1].transpose(0, 1), delta[:, t0:t1].transpose(0, 1), A, B[:, t0:t1].transpose(0, 1))
        # the steps' slabs as views made in one call (indexing a[i] in the loop costs more than the step itself)
        a_t, b_t = a.unbind(0), b.unbind(0)
        if track:
            steps = []
            for ai, bi in zip(a_t, b_t):
                h = torch.addcmul(bi, ai, h)
                steps.append(h)
            hs = torch.stack(steps)
        else:
            hs = b  # each step overwrites its own slab of b with h_t
            for ai, bi in zip(a_t, b_t):
                h = torch.addcmul(bi, ai, h, out=bi)
        ys.append(_readout(hs, C[:, t0:t1].transpose(0, 1)).transpose(0, 1))
    return torch.cat(ys, 1) + u * D


def scan_parallel(
    u: torch.Tensor,
    delta: torch.Tensor,
    A: torch.Tensor,
    B: torch.Tensor,
    C: torch.Tensor,
    D: torch.Tensor,
    last_only: bool = False,
) -> torch.Tensor:
    """Selective scan by a Hillis-Steele scan over the affine maps h -> a_t h + b_t.

    Step d (1, 2, 4, ...) composes every element with the one d earlier: (a, b)_t <- (a_t a_{t-d},
    a_t b_{t-d} + b_t), with the identity (1, 0) shifted in before the start; after ceil(log2 L) steps b_t is
    h_t. Shapes as ``scan_sequential``.
    """
    a, b = _discretise(u, delta, A, B)
    length = u.shape[1]
    d = 1
    while d < length:
        b = b + a * F.pad(b[:, : length - d], (0, 0, 0, 0, 0, 0, d, 0))
        if 2 * d < length:  # the last step's a is never read
            a = a * F.pad(a[:, : length - d], (0, 0, 0, 0, 0, 0, d, 0), value=1.0)
        d *= 2
    if last_only:
        return _readout(b[:, -1], C[:, -1]) + u[:, -1] * D
    return _readout(b, C) + u * D


def selective_scan(
    u: torch.Tensor,
    delta: torch.Tensor,
    A: torch.Tensor,
    B: torch.Tensor,
    C: torch.Tensor,
    D: torch.Tensor,
    backend: str = "sequential",
    last_only: bool = False,
) -> torch.Tensor:
    """Dispatch to ``scan_sequential`` or ``scan_parallel`` (shapes in the module docstring)."""
    if backend == "sequential":
        return scan_sequential(u, delta, A, B, C, D, last_only)
    if backend == "parallel":
        return scan_parallel(u, delta, A, B, C, D, last_only)
    raise ValueError(f"scan backend: expected one of {BACKENDS}, found {backend!r}")
