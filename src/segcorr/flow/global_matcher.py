"""SAMGuidedGlobalMatcher: GMFlow-style feature transformer, global correlation and softmax matching at 1/8.

Tokens are the 1/8 features plus a 2-D sine position code (the tokenizer). Each layer runs windowed
self-attention (with the same-segment attention bias when given: the boundary-aware part), windowed
cross-attention to the other frame and an MLP; odd layers shift the windows by half a window so
information crosses window borders. Matching is global: every pixel of frame 0 is compared with every
pixel of frame 1 (cosine similarity x learned temperature) and the flow is the softmax-weighted
expectation of target coordinates minus the source.

Memory: the dense correlation holds B * HW^2 floats (HW = H/8 * W/8): 3072^2 * 4 B = 38 MB at 512x384,
but 1.3 GB at 1920x1080. Above ``max_dense_tokens`` the softmax runs over chunks of query rows and the
correlation is not kept (the refinement then samples features on the fly, see ``corr.py``).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

CostBiasFn = Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]
_NEG = -1e4  # masks padded keys; finite so fully padded rows cannot produce NaN


def sine_position(dim: int, h: int, w: int, like: torch.Tensor) -> torch.Tensor:
    """2-D sine/cosine position code [1, dim, h, w] (half the channels for y, half for x)."""
    q = dim // 4
    freq = torch.exp(torch.arange(q, device=like.device, dtype=like.dtype) * (-math.log(10000.0) / max(q, 1)))
    y = torch.arange(h, device=like.device, dtype=like.dtype)[:, None] * freq  # [h, q]
    x = torch.arange(w, device=like.device, dtype=like.dtype)[:, None] * freq  # [w, q]
    py = torch.cat([y.sin(), y.cos()], -1).T[:, :, None].expand(-1, h, w)
    px = torch.cat([x.sin(), x.cos()], -1).T[:, None, :].expand(-1, h, w)
    pos = torch.cat([py, px], 0)
    return F.pad(pos, (0, 0, 0, 0, 0, dim - pos.shape[0]))[None]


def coords_grid(b: int, h: int, w: int, like: torch.Tensor) -> torch.Tensor:
    """Pixel coordinates [B, 2, h, w] as (x, y)."""
    ys, xs = torch.meshgrid(
        torch.arange(h, device=like.device, dtype=like.dtype),
        torch.arange(w, device=like.device, dtype=like.dtype),
        indexing="ij",
    )
    return torch.stack([xs, ys])[None].expand(b, -1, -1, -1)


def to_windows(x: torch.Tensor, wh: int, ww: int) -> torch.Tensor:
    """[N, C, H, W] (H % wh == W % ww == 0) -> [N * nWin, wh * ww, C]."""
    n, c, h, w = x.shape
    x = x.reshape(n, c, h // wh, wh, w // ww, ww).permute(0, 2, 4, 3, 5, 1)
    return x.reshape(-1, wh * ww, c)


def from_windows(x: torch.Tensor, n: int, h: int, w: int, wh: int, ww: int) -> torch.Tensor:
    """Inverse of ``to_windows``: [N * nWin, wh * ww, C] -> [N, C, H, W]."""
    c = x.shape[-1]
    x = x.reshape(n, h // wh, w // ww, wh, ww, c).permute(0, 5, 1, 3, 2, 4)
    return x.reshape(n, c, h, w)


class Attention(nn.Module):
    """Multi-head attention via ``scaled_dot_product_attention``; bias [N, 1, T, S] is added to the logits."""

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.q = nn.Linear(dim, dim)
        self.kv = nn.Linear(dim, 2 * dim)
        self.out = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, ctx: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
        n, t, c = x.shape
        q = self.q(x).reshape(n, t, self.heads, -1).transpose(1, 2)
        k, v = self.kv(ctx).reshape(n, ctx.shape[1], 2, self.heads, -1).permute(2, 0, 3, 1, 4)
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=bias)
        return self.out(y.transpose(1, 2).reshape(n, t, c))


class MatcherLayer(nn.Module):
    """Self-attention (segment-biased), cross-attention to the other frame, MLP; pre-norm residuals."""

    def __init__(self, dim: int, heads: int, ffn_mult: int, seg_bias: bool = False) -> None:
        super().__init__()
        self.n1, self.n2, self.n3 = nn.LayerNorm(dim), nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.self_attn = Attention(dim, heads)
        self.cross_attn = Attention(dim, heads)
        self.mlp = nn.Sequential(nn.Linear(dim, ffn_mult * dim), nn.GELU(), nn.Linear(ffn_mult * dim, dim))
        # learned weight of the same-segment bias; only created when used (DDP rejects unused parameters)
        self.bias_scale = nn.Parameter(torch.tensor(0.5)) if seg_bias else None

    def forward(self, x: torch.Tensor, pad_bias: torch.Tensor | None, affinity: torch.Tensor | None) -> torch.Tensor:
        """x: [2N, T, C] windows of frame 0 then frame 1 (same positions); affinity: [2N, T, T] or None."""
        bias = pad_bias
        if affinity is not None and self.bias_scale is not None:
            seg = self.bias_scale * affinity[:, None]
            bias = seg if bias is None else bias + seg
        h = self.n1(x)
        x = x + self.self_attn(h, h, bias)
        h = self.n2(x)
        other = torch.cat(h.chunk(2)[::-1])  # each frame's window attends to the same window of the other
        x = x + self.cross_attn(h, other, pad_bias)
        return x + self.mlp(self.n3(x))


class SAMGuidedGlobalMatcher(nn.Module):
    """Feature transformer + global softmax matching.

    forward(feat0, feat1: [B, C, h, w], frac0, frac1: [B, S, h, w] segment fractions or None (attention
    bias), cost_bias: fn(f0, f1) -> (left [B, HW, S], right [B, S, HW]) or None) ->
    dict(flow [B, 2, h, w] in 1/8 pixels, f0, f1 [B, C, h, w] transformed features, q0, k1 [B, C, h, w] the
    scaled unit features whose dot products are the correlation, corr [B, HW, h, w] correlation logits
    (without cost bias) or None when chunked).
    """

    def __init__(
        self,
        dim: int,
        num_layers: int = 2,
        heads: int = 2,
        window: int = 16,
        ffn_mult: int = 2,
        max_dense_tokens: int = 8192,
        chunk_rows: int = 1024,
        logit_scale: float = 20.0,
        attn_bias: bool = False,
    ) -> None:
        super().__init__()
        self.dim, self.window = dim, window
        self.max_dense_tokens, self.chunk_rows = max_dense_tokens, chunk_rows
        self.layers = nn.ModuleList(MatcherLayer(dim, heads, ffn_mult, attn_bias) for _ in range(num_layers))
        self.logit_scale = nn.Parameter(torch.tensor(math.log(logit_scale)))

    def transform(
        self, f0: torch.Tensor, f1: torch.Tensor, frac0: torch.Tensor | None, frac1: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        b, c, h, w = f0.shape
        wh, ww = min(self.window, h), min(self.window, w)
        ph, pw = (-h) % wh, (-w) % ww
        x = torch.cat([f0, f1]) + sine_position(c, h, w, f0)
        x = F.pad(x, (0, pw, 0, ph))
        frac = None if frac0 is None else F.pad(torch.cat([frac0, frac1]), (0, pw, 0, ph))
        valid = F.pad(f0.new_ones(1, 1, h, w), (0, pw, 0, ph))
        hp, wp = h + ph, w + pw
        for i, layer in enumerate(self.layers):
            # shift on odd layers, only along axes that hold more than one window; the roll wraps around, so
            # border windows also see the opposite border (harmless context; padded tokens stay masked)
            sy = wh // 2 if i % 2 and hp > wh else 0
            sx = ww // 2 if i % 2 and wp > ww else 0
            roll = (lambda t, s=(-sy, -sx): torch.roll(t, s, (2, 3))) if (sy or sx) else (lambda t: t)
            xw = to_windows(roll(x), wh, ww)
            pad_bias = None
            if ph or pw:
                vw = to_windows(roll(valid), wh, ww)  # [nWin, T, 1]
                pad_bias = ((1.0 - vw.transpose(1, 2)) * _NEG)[:, None].repeat(2 * b, 1, 1, 1)
            aff = None
            if frac is not None and layer.bias_scale is not None:
                fw = to_windows(roll(frac), wh, ww)  # [2B * nWin, T, S]
                aff = fw @ fw.transpose(1, 2)
            xw = layer(xw, pad_bias, aff)
            x = from_windows(xw, 2 * b, hp, wp, wh, ww)
            if sy or sx:
                x = torch.roll(x, (sy, sx), (2, 3))
        x = x[..., :h, :w]
        return x[:b], x[b:]

    def forward(
        self,
        feat0: torch.Tensor,
        feat1: torch.Tensor,
        frac0: torch.Tensor | None = None,
        frac1: torch.Tensor | None = None,
        cost_bias: CostBiasFn | None = None,
    ) -> dict[str, torch.Tensor]:
        b, c, h, w = feat0.shape
        f0, f1 = self.transform(feat0, feat1, frac0, frac1)
        left, right = cost_bias(f0, f1) if cost_bias is not None else (None, None)
        # cosine similarity with a learned temperature: the self-match of a patch always scores highest,
        # so even an untrained encoder gives a sharp, roughly right softmax (dot/sqrt(C) starts near uniform,
        # and its expectation collapses toward the image centre)
        q = F.normalize(f0.flatten(2), dim=1).transpose(1, 2) * self.logit_scale.exp()  # [B, HW, C]
        k = F.normalize(f1.flatten(2), dim=1)  # [B, C, HW]
        grid = coords_grid(1, h, w, f0).flatten(2)[0].T  # [HW, 2]
        n = h * w
        dense = n <= self.max_dense_tokens
        step = n if dense else self.chunk_rows
        match, corr = [], None
        for s in range(0, n, step):
            logits = q[:, s : s + step] @ k  # [B, rows, HW]
            if dense:
                corr = logits
            if left is not None:
                logits = torch.baddbmm(logits, left[:, s : s + step], right)  # one pass: corr + low-rank bias
            match.append(torch.softmax(logits, dim=-1) @ grid)
        flow = (torch.cat(match, 1) - grid).transpose(1, 2).reshape(b, 2, h, w)
        q_map = q.transpose(1, 2).reshape(b, c, h, w)
        k_map = k.reshape(b, c, h, w)
        return {
            "flow": flow,
            "f0": f0,
            "f1": f1,
            "q0": q_map,
            "k1": k_map,
            "corr": None if corr is None else corr.reshape(b, n, h, w),
        }
