"""AniFlowFormer-T optical flow: registry, shipped checkpoints, pretrained loading.

``build(name, **overrides)`` builds a model from the registry; ``load_pretrained(name_or_path)`` rebuilds
one from the config stored in a safetensors file and loads its weights; ``SHIPPED`` is the one table of the
shipped checkpoints' names (command line, registry, weights file). Heavy modules import lazily so
``import segcorr.flow`` stays cheap.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from segcorr import registry

_V3 = {
    "use_sam": True,
    "sam_version": 3,
    "concat": True,
    "attn_bias": True,
    "cost_mod": True,
    "obj_pool": True,
    "seg_upsample": True,
}
_TINY = {
    "enc_dims": (8, 12, 16),
    "feat_dim": 16,
    "ctx_dim": 16,
    "hidden_dim": 16,
    "num_layers": 1,
    "num_heads": 2,
    "window": 4,
    "ffn_mult": 1,
    "cost_levels": 2,
    "mem_radius": 1,
    "lookup_levels": 1,
    "lookup_radius": 1,
    "iters": 2,
    "num_segments": 16,
}

# registry name -> config fields that differ from FlowModelConfig defaults
REGISTRY: dict[str, dict[str, Any]] = {
    "AniFlowFormerT": {"use_sam": False},
    "AniFlowFormerTV3": dict(_V3),
    "AniFlowFormerT-test": {**_TINY, "use_sam": False},
    "AniFlowFormerTV3-test": {**_TINY, **_V3},
}


@dataclass(frozen=True)
class ShippedFlowModel:
    """One shipped checkpoint under its three names: ``cli`` (``segcorr flow --method``), ``registry`` (a key of
    ``REGISTRY``, ``model.name`` of a training config) and ``weights`` (the stem of ``segcorr/weights/<stem>``
    ``.safetensors`` and its ``.json`` model card)."""

    cli: str
    registry: str
    weights: str


SHIPPED: tuple[ShippedFlowModel, ...] = (
    ShippedFlowModel("aniflowformer-v3", "AniFlowFormerTV3", "aniflowformer_t_v3"),
    ShippedFlowModel("aniflowformer", "AniFlowFormerT", "aniflowformer_t"),
)


def shipped_model(name: str) -> ShippedFlowModel | None:
    """The shipped checkpoint with ``name`` as its CLI, registry or weights name; None when there is none."""
    return next((m for m in SHIPPED if name in (m.cli, m.registry, m.weights)), None)


def model_names() -> list[str]:
    return sorted(REGISTRY)


def _make(base: Mapping[str, Any], overrides: Mapping[str, Any]):
    from segcorr.flow.config import make_config
    from segcorr.flow.model import AniFlowFormerT

    return AniFlowFormerT.from_config(make_config(base, overrides))


def build(name: str, **overrides: Any):
    """Build registry model ``name`` with config ``overrides`` -> ``AniFlowFormerT`` (an nn.Module, random init).

    Unknown names or option keys raise ``InputError`` listing the valid ones.
    """
    return registry.build_registered(REGISTRY, name, overrides, _make, "flow")


def build_from_config(config: dict[str, Any]):
    """Build from a full config dict (as stored in weights metadata); unknown keys are an error."""
    return _make({}, config)


def load_pretrained(name_or_path: str | os.PathLike):
    """Model with weights: a shipped name (``segcorr/weights/NAME.safetensors``) or a .safetensors path.

    The file's metadata must hold ``config`` (model config JSON) or at least ``name`` (registry name).
    Returns the model in eval mode on CPU.
    """
    return registry.load_pretrained(name_or_path, build, build_from_config, "flow")


def save_pretrained(model, path: str | os.PathLike, name: str, extra: dict[str, Any] | None = None):
    """Save ``model`` as safetensors with its config and registry ``name`` in the metadata (what
    ``load_pretrained`` reads). Returns the path."""
    return registry.save_pretrained(model, path, name, extra)


__all__ = [
    "REGISTRY",
    "SHIPPED",
    "ShippedFlowModel",
    "build",
    "build_from_config",
    "load_pretrained",
    "model_names",
    "save_pretrained",
    "shipped_model",
]
