"""What a ``task`` trains: its model, the dataset a config selects, the loss of one batch, validation.

Every task belongs to a ``TaskFamily`` (``family(task)``); the trainer only talks to that interface.
Flow tasks live here:

flow_sup:   multi-scale EPE on ground-truth flow (``segcorr.flow.losses.sequence_loss``);
flow_unsup: photometric + smoothness + segment terms on forward and backward flow (``UnsupervisedFlowLoss``);
flow_mixed: flow_sup + ``loss.unsup_weight`` x flow_unsup on the same batch.

sam3 (concept segmentation) lives in ``task_sam3.py``, match (AS-Mamba) in ``task_match.py``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch.utils.data import Dataset

from segcorr.data.animerun import AnimeRunFlowDataset
from segcorr.data.flow_train import AugmentConfig, FlowTrainingSet, FramesDataset, SynthFlowDataset
from segcorr.data.pairs import PairsFlowDataset
from segcorr.errors import InputError
from segcorr.registry import check_fields
from segcorr.train.config import DataConfig, LossConfig, TrainConfig, ValConfig

LossFn = Callable[[torch.nn.Module, dict[str, Any]], tuple[torch.Tensor, dict[str, float]]]


@dataclass(frozen=True)
class TaskFamily:
    """How the one trainer trains one family of tasks.

    build_model(cfg) -> nn.Module (``cfg.model.init`` weights loaded); build_dataset(cfg) -> Dataset of dicts;
    make_loss(cfg) -> LossFn; val_batches(cfg, device) -> pre-built validation batches (list, may be empty);
    validate(model, batches, cfg) -> {"val/...": float}; collate: the DataLoader's collate_fn (None = default).
    """

    build_model: Callable[[TrainConfig], torch.nn.Module]
    build_dataset: Callable[[TrainConfig], Dataset]
    make_loss: Callable[[TrainConfig], LossFn]
    val_batches: Callable[[TrainConfig, torch.device], list]
    validate: Callable[[torch.nn.Module, list, TrainConfig], dict[str, float]]
    collate: Callable | None = None


_FAMILY_MODULES = {
    "sam3": "segcorr.train.task_sam3",
    "sam3_track": "segcorr.train.task_sam3_track",
    "match": "segcorr.train.task_match",
}


def family(task: str) -> TaskFamily:
    """The ``TaskFamily`` of ``task`` (flow tasks here; others from ``task_<family>.py``'s ``FAMILY``)."""
    if task in _FAMILY_MODULES:
        return importlib.import_module(_FAMILY_MODULES[task]).FAMILY
    if task in ("flow_sup", "flow_unsup", "flow_mixed"):
        return FLOW
    raise InputError(f"unknown task {task!r}")


def move_to(batch: Any, device: torch.device) -> Any:
    """Tensors of a (nested) batch moved to ``device``; other values unchanged."""
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, dict):
        return {k: move_to(v, device) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        return type(batch)(move_to(v, device) for v in batch)
    return batch


def build_dataset(cfg: DataConfig, supervised: bool) -> Dataset:
    """The training dataset of ``cfg`` with its augmentation."""
    if cfg.segmenter is not None and cfg.kind != "frames":
        raise InputError(f"data.segmenter applies to data.kind frames only, found data.kind {cfg.kind}")
    aug = AugmentConfig(
        crop=tuple(cfg.crop) if cfg.crop else None,
        hflip=cfg.hflip,
        vflip=cfg.vflip,
        jitter=cfg.jitter,
        enabled=cfg.augment,
    )
    if cfg.kind == "synth":
        return SynthFlowDataset(
            cfg.seed_start,
            cfg.length,
            cfg.height,
            cfg.width,
            cfg.style,
            aug,
            split="train",
            mask_occluded=cfg.mask_occluded,
        )
    if not cfg.roots:
        raise InputError(f"data.kind {cfg.kind} needs data.roots (folders or videos), found none")
    if cfg.kind in ("pairs", "animerun"):  # the evaluation readers; training adds augmentation
        if len(cfg.roots) != 1:
            raise InputError(f"expected one {cfg.kind} folder in data.roots, found {len(cfg.roots)}")
        reader = (
            PairsFlowDataset(cfg.roots[0], labels_dir=cfg.labels_dir)
            if cfg.kind == "pairs"
            else AnimeRunFlowDataset(cfg.roots[0], cfg.split, labels_dir=cfg.labels_dir)
        )
        return FlowTrainingSet(reader, aug, supervised, cfg.mask_occluded)
    return FramesDataset(cfg.roots, aug, cfg.labels_dir, cfg.segmenter)


def build_val_dataset(cfg: ValConfig) -> Dataset:
    """Held-out synthetic pairs (validation seeds only), no augmentation."""
    return SynthFlowDataset(cfg.seed_start, cfg.count, cfg.height, cfg.width, cfg.style, None, split="val")


def _forward(
    model: torch.nn.Module, a: torch.Tensor, b: torch.Tensor, s0: torch.Tensor, s1: torch.Tensor, iters: int | None
) -> dict[str, Any]:
    kw = {} if iters is None else {"iters": iters}
    return model(a, b, s0, s1, **kw)


def make_loss(cfg: TrainConfig) -> LossFn:
    """The per-batch loss of ``cfg.task``: ``loss_fn(model, batch) -> (loss, float metrics)``."""
    from segcorr.flow import losses

    lc: LossConfig = cfg.loss
    iters = cfg.model.iters
    unsup = None
    if cfg.task in ("flow_unsup", "flow_mixed"):
        try:
            unsup = losses.UnsupervisedFlowLoss(losses.UnsupLossConfig(**lc.unsup))
        except TypeError as e:
            raise InputError(f"unknown key in loss.unsup: {e}") from None

    def sup(preds: list[torch.Tensor], batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]:
        loss, m = losses.sequence_loss(preds, batch["flow"], batch["valid"], gamma=lc.gamma, max_flow=lc.max_flow)
        return loss, {f"sup/{k}": float(v) for k, v in m.items()}

    def loss_fn(model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]:
        a, b, s0, s1 = batch["img0"], batch["img1"], batch["seg0"], batch["seg1"]
        if unsup is None:
            return sup(_forward(model, a, b, s0, s1, iters)["preds"], batch)
        # forward and backward flow in ONE call: DDP allows a single forward per backward
        n = a.shape[0]
        out = _forward(model, torch.cat([a, b]), torch.cat([b, a]), torch.cat([s0, s1]), torch.cat([s1, s0]), iters)
        fw, bw = out["flow"][:n], out["flow"][n:]
        lu, m = unsup(a, b, fw, bw, s0, s1)
        mu = {f"unsup/{k}": float(v) for k, v in m.items()}
        if cfg.task == "flow_unsup":
            return lu, mu
        ls, ms = sup([p[:n] for p in out["preds"]], batch)
        return ls + lc.unsup_weight * lu, {**ms, **mu}

    return loss_fn


@torch.no_grad()
def validate_flow(
    model: torch.nn.Module, batches: list[dict[str, torch.Tensor]], iters: int | None
) -> dict[str, float]:
    """Mean end-point error (all pixels, and non-occluded) of the final flow over pre-built batches."""
    was = model.training
    model.eval()
    epe_sum = noc_sum = n = noc_n = 0.0
    for b in batches:
        out = _forward(model, b["img0"], b["img1"], b["seg0"], b["seg1"], iters)
        epe = torch.linalg.vector_norm(out["flow"] - b["flow"], dim=1)  # [B, H, W]
        noc = 1.0 - b["occ"]
        epe_sum += float(epe.sum())
        n += epe.numel()
        noc_sum += float((epe * noc).sum())
        noc_n += float(noc.sum())
    model.train(was)
    return {"val/epe": epe_sum / max(n, 1), "val/epe_noc": noc_sum / max(noc_n, 1.0)}


def validation_off(cfg: TrainConfig) -> bool:
    """True when ``cfg`` asks for no validation (``val.every`` or ``val.count`` not positive): no batches are
    built."""
    return cfg.val.every <= 0 or cfg.val.count <= 0


def outputs_loss(loss: Callable[[Any, dict], Any]) -> LossFn:
    """The trainer's ``loss_fn(model, batch)`` for a ``loss(outputs, batch)`` of the model's outputs."""

    def loss_fn(model: torch.nn.Module, batch: dict):
        return loss(model(batch), batch)

    return loss_fn


def stack_items(items: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """One batch of dict items: each key's tensors stacked on a new first dimension."""
    return {k: torch.stack([it[k] for it in items]) for k in items[0]}


def batches_of(ds: Dataset, batch_size: int, collate: Callable[[list], Any], device: torch.device) -> list:
    """Every item of ``ds`` in order, in batches of ``batch_size`` (at least 1), collated and moved to ``device``:
    the pre-built validation batches of every family."""
    items = [ds[i] for i in range(len(ds))]
    bs = max(1, batch_size)
    return [move_to(collate(items[i : i + bs]), device) for i in range(0, len(items), bs)]


def known_args(cls: type, args: dict, where: str) -> dict:
    """A copy of ``args`` after checking that every key is a field of dataclass ``cls`` (an InputError naming
    ``where``, as "data.args", otherwise)."""
    check_fields(cls, args, "key", f"in {where}")
    return dict(args)


def with_init_weights(model: torch.nn.Module, cfg: TrainConfig) -> torch.nn.Module:
    """``model`` with the ``cfg.model.init`` weights loaded (strict) when given; every family's ``build_model``
    ends here."""
    if cfg.model.init:
        from segcorr.io.weights import load_weights

        load_weights(model, cfg.model.init, strict=True)
    return model


def build_flow_model(cfg: TrainConfig) -> torch.nn.Module:
    """The flow model of ``cfg.model``, initialised from ``cfg.model.init`` weights when given."""
    from segcorr.flow import build

    return with_init_weights(build(cfg.model.name, **cfg.model.args), cfg)


def _flow_val_batches(cfg: TrainConfig, device: torch.device) -> list[dict[str, torch.Tensor]]:
    if validation_off(cfg):
        return []
    return batches_of(build_val_dataset(cfg.val), cfg.batch_size, stack_items, device)


FLOW = TaskFamily(
    build_model=build_flow_model,
    build_dataset=lambda cfg: build_dataset(cfg.data, cfg.task != "flow_unsup"),
    make_loss=make_loss,
    val_batches=_flow_val_batches,
    validate=lambda model, batches, cfg: validate_flow(model, batches, cfg.model.iters),
)
