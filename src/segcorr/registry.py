"""What every model registry shares: checking a registry name, building from a named entry, and the weights
files that carry the config they were trained with.

A system keeps its own table (``REGISTRY``: name -> config fields, or a config) and a ``make(base, overrides)``
that imports its heavy modules lazily; these functions do the rest the same way for all of them.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from segcorr.errors import InputError

Entry = TypeVar("Entry")
Model = TypeVar("Model")


def registry_entry(registry: Mapping[str, Entry], name: str, what: str) -> Entry:
    """``registry[name]``; an unknown name is an InputError listing the known ones (sorted).

    what: the kind of model in the message ("flow" -> "unknown flow model 'x'; known: ...")."""
    if name not in registry:
        raise InputError(f"unknown {what} model {name!r}; known: {', '.join(sorted(registry))}")
    return registry[name]


def check_fields(cls: type, keys: Iterable[str], kind: str, where: str) -> None:
    """An InputError when ``keys`` name anything that is not a field of dataclass ``cls``; the message reads
    "unknown <kind>(s) [sorted unknown] <where>; valid: <sorted fields>" (kind "option", where "for sam3-test")."""
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(keys) - names)
    if unknown:
        raise InputError(f"unknown {kind}(s) {unknown} {where}; valid: {', '.join(sorted(names))}")


_TRUE, _FALSE = ("1", "true", "yes"), ("0", "false", "no")


def _field_value(default: Any, text: str, name: str) -> Any:
    """``text`` as the type of a field's ``default``: booleans from true/false/yes/no/1/0, int, float and str by
    their constructors; a field without a plain default (None, a tuple, a factory) takes an int, a float, a boolean
    word or the text, in that order."""
    low = text.strip().lower()
    if isinstance(default, bool) or default is None or not isinstance(default, (int, float, str)):
        if low in _TRUE + _FALSE and (isinstance(default, bool) or low not in ("1", "0")):
            return low in _TRUE
        if isinstance(default, bool):
            raise InputError(f"{name}: expected true or false, found {text!r}")
        for cast in (int, float):
            try:
                return cast(text)
            except ValueError:
                pass
        return text
    try:
        return type(default)(text)
    except ValueError:
        raise InputError(f"{name}: expected {type(default).__name__}, found {text!r}") from None


def field_overrides(cls: type, pairs: Iterable[str], where: str) -> dict[str, Any]:
    """``{field: value}`` of dataclass ``cls`` from ``name=value`` strings (benchmark and sweep scripts): each value
    takes its field default's type (``_field_value``); an unknown name or a pair without "=" is an InputError."""
    pairs = list(pairs)
    bad = [p for p in pairs if "=" not in p]
    if bad:
        raise InputError(f"expected name=value {where}, found {bad[0]!r}")
    kv = dict(p.split("=", 1) for p in pairs)
    check_fields(cls, kv, "field", where)
    defaults = {f.name: f.default for f in dataclasses.fields(cls)}
    return {k: _field_value(defaults[k], v, k) for k, v in kv.items()}


def check_positive(config: Any, names: Iterable[str]) -> None:
    """An InputError for the first field of ``config`` among ``names`` whose value, as an int, is below 1."""
    for name in names:
        if int(getattr(config, name)) < 1:
            raise InputError(f"{name}: expected a positive integer, found {getattr(config, name)}")


def build_registered(
    registry: Mapping[str, Entry],
    name: str,
    overrides: Mapping[str, Any],
    make: Callable[[Entry, Mapping[str, Any]], Model],
    what: str,
) -> Model:
    """``make(registry[name], overrides)`` after checking the name (see `registry_entry`)."""
    return make(registry_entry(registry, name, what), overrides)


def load_pretrained(
    name_or_path: str | os.PathLike,
    build: Callable[[str], Any],
    build_from_config: Callable[[dict[str, Any]], Any],
    what: str,
) -> Any:
    """A model with its weights: a shipped name (``segcorr/weights/NAME.safetensors``) or a .safetensors path.

    The file's metadata must hold ``config`` (the full model config as JSON, built with `build_from_config`) or
    at least ``name`` (a registry name, built with `build`). Loading is strict. Returns the model in eval mode
    on CPU. what: the kind of model in messages ("flow", "matching")."""
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
            f"expected 'config' or 'name' in the safetensors metadata of a {what} model, found neither", where
        )
    return load_weights(model, name_or_path, strict=True).eval()


def save_pretrained(model: Any, path: str | os.PathLike, name: str, extra: Mapping[str, Any] | None = None) -> Path:
    """Save ``model`` as safetensors with its config (``model.config.to_dict()``) and registry ``name`` in the
    metadata (what `load_pretrained` reads). Returns the path."""
    from segcorr.io.weights import save_weights

    meta = {"name": name, "config": json.dumps(model.config.to_dict(), sort_keys=True), "format": "pt", **(extra or {})}
    return save_weights(model, path, meta)
