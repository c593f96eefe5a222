"""The one training loop: config -> model, data, AdamW + schedule, checkpoints, logs, DDP under torchrun.

Run dir ``<out>/<name>/``: ``config.json`` (the resolved config), ``metrics.csv``, ``tb/``, ``checkpoints/``,
``summary.json``. Only rank 0 writes. A run whose dir holds a checkpoint continues from it (``resume=true``).
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader

from segcorr.io.atomic import atomic_write_text
from segcorr.train.checkpoint import latest_checkpoint, load_checkpoint, save_checkpoint
from segcorr.train.config import TrainConfig, load_config, to_dict
from segcorr.train.distributed import DistInfo, all_mean, barrier, init_distributed, pick_device, shutdown
from segcorr.train.logs import ScalarLog
from segcorr.train.sampler import StepBatchSampler, lr_at_progress
from segcorr.train.tasks import family, move_to


def train(config_path: str | Path | None, overrides: list[str] | None = None) -> Path:
    """``segcorr train CONFIG [key=value ...]``: train as configured; returns the run dir."""
    cfg = load_config(config_path, overrides)
    command = " ".join(["segcorr", "train", str(config_path), *(overrides or [])])
    return run_training(cfg, command=command)


def build_model(cfg: TrainConfig) -> torch.nn.Module:
    """The model of ``cfg.model`` for ``cfg.task``, initialised from ``cfg.model.init`` weights when given."""
    return family(cfg.task).build_model(cfg)


def _progress(enabled: bool, total: int, done: int):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    prog = Progress(TextColumn("train"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                    TextColumn("{task.fields[info]}"), disable=not enabled)
    return prog, prog.add_task("train", total=total, completed=done, info="")


def _step_seed(seed: int, rank: int, step: int) -> int:
    # reseeding every step makes dropout & co. a function of (seed, rank, step): resumes replay exactly
    return (seed * 1_000_003 + rank * 7_919 + step) % (2**63)


def run_training(cfg: TrainConfig, command: str = "") -> Path:
    """Train with a ready config (see ``train``); returns the run dir."""
    device = pick_device(cfg.device)
    info = init_distributed(device)
    try:
        return _run(cfg, command, device, info)
    finally:
        shutdown(info)


def _run(cfg: TrainConfig, command: str, device: torch.device, info: DistInfo) -> Path:
    threads = cfg.threads
    if threads is None and info.enabled and device.type == "cpu":
        threads = max(1, (os.cpu_count() or 1) // info.world)  # ranks share the cores instead of oversubscribing
    if threads:
        torch.set_num_threads(threads)
    run_dir = Path(cfg.out) / cfg.name
    if info.is_main:
        run_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_text(run_dir / "config.json", json.dumps(to_dict(cfg), indent=1))
    barrier(info)

    torch.manual_seed(cfg.seed)  # identical init on every rank (DDP also broadcasts rank 0's weights)
    fam = family(cfg.task)
    model = fam.build_model(cfg).to(device)
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.optim.lr, betas=tuple(cfg.optim.betas), eps=cfg.optim.eps,
                            weight_decay=cfg.optim.weight_decay)
    start, wall_before = 0, 0.0
    ckpt = latest_checkpoint(run_dir) if cfg.resume else None
    if ckpt is not None:
        state = load_checkpoint(ckpt, model, opt)
        start, wall_before = int(state["step"]), float(state.get("wall_s", 0.0))
    ddp = model
    if info.enabled:
        from torch.nn.parallel import DistributedDataParallel

        ddp = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None,
                                      find_unused_parameters=cfg.ddp_find_unused)

    dataset = fam.build_dataset(cfg)
    sampler = StepBatchSampler(len(dataset), cfg.batch_size, cfg.steps, cfg.seed, info.rank, info.world, start)
    loader = DataLoader(dataset, batch_sampler=sampler, num_workers=cfg.data.num_workers,
                        pin_memory=device.type == "cuda", collate_fn=fam.collate)
    loss_fn = fam.make_loss(cfg)
    val_batches = fam.val_batches(cfg, device) if info.is_main else []
    log = ScalarLog(run_dir) if info.is_main else None
    last: dict[str, float] = {}
    t_start = time.perf_counter()
    budget = cfg.max_minutes * 60.0 if cfg.max_minutes else None

    def time_progress() -> float:
        # ranks average their clocks so that all of them stop after the same step
        if budget is None:
            return 0.0
        return all_mean(wall_before + time.perf_counter() - t_start, info, device) / budget

    done = start
    prog, task = _progress(cfg.progress and info.is_main, cfg.steps, start)
    try:
        with prog:
            t_step, step_logged = time.perf_counter(), start
            p_time = time_progress()
            for step, batch in zip(range(start, cfg.steps), loader):
                lr = lr_at_progress(max(step / cfg.steps, p_time), cfg.optim.lr, cfg.optim.schedule,
                                    cfg.optim.warmup, cfg.optim.final_frac)
                for g in opt.param_groups:
                    g["lr"] = lr
                torch.manual_seed(_step_seed(cfg.seed, info.rank, step))
                loss, metrics = loss_fn(ddp, move_to(batch, device))
                opt.zero_grad(set_to_none=True)
                loss.backward()
                clip = cfg.optim.grad_clip if cfg.optim.grad_clip > 0 else float("inf")
                gnorm = float(torch.nn.utils.clip_grad_norm_(model.parameters(), clip))
                # gradients are already averaged over ranks, so every rank takes the same decision
                if math.isfinite(gnorm):
                    opt.step()
                done = step + 1
                p_time = time_progress()
                final = done == cfg.steps or p_time >= 1.0
                if done % cfg.log_every == 0 or final:
                    now = time.perf_counter()
                    row = {"train/loss": all_mean(float(loss.detach()), info, device), "train/lr": lr,
                           "train/grad_norm": gnorm, "train/step_s": (now - t_step) / max(1, done - step_logged), **metrics}
                    t_step, step_logged = now, done
                    if log is not None:
                        log.log(done, row)
                    last.update(row)
                    prog.update(task, completed=done, info=f"loss {row['train/loss']:.3f}")
                else:
                    prog.update(task, completed=done)
                if info.is_main and val_batches and (done % cfg.val.every == 0 or final):
                    v = fam.validate(model, val_batches, cfg)
                    log.log(done, v)
                    last.update(v)
                if done % cfg.ckpt_every == 0 or final:
                    if info.is_main:
                        wall = wall_before + time.perf_counter() - t_start
                        save_checkpoint(run_dir, done, model, opt, {"wall_s": wall, "metrics": last},
                                        keep=cfg.keep_ckpts)
                    barrier(info)
                if final:
                    break
    finally:
        if log is not None:
            log.close()
    if info.is_main:
        summary: dict[str, Any] = {"steps": done, "resumed_from": start, "world_size": info.world,
                                   "wall_s": wall_before + time.perf_counter() - t_start, "metrics": last,
                                   "command": command, "argv": sys.argv, "device": str(device)}
        atomic_write_text(run_dir / "summary.json", json.dumps(summary, indent=1))
        if cfg.export:
            from segcorr.train.export import export_weights

            export_weights(run_dir, cfg.export)
    barrier(info)
    return run_dir
