"""LatentCostMemoryV3: FlowFormer-style latent cost tokens refined iteratively, with segment tokens.

Cost memory (built once): around the global matcher's flow, each pyramid level's (2r+1)^2 cost window is
encoded into one latent cost token per pixel (``cost_levels`` tokens [B, HW, L, D]); coarse levels see far,
so the tokens summarise the whole cost map of the pixel, fine levels keep the detail.
Iteration: the motion state (a light GRU on the 1/8 grid) forms a query from itself, the current flow and
a small cost lookup around the current flow; the query cross-attends to the pixel's latent cost tokens
and, when given, to the image's segment tokens (object pooling). A learned sigmoid gate decides per pixel
how much of the segment message enters. A head predicts a flow update.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

Lookup = Callable[[torch.Tensor, int, int], torch.Tensor]


class SepConvGRU(nn.Module):
    """GRU cell on a feature map with 1x1 gates and a depthwise 3x3 spatial mix (cheap on CPU)."""

    def __init__(self, hidden: int, inp: int) -> None:
        super().__init__()
        self.mix = nn.Sequential(
            nn.Conv2d(hidden + inp, hidden + inp, 3, 1, 1, groups=hidden + inp), nn.Conv2d(hidden + inp, 2 * hidden, 1)
        )
        self.q = nn.Conv2d(hidden + inp, hidden, 1)

    def forward(self, h: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        z, r = torch.sigmoid(self.mix(torch.cat([h, x], 1))).chunk(2, 1)
        q = torch.tanh(self.q(torch.cat([r * h, x], 1)))
        return (1 - z) * h + z * q


class LatentCostMemoryV3(nn.Module):
    """Iterative refinement at 1/8.

    Arguments: hidden: motion state channels (also token size); ctx_dim: context channels;
    cost_levels/mem_radius: latent cost tokens; lookup_levels/lookup_radius: per-iteration lookup;
    seg_tokens: whether segment tokens (of size ``hidden``) may be given.
    forward(lookup, coords0 [B, 2, h, w], flow [B, 2, h, w], ctx [B, ctx_dim, h, w], iters,
    tokens [B, S, hidden] | None, present [B, S] bool | None) -> (flows: list of [B, 2, h, w] one per
    iteration, states: list of motion states [B, hidden, h, w]).
    """

    def __init__(
        self,
        hidden: int,
        ctx_dim: int,
        cost_levels: int = 4,
        mem_radius: int = 3,
        lookup_levels: int = 2,
        lookup_radius: int = 3,
        seg_tokens: bool = False,
    ) -> None:
        super().__init__()
        self.hidden = hidden
        self.cost_levels, self.mem_radius = cost_levels, mem_radius
        self.lookup_levels, self.lookup_radius = lookup_levels, lookup_radius
        k_mem = (2 * mem_radius + 1) ** 2
        # one encoder per level: a cost window means something different at each scale
        self.mem_w = nn.Parameter(torch.randn(cost_levels, k_mem, hidden) / math.sqrt(k_mem))
        self.mem_b = nn.Parameter(torch.zeros(cost_levels, hidden))
        self.mem_kv = nn.Linear(hidden, 2 * hidden)
        self.init_h = nn.Conv2d(ctx_dim, hidden, 1)
        k_look = lookup_levels * (2 * lookup_radius + 1) ** 2
        self.motion = nn.Sequential(
            nn.Conv2d(k_look + 2, hidden, 1),
            nn.ReLU(inplace=True),
            nn.Conv2d(hidden, hidden - 2, 3, 1, 1),
            nn.ReLU(inplace=True),
        )
        self.query = nn.Linear(2 * hidden, hidden)
        self.seg_kv = self.seg_null = self.gate = None
        if seg_tokens:
            self.seg_kv = nn.Linear(hidden, 2 * hidden)
            # a learned "no segment" key with a zero value: attention always has somewhere harmless to go
            self.seg_null = nn.Parameter(torch.zeros(1, 1, hidden))
            self.gate = nn.Linear(2 * hidden, hidden)
        self.gru = SepConvGRU(hidden, 2 * hidden + ctx_dim)
        self.head = nn.Sequential(nn.Conv2d(hidden, hidden, 1), nn.ReLU(inplace=True), nn.Conv2d(hidden, 2, 3, 1, 1))
        # updates start at zero: an untrained refiner returns the matcher flow instead of adding noise
        nn.init.zeros_(self.head[-1].weight)
        nn.init.zeros_(self.head[-1].bias)

    def memory(self, lookup: Lookup, coords: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Latent cost tokens around ``coords`` [B, 2, h, w] -> keys, values [B, HW, L, hidden]."""
        b, _, h, w = coords.shape
        cost = lookup(coords, self.mem_radius, self.cost_levels)  # [B, L*K, h, w]
        cost = cost.reshape(b, self.cost_levels, -1, h * w)
        tok = torch.einsum("blkn,lkd->bnld", cost, self.mem_w) + self.mem_b
        return self.mem_kv(F.gelu(tok)).chunk(2, -1)

    def seg_message(self, q: torch.Tensor, tokens: torch.Tensor, present: torch.Tensor) -> torch.Tensor:
        """q: [B, HW, D] attends to segment tokens [B, S, D] (absent ones masked) -> [B, HW, D]."""
        b = q.shape[0]
        k, v = self.seg_kv(tokens).chunk(2, -1)
        k = torch.cat([self.seg_null.expand(b, -1, -1), k], 1)
        v = torch.cat([torch.zeros_like(v[:, :1]), v], 1)
        keep = torch.cat([present.new_ones(b, 1), present], 1)
        bias = torch.zeros(keep.shape, dtype=q.dtype, device=q.device).masked_fill(~keep, -1e4)
        return F.scaled_dot_product_attention(q, k, v, attn_mask=bias[:, None, :])

    def forward(
        self,
        lookup: Lookup,
        coords0: torch.Tensor,
        flow: torch.Tensor,
        ctx: torch.Tensor,
        iters: int,
        tokens: torch.Tensor | None = None,
        present: torch.Tensor | None = None,
    ) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        b, _, h, w = flow.shape
        mem_k, mem_v = self.memory(lookup, coords0 + flow.detach())
        h_state = torch.tanh(self.init_h(ctx))
        inp = F.relu(ctx)
        flows, states = [], []
        for _ in range(iters):
            # lookups and motion features see a detached estimate (RAFT-style); the flow itself stays a sum of
            # updates on top of the matcher flow, so losses on the final flow still reach the matcher
            fd = flow.detach()
            cost = lookup(coords0 + fd, self.lookup_radius, self.lookup_levels)
            motion = torch.cat([self.motion(torch.cat([cost, fd], 1)), fd], 1)  # [B, D, h, w]
            q = self.query(torch.cat([h_state, motion], 1).flatten(2).transpose(1, 2))  # [B, HW, D]
            att = torch.softmax(torch.einsum("bnd,bnld->bnl", q, mem_k) / math.sqrt(self.hidden), -1)
            msg = torch.einsum("bnl,bnld->bnd", att, mem_v)
            if tokens is not None and self.seg_kv is not None:
                seg = self.seg_message(q, tokens, present)
                g = torch.sigmoid(self.gate(torch.cat([h_state.flatten(2).transpose(1, 2), seg], -1)))
                msg = msg + g * seg
            msg = msg.transpose(1, 2).reshape(b, self.hidden, h, w)
            h_state = self.gru(h_state, torch.cat([motion, msg, inp], 1))
            flow = flow + self.head(h_state)
            flows.append(flow)
            states.append(h_state)
        return flows, states
