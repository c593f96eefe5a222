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
from dataclasses import dataclass, field
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
from segcorr.train.tasks import TaskFamily, family, move_to


def train(config_path: str | Path | None, overrides: list[str] | None = None) -> Path:
    """``segcorr train CONFIG [key=value ...]``: train as configured; returns the run dir."""
    cfg = load_config(config_path, overrides)
    command = " ".join(args_as_run(["segcorr", "train", str(config_path), *(overrides or [])], Path.cwd()))
    return run_training(cfg, command=command)


def args_as_run(argv: list[str], cwd: Path) -> list[str]:
    """A command line without machine paths, for the run's records: the program by its name (``segcorr`` for
    ``python -m segcorr``) and every absolute path, alone or as the value of ``key=value``, relative to `cwd`
    (the working directory it ran in, which the config's relative paths, ``out`` included, are relative to)."""

    def rel(arg: str) -> str:
        key, eq, value = ("", "", arg) if os.path.isabs(arg) or "=" not in arg else arg.partition("=")
        return key + eq + (os.path.relpath(value, cwd) if os.path.isabs(value) else value)

    if not argv:
        return []
    prog = Path(argv[0]).name
    return ["segcorr" if prog == "__main__.py" else prog, *(rel(a) for a in argv[1:])]


def build_model(cfg: TrainConfig) -> torch.nn.Module:
    """The model of ``cfg.model`` for ``cfg.task``, initialised from ``cfg.model.init`` weights when given."""
    return family(cfg.task).build_model(cfg)


def _progress(enabled: bool, total: int, done: int):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    prog = Progress(
        TextColumn("train"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[info]}"),
        disable=not enabled,
    )
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


@dataclass
class _Run:
    """What the steps of one run share: its parts, where it writes, and its clocks."""

    cfg: TrainConfig
    info: DistInfo
    device: torch.device
    run_dir: Path
    fam: TaskFamily
    model: torch.nn.Module
    ddp: torch.nn.Module
    opt: torch.optim.Optimizer
    start: int
    wall_before: float
    loss_fn: Any = None
    val_batches: list = field(default_factory=list)
    log: ScalarLog | None = None
    last: dict[str, float] = field(default_factory=dict)
    t_start: float = field(default_factory=time.perf_counter)
    git_commit: str | None = None  # HEAD when this process started training (the code that ran)

    def wall(self) -> float:
        """Training seconds over all resumes, on this rank's clock."""
        return self.wall_before + time.perf_counter() - self.t_start

    def time_progress(self) -> float:
        """Share of the ``max_minutes`` budget used (0 without one). Ranks average their clocks so that all of
        them stop after the same step."""
        if not self.cfg.max_minutes:
            return 0.0
        return all_mean(self.wall(), self.info, self.device) / (self.cfg.max_minutes * 60.0)


