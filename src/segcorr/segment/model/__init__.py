"""The builtin SAM 3-style concept model: components (one per file), the composer ``Sam3Image`` and a registry.

``build("sam3_tiny")`` is the shipped size; ``build("sam3-test")`` a tiny variant for unit tests. Every width and
depth is a field of ``Sam3Config``; ``build(name, **overrides)`` replaces fields.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from segcorr.registry import check_fields, registry_entry
from segcorr.segment.model.concept import ConceptDetector
from segcorr.segment.model.mask_decoder import MaskDecoder
from segcorr.segment.model.neck import Sam3DualViTDetNeck
from segcorr.segment.model.prompt_encoder import PromptEncoder
from segcorr.segment.model.sam3 import NO_OBJ_SCORE, Sam3Image
from segcorr.segment.model.text_encoder import VETextEncoder
from segcorr.segment.model.transformer import TwoWayTransformer
from segcorr.segment.model.vit import ViT


@dataclass(frozen=True)
class Sam3Config:
    """Widths, depths and options of the concept model. ``image_size``: the longer side the predictor resizes to."""

    image_size: int = 256
    vit_dim: int = 128
    vit_depth: int = 4
    vit_heads: int = 2
    vit_window: int = 8
    vit_global_blocks: tuple[int, ...] = (1, 3)
    vit_pos: str = "abs"
    layer_scale: float | None = None
    d_model: int = 128
    neck_scales: tuple[float, ...] = (4.0, 2.0, 1.0)
    neck_dual: bool = False
    stem_skips: bool = True
    text_width: int = 64
    text_heads: int = 4
    text_layers: int = 2
    context_length: int = 32
    vocab_size: int = 49408
    twoway_depth: int = 2
    twoway_heads: int = 8
    twoway_mlp: int = 512
    twoway_rope: bool = False
    click_maps: bool = True
    num_multimask_outputs: int = 3
    dynamic_multimask_via_stability: bool = True
    det_heads: int = 4
    det_ffn: int = 512
    det_encoder_layers: int = 1
    det_decoder_layers: int = 2
    num_queries: int = 16


REGISTRY: dict[str, Sam3Config] = {
    "sam3_tiny": Sam3Config(),
    "sam3-test": Sam3Config(
        image_size=64,
        vit_dim=32,
        vit_depth=2,
        vit_heads=2,
        vit_window=2,
        vit_global_blocks=(1,),
        d_model=32,
        text_width=16,
        text_heads=2,
        text_layers=1,
        context_length=16,
        twoway_depth=1,
        twoway_heads=2,
        twoway_mlp=64,
        det_heads=2,
        det_ffn=64,
        det_encoder_layers=1,
        det_decoder_layers=1,
        num_queries=4,
    ),
}
NAMES = tuple(REGISTRY)


def config_for(name: str, **overrides) -> Sam3Config:
    """The config of registry model ``name`` with fields replaced by ``overrides``; unknown names or fields are
    an InputError listing the valid ones."""
    base = registry_entry(REGISTRY, name, "concept")
    check_fields(Sam3Config, overrides, "option", f"for {name}")
    overrides = {k: tuple(v) if isinstance(v, list) else v for k, v in overrides.items()}
    return dataclasses.replace(base, **overrides)


def build_from_config(cfg: Sam3Config) -> Sam3Image:
    d = cfg.d_model
    grid = (cfg.image_size // 16 * 3 // 4, cfg.image_size // 16)
    backbone = ViT(
        cfg.vit_dim,
        cfg.vit_depth,
        cfg.vit_heads,
        window=cfg.vit_window,
        global_blocks=tuple(cfg.vit_global_blocks),
        pos=cfg.vit_pos,
        pos_grid=grid,
        layer_scale=cfg.layer_scale,
    )
    neck = Sam3DualViTDetNeck(cfg.vit_dim, d, tuple(cfg.neck_scales), cfg.neck_dual, cfg.stem_skips)
    text = VETextEncoder(
        d,
        cfg.vocab_size,
        cfg.text_width,
        cfg.text_heads,
        cfg.text_layers,
        cfg.context_length,
        layer_scale=cfg.layer_scale,
    )
    prompt = PromptEncoder(d, click_maps=cfg.click_maps)
    decoder = MaskDecoder(
        d,
        TwoWayTransformer(cfg.twoway_depth, d, cfg.twoway_heads, cfg.twoway_mlp, use_rope=cfg.twoway_rope),
        num_multimask_outputs=cfg.num_multimask_outputs,
        iou_head_hidden_dim=d,
        dynamic_multimask_via_stability=cfg.dynamic_multimask_via_stability,
    )
    detector = ConceptDetector(
        d, cfg.det_heads, cfg.det_ffn, cfg.det_encoder_layers, cfg.det_decoder_layers, cfg.num_queries
    )
    model = Sam3Image(backbone, neck, text, prompt, decoder, detector)
    model.config = cfg
    return model


def build(name: str = "sam3_tiny", **overrides) -> Sam3Image:
    """The concept model ``name`` with fields of ``Sam3Config`` replaced by ``overrides`` (random init)."""
    return build_from_config(config_for(name, **overrides))


__all__ = ["NAMES", "NO_OBJ_SCORE", "REGISTRY", "Sam3Config", "Sam3Image", "build", "build_from_config", "config_for"]
