"""Configuration of AniFlowFormer-T: one frozen dataclass; the V3 segment guidance is a set of flags on it."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from segcorr.errors import InputError
from segcorr.registry import check_positive


@dataclass(frozen=True)
class FlowModelConfig:
    """AniFlowFormer-T hyper-parameters.

    Encoder: ``enc_dims`` channels at 1/2, 1/4, 1/8; ``feat_dim`` matching features, ``ctx_dim`` context.
    Matcher: ``num_layers`` self+cross transformer layers on 1/8 tokens in ``window``x``window`` windows
    (shifted on odd layers), ``num_heads`` heads, ``ffn_mult`` MLP width factor.
    Dense correlation ([B, HW, HW] floats) is used while HW <= ``max_dense_tokens``; above it the matcher
    runs over query rows in chunks of ``chunk_rows`` and the refinement samples features on the fly.
    Refinement (latent cost memory): ``hidden_dim`` motion state, ``cost_levels`` pyramid levels summarised
    into latent cost tokens of radius ``mem_radius`` around the matcher flow, ``lookup_levels`` levels of
    radius ``lookup_radius`` looked up around the current flow each iteration, ``iters`` iterations.
    Segment guidance (used only when ``use_sam``): ``concat`` feature concatenation, ``attn_bias``
    same-segment attention bias, ``cost_mod`` segment-pair correlation bias, ``obj_pool`` segment tokens for
    the refinement; ``seg_upsample`` segment-aware convex upsampling (beyond the design note's four modes: each
    full-resolution pixel's 3x3 convex weights are scaled by the share of each coarse cell that lies in the pixel's
    own segment, so motion edges follow segment edges inside a 1/8 cell; no parameters; its effect on validation
    is in ``src/segcorr/weights/README.md``). Label maps are cut to the
    ``num_segments`` largest segments. ``sam_version`` records which guidance generation the weights were trained
    with (3 = this design) and changes nothing else.
    """

    enc_dims: tuple[int, int, int] = (32, 48, 64)
    feat_dim: int = 64
    ctx_dim: int = 64
    hidden_dim: int = 64
    num_layers: int = 2
    num_heads: int = 2
    window: int = 16
    ffn_mult: int = 2
    max_dense_tokens: int = 8192
    chunk_rows: int = 1024
    cost_levels: int = 4
    mem_radius: int = 3
    lookup_levels: int = 2
    lookup_radius: int = 3
    iters: int = 4
    use_sam: bool = False
    sam_version: int = 0
    num_segments: int = 16
    concat: bool = True
    attn_bias: bool = True
    cost_mod: bool = True
    obj_pool: bool = True
    seg_upsample: bool = False

    def __post_init__(self) -> None:
        # YAML/JSON give lists; a frozen config keeps tuples so it stays hashable and comparable
        object.__setattr__(self, "enc_dims", tuple(int(d) for d in self.enc_dims))
        if len(self.enc_dims) != 3:
            raise InputError(f"enc_dims: expected 3 channel counts (1/2, 1/4, 1/8), found {list(self.enc_dims)}")
        if self.feat_dim % self.num_heads:
            raise InputError(f"feat_dim {self.feat_dim} must be divisible by num_heads {self.num_heads}")
        check_positive(
            self,
            (
                "feat_dim",
                "ctx_dim",
                "hidden_dim",
                "window",
                "cost_levels",
                "lookup_levels",
                "num_segments",
                "chunk_rows",
                "iters",
            ),
        )

    @property
    def guided(self) -> bool:
        """True when any segment guidance is active (the model then reads label maps)."""
        return self.use_sam and (self.concat or self.attn_bias or self.cost_mod or self.obj_pool or self.seg_upsample)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def config_fields() -> list[str]:
    return [f.name for f in dataclasses.fields(FlowModelConfig)]


def make_config(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> FlowModelConfig:
    """``FlowModelConfig(**base, **overrides)``; unknown keys are an error naming the valid ones."""
    valid = config_fields()
    unknown = sorted(set(base) - set(valid) | set(overrides) - set(valid))
    if unknown:
        raise InputError(f"unknown flow model option(s) {', '.join(unknown)}; valid: {', '.join(valid)}")
    return FlowModelConfig(**{**dict(base), **dict(overrides)})
