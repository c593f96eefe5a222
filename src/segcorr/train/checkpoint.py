"""Training checkpoints: weights in safetensors, optimizer state and RNG in a tensors-only ``.pt``, the rest in JSON.

Layout: ``<run>/checkpoints/step_00001200/{model.safetensors, optim.pt, state.json}``. Every file is written
atomically and ``state.json`` last, so a directory without it is an interrupted write and is ignored.
``optim.pt`` holds only tensors, numbers and strings, so it loads with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path
from typing import Any

import torch

from segcorr.errors import InputError
from segcorr.io.atomic import atomic_write_bytes, atomic_write_text

CKPT_DIR = "checkpoints"


def state_dict_bytes(state: dict[str, torch.Tensor], metadata: dict[str, str] | None = None) -> bytes:
    """Serialise a state dict to safetensors bytes (shared storage is cloned: safetensors forbids aliasing)."""
    from safetensors.torch import save

    plain = {k: v.detach().to("cpu").contiguous().clone() for k, v in state.items()}
    return save(plain, metadata=metadata)


def load_state_dict_file(path: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return load_file(str(path), device="cpu")


def unwrap(model: torch.nn.Module) -> torch.nn.Module:
    """The bare model inside a DistributedDataParallel wrapper."""
    return getattr(model, "module", model)


def save_checkpoint(
    run_dir: Path,
    step: int,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    extra: dict[str, Any] | None = None,
    keep: int = 2,
) -> Path:
    """Write the checkpoint for ``step`` (model, optimizer, torch RNG, ``extra`` JSON) and prune old ones."""
    d = Path(run_dir) / CKPT_DIR / f"step_{step:08d}"
    d.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(d / "model.safetensors", state_dict_bytes(unwrap(model).state_dict()))
    buf = io.BytesIO()
    torch.save({"optimizer": optimizer.state_dict(), "rng_cpu": torch.get_rng_state()}, buf)
    atomic_write_bytes(d / "optim.pt", buf.getvalue())
    atomic_write_text(d / "state.json", json.dumps({"step": step, **(extra or {})}, indent=1))
    for old in list_checkpoints(run_dir)[:-keep] if keep > 0 else []:
        shutil.rmtree(old, ignore_errors=True)
    return d


def list_checkpoints(run_dir: Path) -> list[Path]:
    """Complete checkpoints (with ``state.json``), oldest first."""
    root = Path(run_dir) / CKPT_DIR
    if not root.is_dir():
        return []
    return sorted(p for p in root.glob("step_*") if (p / "state.json").exists())


def latest_checkpoint(run_dir: Path) -> Path | None:
    ckpts = list_checkpoints(run_dir)
    return ckpts[-1] if ckpts else None


def load_checkpoint(
    ckpt: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer | None = None, restore_rng: bool = True
) -> dict[str, Any]:
    """Load weights (strict), optimizer state and RNG from ``ckpt``; returns the ``state.json`` dict."""
    ckpt = Path(ckpt)
    try:
        state = json.loads((ckpt / "state.json").read_text())
        weights = load_state_dict_file(ckpt / "model.safetensors")
    except (OSError, ValueError) as e:
        raise InputError(f"expected a complete training checkpoint, could not read it: {e}", ckpt) from None
    dev = next(unwrap(model).parameters()).device
    unwrap(model).load_state_dict({k: v.to(dev) for k, v in weights.items()}, strict=True)
    if optimizer is not None:
        try:
            blob = torch.load(ckpt / "optim.pt", map_location="cpu", weights_only=True)
        except Exception as e:  # weights_only refuses anything but tensors and plain containers
            raise InputError(
                f"expected an optimizer state of tensors only, could not load it: {e}", ckpt / "optim.pt"
            ) from None
        optimizer.load_state_dict(blob["optimizer"])
        if restore_rng:
            torch.set_rng_state(blob["rng_cpu"])
    return state
