"""AniFlowFormer-T: encoder -> (segment guidance) -> global matcher -> latent cost memory -> convex upsampling.

The composer takes its parts (build by injection); ``AniFlowFormerT.from_config`` assembles them from a
``FlowModelConfig``. The network is stateless.
"""

from __future__ import annotations

import torch
from torch import nn

from segcorr.errors import InputError
from segcorr.flow.config import FlowModelConfig
from segcorr.flow.corr import DenseCorrPyramid, FeatureCorrLookup
from segcorr.flow.encoder import FlowEncoder
from segcorr.flow.global_matcher import SAMGuidedGlobalMatcher, coords_grid
from segcorr.flow.lcm import LatentCostMemoryV3
from segcorr.flow.padding import Padder
from segcorr.flow.sam_adapter import SAMGuidanceAdapterV3, upsample_affinity
from segcorr.flow.upsample import ConvexUpsampler, upsample_bilinear

MIN_SIZE = 64


class AniFlowFormerT(nn.Module):
    """Optical flow frame 0 -> frame 1, optionally guided by segment label maps.

    forward(img0, img1: [B, 3, H, W] float in 0..1 (H, W >= 64, any size), seg0, seg1: [B, H, W] long label
    maps (0 = no segment) or None, iters: refinement iterations (default ``config.iters``) -> dict:
      flow  [B, 2, H, W]  final flow in pixels (u, v);
      preds list of [B, 2, H, W]: matcher flow then one per iteration (training); [flow] in eval mode;
      flow_low [B, 2, H8, W8] final flow on the (padded) 1/8 grid, in 1/8 pixels;
      matcher_flow [B, 2, H8, W8] the global matcher's flow, in 1/8 pixels.
    Label maps are ignored unless ``config.use_sam``; missing ones mean zero guidance. Bad shapes raise
    ``InputError`` (a ValueError).
    """

    def __init__(
        self,
        config: FlowModelConfig,
        encoder: FlowEncoder,
        matcher: SAMGuidedGlobalMatcher,
        refiner: LatentCostMemoryV3,
        upsampler: ConvexUpsampler,
        adapter: SAMGuidanceAdapterV3 | None = None,
    ) -> None:
        super().__init__()
        self.config = config
        self.encoder, self.matcher, self.refiner, self.upsampler = encoder, matcher, refiner, upsampler
        self.adapter = adapter

    @classmethod
    def from_config(cls, cfg: FlowModelConfig) -> AniFlowFormerT:
        guided = cfg.guided
        adapter = None
        if guided:
            adapter = SAMGuidanceAdapterV3(
                cfg.feat_dim,
                cfg.ctx_dim,
                cfg.hidden_dim,
                cfg.num_segments,
                concat=cfg.concat,
                cost_mod=cfg.cost_mod,
                obj_pool=cfg.obj_pool,
            )
        return cls(
            cfg,
            FlowEncoder(cfg.enc_dims, cfg.feat_dim, cfg.ctx_dim),
            SAMGuidedGlobalMatcher(
                cfg.feat_dim,
                cfg.num_layers,
                cfg.num_heads,
                cfg.window,
                cfg.ffn_mult,
                cfg.max_dense_tokens,
                cfg.chunk_rows,
                attn_bias=guided and cfg.attn_bias,
            ),
            LatentCostMemoryV3(
                cfg.hidden_dim,
                cfg.ctx_dim,
                cfg.cost_levels,
                cfg.mem_radius,
                cfg.lookup_levels,
                cfg.lookup_radius,
                seg_tokens=guided and cfg.obj_pool,
            ),
            ConvexUpsampler(cfg.hidden_dim + cfg.ctx_dim),
            adapter,
        )

    @property
    def uses_segments(self) -> bool:
        """True when label maps change the output (callers may skip segmentation otherwise)."""
        return self.adapter is not None

    @staticmethod
    def _check(img0: torch.Tensor, img1: torch.Tensor, seg0: torch.Tensor | None, seg1: torch.Tensor | None) -> None:
        if img0.ndim != 4 or img0.shape[1] != 3 or img0.shape != img1.shape:
            raise InputError(
                f"expected two images [B, 3, H, W] of one shape, found {tuple(img0.shape)} and {tuple(img1.shape)}"
            )
        if min(img0.shape[-2:]) < MIN_SIZE:
            raise InputError(f"expected images of at least {MIN_SIZE} px a side, found {tuple(img0.shape[-2:])}")
        for s in (seg0, seg1):
            if s is not None and (s.ndim != 3 or s.shape[0] != img0.shape[0] or s.shape[-2:] != img0.shape[-2:]):
                raise InputError(
                    f"expected label maps [B, H, W] = {(img0.shape[0], *img0.shape[-2:])}, found {tuple(s.shape)}"
                )

    def forward(
        self,
        img0: torch.Tensor,
        img1: torch.Tensor,
        seg0: torch.Tensor | None = None,
        seg1: torch.Tensor | None = None,
        iters: int | None = None,
    ) -> dict:
        self._check(img0, img1, seg0, seg1)
        cfg = self.config
        b, _, h_in, w_in = img0.shape
        pad = Padder(h_in, w_in, 8)
        x = pad.pad_image(torch.cat([img0, img1]).to(next(self.parameters()).dtype)) * 2.0 - 1.0
        H, W = x.shape[-2:]
        feat, ctx = self.encoder(x)
        g0 = g1 = None
        if self.adapter is not None:
            g0 = self.adapter.prepare(pad.pad_labels(seg0), b, H, W, feat)
            g1 = self.adapter.prepare(pad.pad_labels(seg1), b, H, W, feat)
            if cfg.concat:
                feat = torch.cat([self.adapter.concat(feat[:b], g0), self.adapter.concat(feat[b:], g1)])
        use_bias = g0 is not None and cfg.attn_bias
        cost_bias = None
        if g0 is not None and cfg.cost_mod:
            cost_bias = lambda f0, f1: self.adapter.cost_bias(f0, f1, g0, g1)  # noqa: E731
        m = self.matcher(feat[:b], feat[b:], g0.frac if use_bias else None, g1.frac if use_bias else None, cost_bias)
        levels = max(cfg.cost_levels, cfg.lookup_levels)
        lookup = (
            DenseCorrPyramid(m["corr"], levels, m["q0"], m["k1"])
            if m["corr"] is not None
            else FeatureCorrLookup(m["q0"], m["k1"], levels)
        )
        ctx0 = ctx[:b]
        tokens = present = None
        if g0 is not None and cfg.obj_pool:
            tokens, present = self.adapter.tokens(ctx0, g0)
        h8, w8 = H // 8, W // 8
        coords0 = coords_grid(b, h8, w8, feat)
        flows, states = self.refiner(lookup, coords0, m["flow"], ctx0, iters or cfg.iters, tokens, present)
        aff = upsample_affinity(g0) if g0 is not None and cfg.seg_upsample else None
        if self.training:
            preds = [pad.unpad(upsample_bilinear(m["flow"]))]
            preds += [pad.unpad(self.upsampler(f, torch.cat([s, ctx0], 1), aff)) for f, s in zip(flows, states)]
            flow = preds[-1]
        else:
            flow = pad.unpad(self.upsampler(flows[-1], torch.cat([states[-1], ctx0], 1), aff))
            preds = [flow]
        return {"flow": flow, "preds": preds, "flow_low": flows[-1], "matcher_flow": m["flow"]}