def _set_threads(cfg: TrainConfig, device: torch.device, info: DistInfo) -> None:
    threads = cfg.threads
    if threads is None and info.enabled and device.type == "cpu":
        threads = max(1, (os.cpu_count() or 1) // info.world)  # ranks share the cores instead of oversubscribing
    if threads:
        torch.set_num_threads(threads)


def _prepare_run_dir(cfg: TrainConfig, info: DistInfo) -> Path:
    """``<out>/<name>`` with the resolved ``config.json`` (rank 0 writes; every rank waits for it)."""
    run_dir = Path(cfg.out) / cfg.name
    if info.is_main:
        run_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_text(run_dir / "config.json", json.dumps(to_dict(cfg), indent=1))
    barrier(info)
    return run_dir


def _start(cfg: TrainConfig, device: torch.device, info: DistInfo, run_dir: Path) -> _Run:
    """Model (seeded the same on every rank), optimiser, the latest checkpoint when resuming, the DDP wrapper."""
    torch.manual_seed(cfg.seed)  # identical init on every rank (DDP also broadcasts rank 0's weights)
    fam = family(cfg.task)
    model = fam.build_model(cfg).to(device)
    model.train()
    opt = torch.optim.AdamW(
        model.parameters(),
        lr=cfg.optim.lr,
        betas=tuple(cfg.optim.betas),
        eps=cfg.optim.eps,
        weight_decay=cfg.optim.weight_decay,
    )
    start, wall_before = 0, 0.0
    ckpt = latest_checkpoint(run_dir) if cfg.resume else None
    if ckpt is not None:
        state = load_checkpoint(ckpt, model, opt)
        start, wall_before = int(state["step"]), float(state.get("wall_s", 0.0))
    ddp = model
    if info.enabled:
        from torch.nn.parallel import DistributedDataParallel

        ddp = DistributedDataParallel(
            model,
            device_ids=[device.index] if device.type == "cuda" else None,
            find_unused_parameters=cfg.ddp_find_unused,
        )
    from segcorr.train.export import git_commit

    commit = git_commit() if info.is_main else None
    return _Run(cfg, info, device, run_dir, fam, model, ddp, opt, start, wall_before, git_commit=commit)


def _loader(run: _Run) -> DataLoader:
    """Batches from the step the run starts at: a function of (seed, step), so a resume sees the same ones."""
    cfg, info = run.cfg, run.info
    dataset = run.fam.build_dataset(cfg)
    sampler = StepBatchSampler(len(dataset), cfg.batch_size, cfg.steps, cfg.seed, info.rank, info.world, run.start)
    return DataLoader(
        dataset,
        batch_sampler=sampler,
        num_workers=cfg.data.num_workers,
        pin_memory=run.device.type == "cuda",
        collate_fn=run.fam.collate,
    )


def _optimise(run: _Run, step: int, batch: Any, lr: float) -> tuple[torch.Tensor, dict[str, float], float]:
    """One optimiser step at learning rate lr -> (loss, loss metrics, gradient norm before clipping)."""
    cfg = run.cfg
    for g in run.opt.param_groups:
        g["lr"] = lr
    torch.manual_seed(_step_seed(cfg.seed, run.info.rank, step))
    loss, metrics = run.loss_fn(run.ddp, move_to(batch, run.device))
    run.opt.zero_grad(set_to_none=True)
    loss.backward()
    clip = cfg.optim.grad_clip if cfg.optim.grad_clip > 0 else float("inf")
    gnorm = float(torch.nn.utils.clip_grad_norm_(run.model.parameters(), clip))
    # gradients are already averaged over ranks, so every rank takes the same decision
    if math.isfinite(gnorm):
        run.opt.step()
    return loss, metrics, gnorm


def _log_step(run: _Run, done: int, row: dict[str, float]) -> None:
    if run.log is not None:
        run.log.log(done, row)
    run.last.update(row)


def _validate(run: _Run, done: int, final: bool) -> None:
    """Validation on rank 0 every ``val.every`` steps and after the last one."""
    if run.info.is_main and run.val_batches and (done % run.cfg.val.every == 0 or final):
        _log_step(run, done, run.fam.validate(run.model, run.val_batches, run.cfg))


def _checkpoint(run: _Run, done: int, final: bool) -> None:
    """A checkpoint every ``ckpt_every`` steps and after the last one (rank 0 writes; every rank waits)."""
    if done % run.cfg.ckpt_every == 0 or final:
        if run.info.is_main:
            save_checkpoint(
                run.run_dir,
                done,
                run.model,
                run.opt,
                {"wall_s": run.wall(), "metrics": run.last},
                keep=run.cfg.keep_ckpts,
            )
        barrier(run.info)


def _train_steps(run: _Run, loader: DataLoader) -> int:
    """The loop: steps from ``run.start`` until ``cfg.steps`` or the time budget; returns the steps done."""
    cfg = run.cfg
    done = run.start
    prog, task = _progress(cfg.progress and run.info.is_main, cfg.steps, run.start)
    with prog:
        t_step, step_logged = time.perf_counter(), run.start
        p_time = run.time_progress()
        for step, batch in zip(range(run.start, cfg.steps), loader):
            lr = lr_at_progress(
                max(step / cfg.steps, p_time), cfg.optim.lr, cfg.optim.schedule, cfg.optim.warmup, cfg.optim.final_frac
            )
            loss, metrics, gnorm = _optimise(run, step, batch, lr)
            done = step + 1
            p_time = run.time_progress()
            final = done == cfg.steps or p_time >= 1.0
            if done % cfg.log_every == 0 or final:
                now = time.perf_counter()
                row = {
                    "train/loss": all_mean(float(loss.detach()), run.info, run.device),
                    "train/lr": lr,
                    "train/grad_norm": gnorm,
                    "train/step_s": (now - t_step) / max(1, done - step_logged),
                    **metrics,
                }
                t_step, step_logged = now, done
                _log_step(run, done, row)
                prog.update(task, completed=done, info=f"loss {row['train/loss']:.3f}")
            else:
                prog.update(task, completed=done)
            _validate(run, done, final)
            _checkpoint(run, done, final)
            if final:
                break
    return done


def _finish(run: _Run, done: int, command: str) -> None:
    """``summary.json`` and the exported weights (rank 0)."""
    if not run.info.is_main:
        return
    summary: dict[str, Any] = {
        "steps": done,
        "resumed_from": run.start,
        "world_size": run.info.world,
        "wall_s": run.wall(),
        "metrics": run.last,
        "command": command,
        "argv": args_as_run(sys.argv, Path.cwd()),
        "device": str(run.device),
        "git_commit": run.git_commit,
    }
    atomic_write_text(run.run_dir / "summary.json", json.dumps(summary, indent=1))
    if run.cfg.export:
        from segcorr.train.export import export_weights

        export_weights(run.run_dir, run.cfg.export)


def _run(cfg: TrainConfig, command: str, device: torch.device, info: DistInfo) -> Path:
    _set_threads(cfg, device, info)
    run_dir = _prepare_run_dir(cfg, info)
    run = _start(cfg, device, info, run_dir)
    loader = _loader(run)
    run.loss_fn = run.fam.make_loss(cfg)
    run.val_batches = run.fam.val_batches(cfg, device) if info.is_main else []
    run.log = ScalarLog(run_dir) if info.is_main else None
    run.t_start = time.perf_counter()
    try:
        done = _train_steps(run, loader)
    finally:
        if run.log is not None:
            run.log.close()
    _finish(run, done, command)
    barrier(info)
    return run_dir
