"""Task family ``match``: AS-Mamba (``segcorr.matching``) on synthetic pairs with exact dense correspondence.

Config: ``model.name`` a registry name (``as_mamba_tiny``, ``as_mamba-test``) with ``model.args`` overrides;
``data.height/width/seed_start/length`` (sides multiples of 32) and ``data.args`` (fields of
``segcorr.data.matchsynth.dataset.MatchSynthConfig``: scene_share, strength, photometric_strength);
``loss.args`` (fields of ``segcorr.matching.losses.LossWeights``); ``val.count`` pairs from ``val.seed_start``
with ``val.args`` (MatchSynthConfig fields).

Validation (``val/...``): ``precision`` = share of fine matches within ``VAL_PX`` px of the ground truth
(a match whose image-0 point has no valid partner counts as wrong); ``coarse_recall`` = correct coarse
matches (within one coarse cell, 8 px) over the valid points of an 8-px grid of image 0 (capped at 1);
``matches`` = mean matches per pair.
"""

from __future__ import annotations

from typing import Any

import torch

from segcorr.errors import InputError
from segcorr.train.config import TrainConfig
from segcorr.train.tasks import TaskFamily, batches_of, known_args, stack_items, validation_off, with_init_weights

VAL_PX = 3.0
COARSE_PX = 8.0


def build_model(cfg: TrainConfig) -> torch.nn.Module:
    from segcorr.matching import build

    return with_init_weights(build(cfg.model.name, **cfg.model.args), cfg)


def _dataset(seed_start: int, length: int, height: int, width: int, args: dict, where: str):
    from segcorr.data.matchsynth.dataset import MatchSynthConfig, MatchSynthDataset

    mc = MatchSynthConfig(**known_args(MatchSynthConfig, args, where))
    if height % 32 or width % 32:
        raise InputError(
            f"{where.split('.')[0]}.height/width must be multiples of 32 for AS-Mamba, found {height}x{width}"
        )
    return MatchSynthDataset(seed_start, length, height, width, mc.scene_share, mc.strength, mc.photometric_strength)


def build_dataset(cfg: TrainConfig):
    d = cfg.data
    if d.seed_start < 1_000_000:
        raise InputError(f"training seeds start at 1_000_000, found data.seed_start={d.seed_start}")
    return _dataset(d.seed_start, d.length, d.height, d.width, d.args, "data.args")


def make_loss(cfg: TrainConfig):
    from segcorr.matching.losses import ASMambaLoss, LossWeights

    loss = ASMambaLoss(LossWeights(**known_args(LossWeights, cfg.loss.args, "loss.args")))

    def loss_fn(model: torch.nn.Module, batch: dict[str, Any]) -> tuple[torch.Tensor, dict[str, float]]:
        out = model(batch)
        total, parts = loss(out, batch)
        return total, {f"loss/{k}": float(v) for k, v in parts.items()}

    return loss_fn


def val_batches(cfg: TrainConfig, device: torch.device) -> list[dict[str, torch.Tensor]]:
    v = cfg.val
    if validation_off(cfg):
        return []
    if not (v.seed_start >= 500_000 and v.seed_start + v.count <= 1_000_000):
        raise InputError(f"validation seeds are 500_000..999_999, found val.seed_start={v.seed_start}")
    ds = _dataset(v.seed_start, v.count, v.height, v.width, v.args, "val.args")
    return batches_of(ds, cfg.batch_size, stack_items, device)


