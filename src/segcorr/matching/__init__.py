"""AS-Mamba detector-free matching: registry, pretrained loading.

``build(name, **overrides)`` builds a model from the registry (random init); ``load_pretrained(name_or_path)``
rebuilds one from the config stored in a safetensors file and loads its weights. Registry:
- ``as_mamba_tiny``: the shipped size (``ASMambaConfig`` defaults);
- ``as_mamba-test``: a few thousand parameters for unit tests.
Heavy modules import lazily so ``import segcorr.matching`` stays cheap.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from segcorr import registry

_TEST = {
    "c_enc": 16,
    "c_match": 16,
    "c_geom": 8,
    "c_fine": 8,
    "enc_dims": (8, 12),
    "enc_depths": (1, 1, 1),
    "d_state": 4,
    "local_d_state": 4,
    "c_local": 8,
    "local_heads": 2,
    "merge_hidden": 16,
    "flow_hidden": 4,
    "glu_hidden": 16,
    "num_basis": 4,
    "n_blocks": 2,
}

# registry name -> config fields that differ from ASMambaConfig defaults
REGISTRY: dict[str, dict[str, Any]] = {
    "as_mamba_tiny": {},
    "as_mamba-test": dict(_TEST),
}


def model_names() -> list[str]:
    return sorted(REGISTRY)


def _make(base: Mapping[str, Any], overrides: Mapping[str, Any]):
    from segcorr.matching.config import make_config
    from segcorr.matching.model import ASMamba

    return ASMamba.from_config(make_config(base, overrides))


def build(name: str, **overrides: Any):
    """Build registry model ``name`` with config ``overrides`` -> ``ASMamba`` (an nn.Module, random init).

    Unknown names or option keys raise ``InputError`` listing the valid ones.
    """
    return registry.build_registered(REGISTRY, name, overrides, _make, "matching")


def build_from_config(config: dict[str, Any]):
    """Build from a full config dict (as stored in weights metadata); unknown keys are an error."""
    return _make({}, config)


def load_pretrained(name_or_path: str | os.PathLike = "as_mamba_tiny"):
    """Model with weights: a shipped name (``segcorr/weights/NAME.safetensors``) or a .safetensors path.

    The file's metadata must hold ``config`` (model config JSON) or at least ``name`` (registry name). A missing
    file is an InputError naming it. Returns the model in eval mode on CPU.
    """
    return registry.load_pretrained(name_or_path, build, build_from_config, "matching")


def save_pretrained(model, path: str | os.PathLike, name: str, extra: dict[str, Any] | None = None):
    """Save ``model`` as safetensors with its config and registry ``name`` in the metadata (what
    ``load_pretrained`` reads). Returns the path."""
    return registry.save_pretrained(model, path, name, extra)


__all__ = ["REGISTRY", "build", "build_from_config", "load_pretrained", "model_names", "save_pretrained"]
