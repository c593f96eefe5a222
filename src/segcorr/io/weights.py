"""Model weights as safetensors (never pickle), plus the model card JSON that sits beside each file.

A name without suffix or folder (``"aniflowformer_t_v3"``) means ``segcorr/weights/NAME.safetensors``
inside the package; anything else is a path. Loading is on CPU, strict by default, and every missing,
unexpected or mis-shaped key is named in the error.
"""

from __future__ import annotations

import json
import logging
import os
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from segcorr.errors import InputError
from segcorr.io.atomic import atomic_write_bytes, atomic_write_text

log = logging.getLogger(__name__)

SUFFIX = ".safetensors"
_MAX_HEADER = 100 * 2**20
_LIST_LIMIT = 8


def weights_dir() -> Path:
    """The package folder of shipped weights (``segcorr/weights``)."""
    return Path(__file__).resolve().parent.parent / "weights"


def list_weights() -> list[str]:
    """Names of the shipped weight files (stems), sorted."""
    d = weights_dir()
    return sorted(p.stem for p in d.glob(f"*{SUFFIX}")) if d.is_dir() else []


def _is_name(name_or_path: str | os.PathLike) -> bool:
    s = os.fspath(name_or_path)
    return not isinstance(name_or_path, Path) and "/" not in s and os.sep not in s and not s.endswith(SUFFIX)


def weights_path(name_or_path: str | os.PathLike) -> Path | None:
    """The file a name or path refers to, or None when it does not exist."""
    p = weights_dir() / f"{name_or_path}{SUFFIX}" if _is_name(name_or_path) else Path(name_or_path)
    return p if p.is_file() else None


def _resolve(name_or_path: str | os.PathLike) -> Path:
    p = weights_path(name_or_path)
    if p is not None:
        return p
    if _is_name(name_or_path):
        known = ", ".join(list_weights()) or "none"
        raise InputError(
            f"no shipped weights named {name_or_path!r} (shipped: {known})", weights_dir() / f"{name_or_path}{SUFFIX}"
        )
    raise InputError("weights file not found", name_or_path)


def _read_header(path: Path) -> dict:
    """Parse and sanity-check the safetensors header before any native code sees the file."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(8)
        if len(head) < 8:
            raise InputError(f"expected a safetensors file, found only {size} bytes", path)
        (n,) = struct.unpack("<Q", head)
        if not 2 <= n <= min(size - 8, _MAX_HEADER):
            raise InputError(
                f"expected a safetensors file (pickled .pt/.pth checkpoints are not loaded); "
                f"header length {n} does not fit a {size}-byte file",
                path,
            )
        raw = f.read(n)
    try:
        header = json.loads(raw.decode("utf-8"))
    except ValueError:
        raise InputError("expected a safetensors file, its JSON header is corrupt", path) from None
    if not isinstance(header, dict):
        raise InputError("expected a safetensors file, its header is not a JSON object", path)
    data_len = size - 8 - n
    for key, info in header.items():
        if key == "__metadata__":
            if not isinstance(info, dict) or not all(isinstance(v, str) for v in info.values()):
                raise InputError("corrupt safetensors metadata: expected a str -> str mapping", path)
            continue
        offsets = info.get("data_offsets") if isinstance(info, dict) else None
        if (
            not isinstance(offsets, list)
            or len(offsets) != 2
            or not all(isinstance(o, int) for o in offsets)
            or not 0 <= offsets[0] <= offsets[1] <= data_len
        ):
            raise InputError(f"corrupt safetensors entry {key!r}: data offsets outside the file", path)
    return header


def read_weights_metadata(name_or_path: str | os.PathLike) -> dict[str, str]:
    """The str -> str metadata stored in a safetensors header ({} when there is none)."""
    return dict(_read_header(_resolve(name_or_path)).get("__metadata__", {}))


def load_state_dict(name_or_path: str | os.PathLike) -> dict:
    """All tensors of a safetensors file, on CPU: {key: Tensor}."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = _resolve(name_or_path)
    _read_header(path)
    try:
        return load_file(str(path), device="cpu")
    except (SafetensorError, OSError, ValueError, RuntimeError) as e:
        raise InputError(f"corrupt safetensors file ({e})", path) from None


def _names(keys: Sequence[str]) -> str:
    shown = ", ".join(keys[:_LIST_LIMIT])
    return shown + (f" ... ({len(keys)} in all)" if len(keys) > _LIST_LIMIT else "")


