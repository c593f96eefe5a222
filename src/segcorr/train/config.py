"""Training configuration: YAML (OmegaConf) plus ``key=value`` overrides mapped onto frozen dataclasses.

Unknown keys are errors that name the key; values are checked against the field types at this edge, so the
trainer below works with plain typed objects.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from segcorr.errors import InputError

# task -> the data kinds it can read (each task family lives in ``segcorr.train.tasks`` / ``task_<family>.py``)
TASK_DATA_KINDS: dict[str, tuple[str, ...]] = {
    "flow_sup": ("synth", "pairs", "animerun"),
    "flow_unsup": ("synth", "pairs", "animerun", "frames"),
    "flow_mixed": ("synth", "pairs", "animerun"),
    "sam3": ("synth",),
    "sam3_track": ("synth",),
    "match": ("synth",),
}
TASKS = tuple(TASK_DATA_KINDS)
DATA_KINDS = tuple(sorted({k for kinds in TASK_DATA_KINDS.values() for k in kinds}))


@dataclass(frozen=True)
class ModelConfig:
    """name: a registry name of ``segcorr.flow.build``; args: its overrides; init: weights to start from
    (a shipped name or a .safetensors path; None = random init); iters: refinement iterations while training."""

    name: str = "AniFlowFormerTV3"
    args: dict[str, Any] = field(default_factory=dict)
    init: str | None = None
    iters: int | None = None


@dataclass(frozen=True)
class DataConfig:
    """kind: synth (on-the-fly cels, seeds >= 1_000_000) | pairs | animerun | frames.

    height/width: synthetic frame size (synth) ; crop: random crop [h, w] (None = whole frame);
    roots: folders or videos for pairs/animerun/frames; labels_dir: precomputed label maps; segmenter (frames
    only, without labels_dir): label maps computed from each frame by this segmenter (e.g. "flat").
    """

    kind: str = "synth"
    style: str = "mixed"
    seed_start: int = 1_000_000
    length: int = 1_000_000
    height: int = 256
    width: int = 320
    crop: list[int] | None = None
    roots: list[str] = field(default_factory=list)
    split: str = "train"
    labels_dir: str | None = None
    segmenter: str | None = None
    mask_occluded: bool = False
    hflip: float = 0.5
    vflip: float = 0.1
    jitter: float = 0.2
    augment: bool = True
    num_workers: int = 1
    args: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ValConfig:
    """Held-out synthetic pairs (seeds 500_000..999_999), EPE logged every ``every`` steps (0 = never)."""

    every: int = 500
    count: int = 16
    seed_start: int = 500_000
    height: int = 256
    width: int = 320
    style: str = "mixed"
    args: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class OptimConfig:
    """AdamW; schedule "onecycle" (linear warm-up for ``warmup`` of the steps, then cosine to lr*final_frac)
    or "cosine" (no warm-up) or "constant"."""

    lr: float = 4e-4
    weight_decay: float = 1e-4
    betas: list[float] = field(default_factory=lambda: [0.9, 0.999])
    eps: float = 1e-8
    schedule: str = "onecycle"
    warmup: float = 0.05
    final_frac: float = 0.02
    grad_clip: float = 1.0


@dataclass(frozen=True)
class LossConfig:
    """gamma/max_flow: the supervised sequence loss; unsup: fields of ``segcorr.flow.losses.UnsupLossConfig``;
    unsup_weight: weight of the unsupervised term in ``flow_mixed``."""

    gamma: float = 0.8
    max_flow: float = 400.0
    unsup: dict[str, Any] = field(default_factory=dict)
    unsup_weight: float = 0.1
    args: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TrainConfig:
    """One training run. ``out``/``name`` give the run dir; ``resume`` continues from its latest checkpoint.

    ``max_minutes``: a wall-clock budget (over all resumes). The schedule then follows the larger of step
    progress and time progress, and the run ends, annealed and checkpointed, when either reaches 1: a run on
    busy shared cores still finishes on time. Without it (the default) a run is a pure function of its steps.
    ``ddp_find_unused``: let DDP tolerate parameters without gradient in a step (segment guidance on frames
    that have no label maps); costs an extra graph traversal per step, so it is off unless a config needs it.
    """

    task: str = "flow_sup"
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    val: ValConfig = field(default_factory=ValConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    steps: int = 1000
    max_minutes: float | None = None
    batch_size: int = 4
    seed: int = 0
    out: str = "runs"
    name: str = "flow"
    resume: bool = True
    ckpt_every: int = 200
    keep_ckpts: int = 2
    log_every: int = 10
    progress: bool = True
    threads: int | None = None
    device: str = "auto"
    ddp_find_unused: bool = False
    export: str | None = None
    export_dtype: str = "float32"


def _check(value: Any, tp: Any, key: str, src: str) -> Any:
    """Check (and lightly coerce: int -> float, tuple -> list) ``value`` against the annotation ``tp``."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        for a in args:
            if a is type(None):
                continue
            try:
                return _check(value, a, key, src)
            except InputError:
                pass
        raise InputError(f"expected {key} to be {tp}, found {value!r}", src)
    if dataclasses.is_dataclass(tp):
        return from_dict(tp, value, src, key + ".")
    if tp is Any:
        return value
    if origin is list:
        if not isinstance(value, (list, tuple)):
            raise InputError(f"expected {key} to be a list, found {value!r}", src)
        (inner,) = typing.get_args(tp) or (Any,)
        return [_check(v, inner, f"{key}[{i}]", src) for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise InputError(f"expected {key} to be a mapping, found {value!r}", src)
        return dict(value)
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if (tp in (int, float) and isinstance(value, bool)) or not isinstance(value, tp):
        raise InputError(f"expected {key} to be {tp.__name__}, found {value!r}", src)
    return value


def from_dict(cls: type, data: Any, src: str = "config", prefix: str = "") -> Any:
    """Build the dataclass ``cls`` from a plain mapping; unknown keys raise InputError naming the key."""
    if not isinstance(data, dict):
        raise InputError(f"expected a mapping for {prefix.rstrip('.') or 'the config'}, found {data!r}", src)
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise InputError(f"unknown config key {prefix}{unknown[0]!s}; valid keys here: {', '.join(sorted(names))}", src)
    return cls(**{k: _check(v, hints[k], prefix + k, src) for k, v in data.items()})


def validate(cfg: TrainConfig, src: str = "config") -> TrainConfig:
    if cfg.task not in TASKS:
        raise InputError(f"expected task in {TASKS}, found {cfg.task!r}", src)
    kinds = TASK_DATA_KINDS[cfg.task]
    if cfg.data.kind not in kinds:
        if cfg.data.kind == "frames" and cfg.task.startswith("flow"):
            raise InputError(f"task {cfg.task} needs ground-truth flow; data.kind 'frames' has none", src)
        raise InputError(f"expected data.kind in {kinds} for task {cfg.task}, found {cfg.data.kind!r}", src)
    if cfg.optim.schedule not in ("onecycle", "cosine", "constant"):
        raise InputError(f"expected optim.schedule onecycle|cosine|constant, found {cfg.optim.schedule!r}", src)
    if cfg.data.crop is not None and len(cfg.data.crop) != 2:
        raise InputError(f"expected data.crop as [h, w], found {cfg.data.crop!r}", src)
    if cfg.export_dtype not in ("float32", "float16"):
        raise InputError(f"expected export_dtype float32 or float16, found {cfg.export_dtype!r}", src)
    if cfg.steps < 1 or cfg.batch_size < 1:
        raise InputError(f"expected steps >= 1 and batch_size >= 1, found {cfg.steps} and {cfg.batch_size}", src)
    return cfg


def packaged_config(name: str = "train_synth_sam_v3") -> Path:
    """The copy of a default config shipped inside the package (``segcorr/configs/NAME.yaml``)."""
    p = Path(__file__).resolve().parent.parent / "configs" / f"{name}.yaml"
    if not p.is_file():
        raise InputError("no packaged training config by that name", p)
    return p


def load_config(path: str | Path | None, overrides: list[str] | None = None) -> TrainConfig:
    """Read ``path`` (YAML; None = all defaults; a bare name such as ``train_synth_sam_v3`` that is not a file
    = the packaged copy), apply ``key=value`` overrides, return a checked TrainConfig."""
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    if path is not None and not Path(path).exists() and "/" not in str(path) and not str(path).endswith(".yaml"):
        path = packaged_config(str(path))
    src = str(path) if path is not None else "overrides"
    try:
        base = OmegaConf.load(path) if path is not None else OmegaConf.create({})
    except FileNotFoundError:
        raise InputError("expected a training config YAML, found no file", path) from None
    except (OmegaConfBaseException, ValueError) as e:
        raise InputError(f"expected a YAML mapping, could not parse it: {e}", path) from None
    bad = [o for o in overrides or [] if "=" not in o]
    if bad:
        raise InputError(f"expected overrides as key=value, found {bad[0]!r}", src)
    try:
        merged = OmegaConf.merge(base, OmegaConf.from_dotlist(list(overrides or [])))
        data = OmegaConf.to_container(merged, resolve=True)
    except OmegaConfBaseException as e:
        raise InputError(f"could not apply overrides: {e}", src) from None
    return validate(from_dict(TrainConfig, data or {}, src), src)


def to_dict(cfg: Any) -> dict[str, Any]:
    """A JSON-ready dict of a config dataclass."""
    return dataclasses.asdict(cfg)