def _lookup(
    field: torch.Tensor, valid: torch.Tensor, b: torch.Tensor, pts: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Ground-truth partner of points ``pts [M, 2]`` of batch items ``b [M]`` (nearest pixel):
    ``(xy [M, 2], valid [M])``."""
    _, _, h, w = field.shape
    x = pts[:, 0].round().long().clamp(0, w - 1)
    y = pts[:, 1].round().long().clamp(0, h - 1)
    return field[b, :, y, x], valid[b, y, x]


@torch.no_grad()
def match_scores(out: dict[str, torch.Tensor], batch: dict[str, torch.Tensor]) -> dict[str, float]:
    """Sums over a batch: ``correct``, ``matches``, ``coarse_correct``, ``valid_cells`` (see module docstring)."""
    b = out["m_bids"].long()
    gt, ok = _lookup(batch["corr01"], batch["valid01"], b, out["mkpts0_f"])
    err = torch.linalg.vector_norm(out["mkpts1_f"] - gt, dim=1)
    gt_c, ok_c = _lookup(batch["corr01"], batch["valid01"], b, out["mkpts0_c"])
    err_c = torch.linalg.vector_norm(out["mkpts1_c"] - gt_c, dim=1)
    grid = batch["valid01"][:, 4::8, 4::8]
    return {
        "correct": float((ok & (err < VAL_PX)).sum()),
        "matches": float(len(b)),
        "coarse_correct": float((ok_c & (err_c < COARSE_PX)).sum()),
        "valid_cells": float(grid.sum()),
    }


@torch.no_grad()
def validate(model: torch.nn.Module, batches: list[dict[str, torch.Tensor]], cfg: TrainConfig) -> dict[str, float]:
    """Matching scores in eval mode, plus the training loss and its coarse term on the same pairs (train-mode
    forward without gradients: the model has no dropout or batch norm, so it is deterministic): the loss moves
    long before any match clears the confidence threshold."""
    from segcorr.matching.losses import ASMambaLoss, LossWeights

    loss = ASMambaLoss(LossWeights(**known_args(LossWeights, cfg.loss.args, "loss.args")))
    was = model.training
    tot = {"correct": 0.0, "matches": 0.0, "coarse_correct": 0.0, "valid_cells": 0.0}
    n, loss_sum, coarse_sum = 0, 0.0, 0.0
    for batch in batches:
        model.eval()
        s = match_scores(model(batch), batch)
        tot = {k: tot[k] + s[k] for k in tot}
        model.train()
        total, parts = loss(model(batch, return_conf=True), batch)
        loss_sum += float(total)
        coarse_sum += float(parts.get("loss_coarse", float("nan")))
        n += int(batch["image0"].shape[0])
    model.train(was)
    nb = max(len(batches), 1)
    return {
        "val/precision": tot["correct"] / max(tot["matches"], 1.0),
        "val/coarse_recall": min(1.0, tot["coarse_correct"] / max(tot["valid_cells"], 1.0)),
        "val/matches": tot["matches"] / max(n, 1),
        "val/loss": loss_sum / nb,
        "val/loss_coarse": coarse_sum / nb,
    }


FAMILY = TaskFamily(
    build_model=build_model,
    build_dataset=build_dataset,
    make_loss=make_loss,
    val_batches=val_batches,
    validate=validate,
)


def export_match_weights(run_dir: str, out: str, card_extra: dict[str, Any] | None = None):
    """Shippable AS-Mamba weights from a ``match`` run: the trainer's export (file + model card), then the
    file rewritten with the model's FULL config in its metadata (what ``segcorr.matching.load_pretrained``
    rebuilds from) and the sequential scan backend (the inference path; same results as parallel)."""
    import json
    from pathlib import Path

    from segcorr.io.weights import load_state_dict, read_model_card, write_model_card
    from segcorr.matching import build, save_pretrained
    from segcorr.train.export import export_weights

    path = export_weights(run_dir, out, card_extra)
    cfg = json.loads((Path(run_dir) / "config.json").read_text())
    args = {**cfg["model"]["args"], "scan_backend": "sequential"}
    model = build(cfg["model"]["name"], **args)
    model.load_state_dict(load_state_dict(path), strict=True)
    save_pretrained(model, path, cfg["model"]["name"])
    card = read_model_card(path) or {}
    card.update(config=model.config.to_dict(), size_bytes=Path(path).stat().st_size)
    write_model_card(path, card)
    return path
