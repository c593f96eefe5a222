"""AniFlowFormer-T optical flow: registry, shipped checkpoints, pretrained loading.

``build(name, **overrides)`` builds a model from the registry; ``load_pretrained(name_or_path)`` rebuilds
one from the config stored in a safetensors file and loads its weights; ``SHIPPED`` is the one table of the
shipped checkpoints' names (command line, registry, weights file). Heavy modules import lazily so
``import segcorr.flow`` stays cheap.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

from segcorr.errors import InputError

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


def build(name: str, **overrides: Any):
    """Build registry model ``name`` with config ``overrides`` -> ``AniFlowFormerT`` (an nn.Module, random init).

    Unknown names or option keys raise ``InputError`` listing the valid ones.
    """
    if name not in REGISTRY:
        raise InputError(f"unknown flow model {name!r}; known: {', '.join(model_names())}")
    from segcorr.flow.config import make_config
    from segcorr.flow.model import AniFlowFormerT

    return AniFlowFormerT.from_config(make_config(REGISTRY[name], overrides))


def build_from_config(config: dict[str, Any]):
    """Build from a full config dict (as stored in weights metadata); unknown keys are an error."""
    from segcorr.flow.config import make_config
    from segcorr.flow.model import AniFlowFormerT

    return AniFlowFormerT.from_config(make_config({}, config))


def load_pretrained(name_or_path: str | os.PathLike):
    """Model with weights: a shipped name (``segcorr/weights/NAME.safetensors``) or a .safetensors path.

    The file's metadata must hold ``config`` (model config JSON) or at least ``name`` (registry name).
    Returns the model in eval mode on CPU.
    """
    from segcorr.io.weights import load_weights, read_weights_metadata, weights_path

    meta = read_weights_metadata(name_or_path)
    where = weights_path(name_or_path) or name_or_path
    if "config" in meta:
        try:
            config = json.loads(meta["config"])
        except ValueError:
            raise InputError("expected JSON in the 'config' metadata of the weights file", where) from None
        if not isinstance(config, dict):
            raise InputError(f"expected a JSON object as model config, found {type(config).__name__}", where)
        try:
            model = build_from_config(config)
        except InputError as e:
            raise InputError(f"model config in the weights does not fit this version: {e}", where) from None
    elif "name" in meta:
        model = build(meta["name"])
    else:
        raise InputError(
            "expected 'config' or 'name' in the safetensors metadata of a flow model, found neither", where
        )
    return load_weights(model, name_or_path, strict=True).eval()


def save_pretrained(model, path: str | os.PathLike, name: str, extra: dict[str, Any] | None = None):
    """Save ``model`` as safetensors with its config and registry ``name`` in the metadata (what
    ``load_pretrained`` reads). Returns the path."""
    from segcorr.io.weights import save_weights

    meta = {"name": name, "config": json.dumps(model.config.to_dict(), sort_keys=True), "format": "pt", **(extra or {})}
    return save_weights(model, path, meta)


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
