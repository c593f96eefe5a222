"""AS-Mamba block: flow head with uncertainty, global JEGO path at 1/32, local multi-head Mamba over an
adaptive span around the predicted flow, and a convolutional FFN that merges them.

Per image (image 1 symmetric, with the roles of the images swapped), on the 1/8 grid (h x w cells)::

    G0, G1   = JEGO Mamba(avgpool4(F_match0), avgpool4(F_match1))                   global path, 1/32
    Phi0     = FlowHead(F_match0, F_geom0, G1)                                      [B, h, w, 4]
    L0       = LocalSpan(F_match0, F_match1, Phi0)                                  local path
    F_geom0' = F_geom0 + GeomUpdate(F_geom0, L0, enc(Phi0))
    F_match0' = F_match0 + FFN(F_match0, up(G0), L0 [, F_geom0', enc(Phi0) if geom_feedback])

Phi = (x, y, s_x, s_y): x, y the matching position in the other image's coarse grid (cell units, cell centres
at integers), s_x, s_y log-variances of x and y (soft-clamped to [-s_max, s_max]).

Flow head: (x, y) = anchor + KAN(concat(F_match, F_geom))[:2], s = KAN(...)[2:]. The anchor is the expected
position under a soft assignment of the cell to the other image's 1/32 global tokens; regressing absolute
positions from a feature alone is hard without attention over positions (the reason ASpanFormer's flow head
works), and the anchor gives the KAN a global guess to correct, so it only regresses a local residual.

Adaptive span (as ASpanFormer): sigma = exp(s / 2) * radius_scale is the standard deviation in coarse cells
(8 px each); the half-width of the span is clamp(2 * sigma_px / 8, 1, max_span) = clamp(2 * sigma, 1,
max_span) cells per axis. A fixed k x k grid of points spans [Phi - span, Phi + span]; the other image's
features are read there by bilinear ``grid_sample`` (zeros outside), and the sequence [samples..., own token]
goes through a multi-head Mamba whose output at the own token is the local message. Phi is detached for the
sampling: the flow is trained by its own probabilistic loss, not through the sampling positions.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from segcorr.matching.common import Pointwise, grid_xy, in_row_tiles, pair_apply
from segcorr.matching.jego import JEGOMamba
from segcorr.matching.kan import KAN, MLP, kan_param_count, mlp_hidden_for
from segcorr.matching.mamba import MultiHeadMamba

FLOW_HEADS = ("kan", "mlp")
TILE_CELLS = 512  # inference runs the per-cell heads this many cells per intra-op thread at a time (in_row_tiles)


def _normalise(xy: torch.Tensor, hw: tuple[int, int]) -> torch.Tensor:
    """Grid (x, y) in cells -> [-1, 1] with align_corners=True (0 -> -1, w-1 -> 1; a 1-cell axis -> 0)."""
    scale = xy.new_tensor([2.0 / max(int(hw[1]) - 1, 1), 2.0 / max(int(hw[0]) - 1, 1)])
    return xy * scale - 1.0


class FlowHead(nn.Module):
    """Forward: fm [B, C_match, h, w], fg [B, C_geom, h, w], g_other [B, C_match, H', W'] (the other image's
    global tokens), hw_other (h', w') of its 1/8 grid -> Phi [B, h, w, 4]."""

    def __init__(
        self,
        c_match: int,
        c_geom: int,
        kind: str = "kan",
        hidden: int = 16,
        num_basis: int = 8,
        c_key: int = 32,
        s_max: float = 8.0,
    ) -> None:
        super().__init__()
        if kind not in FLOW_HEADS:
            raise ValueError(f"flow_head: expected one of {FLOW_HEADS}, found {kind!r}")
        dims = [c_match + c_geom, hidden, 4]
        self.head = (
            KAN(dims, num_basis)
            if kind == "kan"
            else MLP(dims[0], mlp_hidden_for(dims[0], 4, kan_param_count(dims, num_basis)), 4)
        )
        self.q = nn.Linear(c_match, c_key)
        self.k = nn.Linear(c_match, c_key)
        self.s_max = s_max

    def forward(self, fm: torch.Tensor, fg: torch.Tensor, g_other: torch.Tensor, hw_other) -> torch.Tensor:
        b, h, w = (int(v) for v in (fm.shape[0], fm.shape[2], fm.shape[3]))
        gh, gw = int(g_other.shape[2]), int(g_other.shape[3])
        q = self.q(fm.flatten(2).transpose(1, 2))
        k = self.k(g_other.flatten(2).transpose(1, 2))
        attn = torch.softmax(q @ k.transpose(1, 2) / math.sqrt(q.shape[-1]), -1)
        # centres of the global tokens in the other image's 1/8 grid
        ratio = q.new_tensor([int(hw_other[1]) / gw, int(hw_other[0]) / gh])
        centres = (grid_xy(gh, gw, q) + 0.5) * ratio - 0.5
        anchor = (attn @ centres).reshape(b, h, w, 2)
        x = torch.cat([fm, fg], 1).permute(0, 2, 3, 1).reshape(b * h * w, -1)
        out = in_row_tiles(self.head, x, TILE_CELLS).reshape(b, h, w, 4)
        s = self.s_max * torch.tanh(out[..., 2:] / self.s_max)
        return torch.cat([anchor + out[..., :2], s], -1)


class LocalSpan(nn.Module):
    """Forward: v_own [B, C_l, h, w], v_other [B, C_l, h', w'] (projected F_match), phi [B, h, w, 4] ->
    local message [B, C_l, h, w]."""

    def __init__(
        self,
        c_local: int,
        heads: int,
        points: int = 3,
        radius_scale: float = 1.0,
        max_span: float = 16.0,
        d_state: int = 4,
        expand: int = 1,
        backend: str = "sequential",
    ) -> None:
        super().__init__()
        self.points, self.radius_scale, self.max_span = points, radius_scale, max_span
        self.slot = nn.Parameter(torch.randn(points * points + 1, c_local) * 0.02)
        self.norm = nn.LayerNorm(c_local)
        self.mamba = MultiHeadMamba(c_local, heads, d_state=d_state, expand=expand, backend=backend)
        self.out = nn.Linear(c_local, c_local)

    def span(self, phi: torch.Tensor) -> torch.Tensor:
        """Half-width of the span in coarse cells per axis, [..., 2], from the log-variances phi[..., 2:]."""
        sigma = torch.exp(phi[..., 2:] / 2) * self.radius_scale
        return (2 * sigma).clamp(1.0, self.max_span)

    def forward(self, v_own: torch.Tensor, v_other: torch.Tensor, phi: torch.Tensor) -> torch.Tensor:
        b, c, h, w = (int(v) for v in v_own.shape)
        phi = phi.detach()
        k = self.points
        lin = torch.linspace(-1.0, 1.0, k, device=phi.device, dtype=phi.dtype)
        offs = torch.stack(torch.meshgrid(lin, lin, indexing="xy"), -1).reshape(k * k, 2)
        pts = phi[..., None, :2] + offs * self.span(phi)[..., None, :]  # [B, h, w, k*k, 2]
        grid = _normalise(pts.reshape(b, h * w, k * k, 2), v_other.shape[2:])
        samples = F.grid_sample(v_other, grid, mode="bilinear", padding_mode="zeros", align_corners=True)
        seq = torch.cat([samples.permute(0, 2, 3, 1), v_own.flatten(2).transpose(1, 2)[:, :, None]], 2)
        msg = in_row_tiles(self._message, seq.reshape(b * h * w, k * k + 1, c), TILE_CELLS)
        return msg.reshape(b, h, w, c).permute(0, 3, 1, 2)

    def _message(self, seq: torch.Tensor) -> torch.Tensor:
        """[cells, k*k + 1, C_l] span sequences (samples, then the own token) -> [cells, C_l] messages."""
        return self.out(self.mamba(self.norm(seq + self.slot), last_only=True))


class PhiEncoder(nn.Module):
    """Phi and the cell's own position, normalised to [-1, 1], -> C_geom features.
    Forward: phi [B, h, w, 4], hw_other -> [B, C_geom, h, w]."""

    def __init__(self, c_geom: int, s_max: float = 8.0) -> None:
        super().__init__()
        self.s_max = s_max
        self.net = nn.Sequential(nn.Linear(6, c_geom), nn.GELU(), nn.Linear(c_geom, c_geom))

    def forward(self, phi: torch.Tensor, hw_other) -> torch.Tensor:
        b, h, w = int(phi.shape[0]), int(phi.shape[1]), int(phi.shape[2])
        own = _normalise(grid_xy(h, w, phi), (h, w)).reshape(1, h, w, 2).expand(b, h, w, 2)
        x = torch.cat([_normalise(phi[..., :2], hw_other), own, phi[..., 2:] / self.s_max], -1)
        return self.net(x).permute(0, 3, 1, 2)


class ConvFFN(nn.Module):
    """pw(GELU(dw3x3(h))) with h given (the first pointwise layer is applied by the caller, part by part).
    Forward: [B, hidden, h, w] -> [B, dim_out, h, w]."""

    def __init__(self, hidden: int, dim_out: int) -> None:
        super().__init__()
        self.dw = nn.Conv2d(hidden, hidden, 3, padding=1, groups=hidden)
        self.pw = Pointwise(hidden, dim_out)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.pw(F.gelu(self.dw(h)))


class ASMambaBlock(nn.Module):
    """Forward: m0 [B, C_match, h0, w0], m1 [B, C_match, h1, w1], g0 [B, C_geom, h0, w0], g1 -> dict with
    ``m0, m1, g0, g1`` (same shapes), ``phi0`` [B, h0, w0, 4], ``phi1`` [B, h1, w1, 4], ``logit0`` [B, h0, w0],
    ``logit1`` (matchability logits of the geometry features)."""

    def __init__(
        self,
        c_match: int,
        c_geom: int,
        c_local: int = 64,
        local_heads: int = 4,
        span_points: int = 3,
        radius_scale: float = 1.0,
        max_span: float = 16.0,
        flow_head: str = "kan",
        flow_hidden: int = 16,
        num_basis: int = 8,
        global_depth: int = 1,
        pool: int = 4,
        d_state: int = 16,
        local_d_state: int = 4,
        expand: int = 2,
        local_expand: int = 1,
        order: str = "rowmajor",
        geom_feedback: bool = True,
        merge_hidden: int = 128,
        backend: str = "sequential",
    ) -> None:
        super().__init__()
        self.pool, self.geom_feedback = pool, geom_feedback
        self.global_layers = nn.ModuleList(
            [JEGOMamba(c_match, d_state, expand, order, backend) for _ in range(global_depth)]
        )
        self.flow = FlowHead(c_match, c_geom, flow_head, flow_hidden, num_basis)
        self.local_proj = Pointwise(c_match, c_local)
        self.local = LocalSpan(
            c_local, local_heads, span_points, radius_scale, max_span, local_d_state, local_expand, backend
        )
        self.phi_enc = PhiEncoder(c_geom)
        self.geom_update = nn.Sequential(Pointwise(2 * c_geom + c_local, c_geom), nn.GELU(), Pointwise(c_geom, c_geom))
        # first layer of the merge FFN, split by input so the global part runs at 1/32 before upsampling
        # (a 1x1 convolution commutes with bilinear upsampling)
        self.merge_own = Pointwise(c_match + c_local + (2 * c_geom if geom_feedback else 0), merge_hidden)
        self.merge_global = Pointwise(c_match, merge_hidden, bias=False)
        self.merge = ConvFFN(merge_hidden, c_match)
        self.logit = Pointwise(c_geom, 1)

    def _global(self, m0: torch.Tensor, m1: torch.Tensor):
        p0, p1 = F.avg_pool2d(m0, self.pool), F.avg_pool2d(m1, self.pool)
        for layer in self.global_layers:
            p0, p1 = layer(p0, p1)
        return p0, p1

    def _update(self, m, g, glob, loc, phi, hw_other):
        enc = self.phi_enc(phi, hw_other)
        g = g + self.geom_update(torch.cat([g, loc, enc], 1))
        parts = [m, loc] + ([g, enc] if self.geom_feedback else [])
        glob_h = F.interpolate(self.merge_global(glob), size=m.shape[2:], mode="bilinear", align_corners=False)
        m = m + self.merge(self.merge_own(torch.cat(parts, 1)) + glob_h)
        return m, g, self.logit(g)[:, 0]

    def forward(self, m0: torch.Tensor, m1: torch.Tensor, g0: torch.Tensor, g1: torch.Tensor) -> dict:
        hw0, hw1 = tuple(m0.shape[2:]), tuple(m1.shape[2:])
        glob0, glob1 = self._global(m0, m1)
        phi0 = self.flow(m0, g0, glob1, hw1)
        phi1 = self.flow(m1, g1, glob0, hw0)
        v0, v1 = pair_apply(self.local_proj, m0, m1)
        loc0 = self.local(v0, v1, phi0)
        loc1 = self.local(v1, v0, phi1)
        m0n, g0n, logit0 = self._update(m0, g0, glob0, loc0, phi0, hw1)
        m1n, g1n, logit1 = self._update(m1, g1, glob1, loc1, phi1, hw0)
        return {
            "m0": m0n,
            "m1": m1n,
            "g0": g0n,
            "g1": g1n,
            "phi0": phi0,
            "phi1": phi1,
            "logit0": logit0,
            "logit1": logit1,
        }
