"""Export a run's latest checkpoint as shippable weights (safetensors) with a model card JSON beside it.

Safetensors metadata (all strings): ``name`` = registry name, ``config`` = model config JSON (what
``segcorr.flow.load_pretrained`` rebuilds the model from), ``format`` = "pt".
Card ``<stem>.json``: name, file, config, command, data, steps, wall time, metrics, git commit, torch version.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import time
from pathlib import Path
from typing import Any

from segcorr.errors import InputError
from segcorr.train.checkpoint import latest_checkpoint, load_state_dict_file


def git_commit(start: Path | None = None) -> str | None:
    """HEAD commit of the repository holding this package (None outside a git checkout)."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=start or Path(__file__).parent, capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


_REGISTRIES = {"sam3": "segcorr.segment.model", "match": "segcorr.matching"}


def _model_config(name: str, args: dict[str, Any], task: str = "flow_sup") -> dict[str, Any]:
    """The full config of the model (its ``config`` dataclass when it has one), else the build overrides."""
    try:
        import importlib

        build = importlib.import_module(_REGISTRIES.get(task, "segcorr.flow")).build
        cfg = getattr(build(name, **args), "config", None)
    except Exception:  # the card must still be written when the registry changed since training
        cfg = None
    if cfg is not None and dataclasses.is_dataclass(cfg):
        return dataclasses.asdict(cfg)
    return dict(args)


def _track_memory_part(
    name: str, args: dict[str, Any], weights: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A ``sam3_track`` run's weights and config as ``segment.tracker.load_memory`` reads them: the memory part
    alone (the image model is a separate shipped file) and its ``MemoryConfig``."""
    from segcorr.train.task_sam3_track import memory_config

    config = dataclasses.asdict(memory_config(name, args))
    return {k[len("memory.") :]: v for k, v in weights.items() if k.startswith("memory.")}, config


def _shipped_part(cfg: dict[str, Any], weights: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """What a run ships: (weights, model config). A ``sam3_track`` run ships its memory alone, any other its model."""
    name, args = cfg["model"]["name"], cfg["model"]["args"]
    if cfg.get("task") == "sam3_track":
        return _track_memory_part(name, args, weights)
    return weights, _model_config(name, args, cfg.get("task", "flow_sup"))


def _data_summary(data: dict[str, Any], task: str = "flow_sup") -> str:
    if data["kind"] == "synth" and task == "sam3_track":
        frames = data.get("args", {}).get("frames", 4)
        exits = data.get("args", {}).get("exits", 0)
        return (
            f"synthetic {data['style']} clips of {frames} frames generated on the fly, seeds {data['seed_start']}.."
            f"{data['seed_start'] + data['length'] - 1}, {data['height']}x{data['width']}, one instance per sample"
            + (f", in a share {exits} of them one that leaves the frame and comes back" if exits else "")
        )
    if data["kind"] == "synth":
        return (
            f"synthetic {data['style']} pairs generated on the fly, seeds {data['seed_start']}.."
            f"{data['seed_start'] + data['length'] - 1}, {data['height']}x{data['width']}, crop {data['crop']}"
        )
    return f"{data['kind']} from {', '.join(data['roots'])} (labels: {data['labels_dir'] or 'built-in'})"


def export_weights(
    run_dir: str | Path, out_path: str | Path, card_extra: dict[str, Any] | None = None, dtype: str | None = None
) -> Path:
    """Write ``out_path`` (.safetensors) from the latest checkpoint of ``run_dir`` and its model card
    ``out_path.with_suffix('.json')``; ``card_extra`` entries are added to (or replace) card fields.

    ``dtype``: "float32" or "float16" for floating tensors (default: the run's ``export_dtype``, else float32);
    half precision halves the file, and loading casts back to the model's dtype."""
    run_dir, out_path = Path(run_dir), Path(out_path)
    if out_path.suffix != ".safetensors":
        raise InputError(f"expected an output path ending in .safetensors, found {out_path.name!r}", out_path)
    ckpt = latest_checkpoint(run_dir)
    cfg_path = run_dir / "config.json"
    if ckpt is None or not cfg_path.exists():
        raise InputError("expected a run dir with config.json and a complete checkpoint, found none", run_dir)
    cfg = json.loads(cfg_path.read_text())
    state = json.loads((ckpt / "state.json").read_text())
    summary_path = run_dir / "summary.json"
    summary = json.loads(summary_path.read_text()) if summary_path.exists() else {}
    dtype = dtype or cfg.get("export_dtype", "float32")
    if dtype not in ("float32", "float16"):
        raise InputError(f"expected export dtype float32 or float16, found {dtype!r}")
    weights = {
        k: (v.half() if dtype == "float16" else v.float()) if v.is_floating_point() else v
        for k, v in load_state_dict_file(ckpt / "model.safetensors").items()
    }
    weights, model_cfg = _shipped_part(cfg, weights)
    meta = {"name": cfg["model"]["name"], "config": json.dumps(model_cfg, sort_keys=True), "format": "pt"}
    from segcorr.io.weights import save_weights, write_model_card

    save_weights(weights, out_path, meta)
    import torch

    card: dict[str, Any] = {
        "name": out_path.stem,
        "file": out_path.name,
        "registry_name": cfg["model"]["name"],
        "config": model_cfg,
        "params": int(sum(v.numel() for v in weights.values())),
        "size_bytes": out_path.stat().st_size,
        "dtype": dtype,
        "task": cfg["task"],
        "command": summary.get("command", ""),
        "data": _data_summary(cfg["data"], cfg.get("task", "flow_sup")),
        "steps": int(state["step"]),
        "batch_size": cfg["batch_size"],
        "world_size": summary.get("world_size", 1),
        "wall_time_s": round(float(state.get("wall_s", summary.get("wall_s", 0.0))), 1),
        "metrics": state.get("metrics", {}),
        "train_config": cfg,
        "git_commit": summary.get("git_commit") or git_commit(),  # the code that trained, else HEAD now
        "torch": torch.__version__,
        "exported": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    card.update(card_extra or {})
    write_model_card(out_path, card)
    return out_path
