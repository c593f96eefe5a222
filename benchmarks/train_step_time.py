"""Time training steps of a config's model on this machine (data generation and compute measured apart).

    python benchmarks/train_step_time.py configs/train_synth_sam_v3.yaml [--steps 6] [key=value ...]

Prints seconds per step for: data (one batch from the training dataset), forward+backward+AdamW step,
the parameter count, and the steps that fit in a given number of minutes.
"""

from __future__ import annotations

import argparse
import time

import torch


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("config")
    ap.add_argument("overrides", nargs="*")
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--budget-min", type=float, default=65.0)
    a = ap.parse_intermixed_args()

    from segcorr.train.config import load_config
    from segcorr.train.tasks import build_dataset, make_loss
    from segcorr.train.trainer import build_model

    cfg = load_config(a.config, a.overrides)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    torch.manual_seed(0)
    model = build_model(cfg).train()
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.optim.lr)
    ds = build_dataset(cfg.data, cfg.task != "flow_unsup")
    loss_fn = make_loss(cfg)
    data_t, step_t = [], []
    for i in range(a.steps + 1):
        t0 = time.perf_counter()
        items = [ds[(i * cfg.batch_size + j, j)] for j in range(cfg.batch_size)]
        batch = {k: torch.stack([it[k] for it in items]) for k in items[0]}
        t1 = time.perf_counter()
        loss, _ = loss_fn(model, batch)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        t2 = time.perf_counter()
        if i > 0:  # the first step pays one-off allocations
            data_t.append(t1 - t0)
            step_t.append(t2 - t1)
    d, s = sum(data_t) / len(data_t), sum(step_t) / len(step_t)
    n = sum(p.numel() for p in model.parameters())
    print(
        f"model {cfg.model.name} params {n / 1e6:.2f}M  batch {cfg.batch_size} "
        f"size {cfg.data.height}x{cfg.data.width} crop {cfg.data.crop} threads {torch.get_num_threads()}"
    )
    print(f"data {d:.3f} s/batch  compute {s:.3f} s/step  loss {float(loss.detach()):.3f}")
    # with one loader worker the data overlaps compute, so the slower of the two sets the pace
    pace = max(s, d)
    print(f"pace ~{pace:.2f} s/step -> {int(a.budget_min * 60 / pace)} steps in {a.budget_min:.0f} min")


if __name__ == "__main__":
    main()
