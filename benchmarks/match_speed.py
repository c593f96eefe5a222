"""Size, FLOPs, latency and peak memory of AS-Mamba on one 640x480 pair on CPU.

    python benchmarks/match_speed.py [--model as_mamba_tiny] [--threads 2] [--runs 5] [--size 480x640]
                                     [--backend sequential] [--stages] [--pretrained] [--json OUT.json] [key=value ...]

Eval mode under ``torch.inference_mode``, untrained weights (the cost does not depend on them, except the number
of matches refined), a textured pair (image 1 a shifted copy of image 0), the model's forward: coarse matching
at ``--threshold`` (default 0: every mutual nearest neighbour, an upper bound on the fine stage's work) and fine
refinement of every match. ``--pretrained``: the shipped weights of ``--model`` at their own threshold instead (what
``MatchPredictor`` runs: with a threshold above 0 the coarse stage takes its one-pass path). ``key=value``
overrides ``ASMambaConfig`` fields (to size a variant). Reported:
``params``; ``safetensors_mb`` (the weights file as ``save_pretrained`` writes it); ``gflops``
(``torch.utils.flop_counter.FlopCounterMode``: matmuls and convolutions only, so the elementwise work of the
scans and activations is not in it); ``s_per_pair_median`` / ``_min`` (wall clock) and ``cpu_s_per_pair_median``
(process CPU time: on a machine shared with other jobs the wall clock also counts waiting for a core);
``peak_rss_mb`` (process peak resident memory, ``ru_maxrss``, model and inputs included); with ``--stages``,
median wall seconds of encoder, initializer, blocks, coarse and fine matching.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # kilobytes on Linux


def _pair(h: int, w: int, shift: int = 13):
    import cv2
    import numpy as np
    import torch

    rng = np.random.default_rng(0)
    base = cv2.GaussianBlur(rng.random((h + shift, w + shift)).astype(np.float32), (0, 0), 2.0)
    base = (base - base.min()) / (base.max() - base.min())
    img0, img1 = base[:h, :w], base[shift:, shift:]
    return torch.from_numpy(np.ascontiguousarray(img0))[None, None], torch.from_numpy(np.ascontiguousarray(img1))[
        None, None
    ]


def _stages(model, img0, img1, threshold: float) -> dict[str, float]:
    import torch

    t = [time.perf_counter()]
    c, f = model.encoder(torch.cat([img0, img1]))
    t.append(time.perf_counter())
    m0, m1, g0, g1 = model.initializer(c[:1], c[1:])
    t.append(time.perf_counter())
    for block in model.blocks:
        o = block(m0, m1, g0, g1)
        m0, m1, g0, g1 = o["m0"], o["m1"], o["g0"], o["g1"]
    t.append(time.perf_counter())
    co = model.coarse(m0, m1, threshold=threshold)
    t.append(time.perf_counter())
    model.fine(f[:1], f[1:], m0, m1, co["b_ids"], co["i_ids"], co["j_ids"])
    t.append(time.perf_counter())
    return dict(zip(("encoder", "initializer", "blocks", "coarse", "fine"), (b - a for a, b in zip(t, t[1:]))))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="as_mamba_tiny")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--size", default="480x640", help="HxW (multiples of 32)")
    ap.add_argument("--backend", default="sequential", choices=["sequential", "parallel"])
    ap.add_argument(
        "--threshold",
        type=float,
        default=None,
        help="coarse threshold (default 0: every mutual match is refined, untrained weights give few above 0.2; "
        "with --pretrained the model's own)",
    )
    ap.add_argument("--pretrained", action="store_true", help="the shipped weights of --model at their threshold")
    ap.add_argument("--stages", action="store_true", help="also time each stage")
    ap.add_argument("--json", default=None)
    ap.add_argument("overrides", nargs="*", help="ASMambaConfig field=value")
    args = ap.parse_args(argv)

    import torch
    from safetensors.torch import save
    from torch.utils.flop_counter import FlopCounterMode

    from segcorr.matching import build
    from segcorr.matching.config import ASMambaConfig
    from segcorr.registry import field_overrides

    torch.set_num_threads(args.threads)
    overrides = dict(kv.split("=", 1) for kv in args.overrides)
    fields = field_overrides(ASMambaConfig, args.overrides, "for match_speed")
    if args.pretrained:
        from segcorr.matching import load_pretrained

        if fields:
            raise SystemExit("match_speed: key=value overrides need untrained weights (drop --pretrained)")
        model = load_pretrained(args.model)
        model.set_scan_backend(args.backend)
    else:
        model = build(args.model, scan_backend=args.backend, **fields).eval()
    if args.threshold is None:
        args.threshold = model.coarse.threshold if args.pretrained else 0.0
    h, w = (int(v) for v in args.size.lower().split("x"))
    img0, img1 = _pair(h, w)
    data = {"image0": img0, "image1": img1}
    params = sum(p.numel() for p in model.parameters())
    size_mb = len(save({k: v.contiguous() for k, v in model.state_dict().items()})) / 2**20

    with torch.inference_mode():
        with FlopCounterMode(display=False) as fc:
            model(data, threshold=args.threshold)
        gflops = fc.get_total_flops() / 1e9
        walls, cpus, stages = [], [], []
        for _ in range(args.runs):
            t, c = time.perf_counter(), time.process_time()
            out = model(data, threshold=args.threshold)
            walls.append(time.perf_counter() - t)
            cpus.append(time.process_time() - c)
            if args.stages:
                stages.append(_stages(model, img0, img1, args.threshold))
    result = {
        "model": args.model,
        "size": f"{h}x{w}",
        "threads": args.threads,
        "backend": args.backend,
        "pretrained": args.pretrained,
        "threshold": args.threshold,
        "overrides": overrides,
        "params": params,
        "safetensors_mb": round(size_mb, 2),
        "gflops": round(gflops, 2),
        "s_per_pair_median": round(statistics.median(walls), 3),
        "s_per_pair_min": round(min(walls), 3),
        "cpu_s_per_pair_median": round(statistics.median(cpus), 3),
        "matches": len(out["mconf"]),
        "peak_rss_mb": round(_peak_rss_mb(), 1),
    }
    if stages:
        result["stages_s_median"] = {k: round(statistics.median(s[k] for s in stages), 3) for k in stages[0]}
    from segcorr.io.atomic import print_json

    print_json(result, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