@dataclass(frozen=True)
class KeyDiff:
    """How a state dict read from a file differs from a model's: each tuple sorted.

    missing: keys of the model the file lacks; unexpected: keys of the file the model lacks; mis_shaped:
    keys of both whose shapes differ, as ``"key (file (..), model (..))"``."""

    missing: tuple[str, ...]
    unexpected: tuple[str, ...]
    mis_shaped: tuple[str, ...]

    def describe(self, strict: bool = True) -> str:
        """The problems in one line ("" when there are none); missing and unexpected keys count only when
        `strict` (a shape mismatch always does)."""
        parts = [("shape mismatch", self.mis_shaped)]
        if strict:
            parts += [("missing keys", self.missing), ("unexpected keys", self.unexpected)]
        return "; ".join(f"{what}: {_names(keys)}" for what, keys in parts if keys)


def key_diff(model_state: Mapping[str, Any], loaded_state: Mapping[str, Any]) -> KeyDiff:
    """Compare a model's state dict with one read from a file (values with a ``.shape``: tensors, arrays)."""
    own, got = set(model_state), set(loaded_state)
    return KeyDiff(
        missing=tuple(sorted(own - got)),
        unexpected=tuple(sorted(got - own)),
        mis_shaped=tuple(
            sorted(
                f"{k} (file {tuple(loaded_state[k].shape)}, model {tuple(model_state[k].shape)})"
                for k in own & got
                if tuple(model_state[k].shape) != tuple(loaded_state[k].shape)
            )
        ),
    )


def load_weights(model: Any, name_or_path: str | os.PathLike, strict: bool = True) -> Any:
    """Load safetensors weights into `model` (an nn.Module) on CPU, then copy into its parameters.

    Shape mismatches are always an error; missing and unexpected keys are an error when `strict`
    (otherwise logged). Returns the model, so ``model = load_weights(build(name), name)`` reads well.
    """
    state = load_state_dict(name_or_path)
    path = _resolve(name_or_path)
    diff = key_diff(model.state_dict(), state)
    problems = diff.describe(strict)
    if problems:
        raise InputError(f"weights do not fit {type(model).__name__}: {problems}", path)
    if diff.missing or diff.unexpected:
        log.info(
            "non-strict load of %s: missing %s; unexpected %s",
            path,
            _names(diff.missing) or "none",
            _names(diff.unexpected) or "none",
        )
    model.load_state_dict(state, strict=strict)
    return model


def save_weights(state_dict_or_module: Any, path: str | os.PathLike, metadata: Mapping[str, Any] | None = None) -> Path:
    """Save a module's state_dict (or a {key: Tensor} dict) as safetensors, atomically. Returns the path.

    Metadata values that are not str are stored as JSON text (safetensors headers hold str -> str only).
    Tensors are copied to contiguous CPU memory; tied (shared) tensors are saved as separate copies.
    """
    import torch
    from safetensors.torch import save

    sd = state_dict_or_module.state_dict() if hasattr(state_dict_or_module, "state_dict") else state_dict_or_module
    tensors = {}
    for k, v in sd.items():
        if not isinstance(v, torch.Tensor):
            raise TypeError(f"state dict entry {k!r} is {type(v).__name__}, expected a Tensor")
        tensors[k] = v.detach().to("cpu").contiguous().clone()
    meta = None
    if metadata:
        meta = {str(k): v if isinstance(v, str) else json.dumps(v, sort_keys=True) for k, v in metadata.items()}
    p = Path(path)
    atomic_write_bytes(p, save(tensors, metadata=meta))
    return p


def model_card_path(name_or_path: str | os.PathLike) -> Path:
    """Where the model card JSON of a weights file lives (``X.safetensors`` -> ``X.json``)."""
    if _is_name(name_or_path):
        return weights_dir() / f"{name_or_path}.json"
    return Path(name_or_path).with_suffix(".json")


def read_model_card(name_or_path: str | os.PathLike) -> dict | None:
    """The model card beside a weights file, or None when there is none."""
    p = model_card_path(name_or_path)
    if not p.is_file():
        return None
    try:
        card = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise InputError(f"expected a JSON model card ({e})", p) from None
    if not isinstance(card, dict):
        raise InputError(f"expected a JSON object as model card, found {type(card).__name__}", p)
    return card


def write_model_card(name_or_path: str | os.PathLike, card: Mapping[str, Any]) -> Path:
    """Write the model card JSON beside a weights file, atomically. Returns its path."""
    p = model_card_path(name_or_path)
    atomic_write_text(p, json.dumps(dict(card), indent=2, sort_keys=True, default=str) + "\n")
    return p
