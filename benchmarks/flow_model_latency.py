"""Latency and peak memory of AniFlowFormer-T at 512x384 on CPU, next to DIS medium on the same pair.

    python benchmarks/flow_model_latency.py [--model AniFlowFormerTV3] [--threads 2] [--runs 5] [--rounds 3]
        [--size 384x512]
                                            [--iters N] [--json OUT.json]

Eval mode under ``torch.inference_mode``, untrained weights (latency does not depend on them), one synthetic
cel pair with its ground-truth label maps; ``pipeline_ms`` adds the flat segmenter on both frames (what
``segcorr flow`` does when no label maps are given) for models that read segments at full size;
``refine_fuse_ms_median`` the segment-level refinement alone (DIS medium, fits, fusion, propagation) on frame 0's
flat segments; ``default_cli_ms`` times the shipped weights the way ``segcorr flow`` runs them (training scale,
flat segments, segment-level fusion and propagation at full size), ``cli_refine_none_ms`` the same without the
refinement, both measured in rounds next to DIS medium (``*_ratio_to_dis_medium``: median of the per-round
ratios; ``*_ratio_range``: their smallest and largest). Peak memory: the growth of the process peak RSS
(``resource.ru_maxrss``) during the timed forward passes, plus tracemalloc's peak of Python-side allocations.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
import tracemalloc


def _peak_rss_mb() -> float:
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kilobytes on Linux
    return kb / 1024.0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="AniFlowFormerTV3")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=3, help="rounds of the shipped-weights comparison with DIS medium")
    ap.add_argument("--size", default="384x512", help="HxW")
    ap.add_argument("--iters", type=int, default=None, help="refinement iterations (default: the config's)")
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)

    import cv2
    import numpy as np
    import torch

    from segcorr.data.synth import make_cel_pair
    from segcorr.flow import build
    from segcorr.flow.classical import estimate_flow

    torch.set_num_threads(args.threads)
    cv2.setNumThreads(args.threads)
    h, w = (int(v) for v in args.size.lower().split("x"))
    pair = make_cel_pair(7, h, w)
    img0 = torch.from_numpy(pair.img0).permute(2, 0, 1)[None].float() / 255
    img1 = torch.from_numpy(pair.img1).permute(2, 0, 1)[None].float() / 255
    seg0 = torch.from_numpy(pair.seg0.astype(np.int64))[None]
    seg1 = torch.from_numpy(pair.seg1.astype(np.int64))[None]
    model = build(args.model).eval()
    params = sum(p.numel() for p in model.parameters())

    def run() -> None:
        with torch.inference_mode():
            model(img0, img1, seg0, seg1, iters=args.iters)

    run()  # warm-up: allocator and kernel selection
    rss0 = _peak_rss_mb()
    tracemalloc.start()
    times = []
    for _ in range(args.runs):
        t = time.perf_counter()
        run()
        times.append(time.perf_counter() - t)
    _, py_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss1 = _peak_rss_mb()
    dis = []
    for _ in range(args.runs + 1):
        t = time.perf_counter()
        estimate_flow(pair.img0, pair.img1, "dis-medium")
        dis.append(time.perf_counter() - t)
    dis = dis[1:]
    from segcorr.segment import build as build_segmenter

    flat = build_segmenter("flat")
    flat.segment_all(pair.img0)  # warm-up
    seg_ms = []
    for _ in range(args.runs):
        t = time.perf_counter()
        flat.segment_all(pair.img0)
        flat.segment_all(pair.img1)
        seg_ms.append(time.perf_counter() - t)
    # the segment-level refinement alone (`--refine fuse`), on frame 0's flat segments and a network-like flow
    from segcorr.flow.refine import refine_flow

    labels0 = flat.segment_all(pair.img0)
    rough = pair.flow_fw + np.random.default_rng(0).normal(0, 1, pair.flow_fw.shape).astype(np.float32)
    refine_flow(pair.img0, pair.img1, rough, labels0)
    ref_ms = []
    for _ in range(args.runs):
        t = time.perf_counter()
        refine_flow(pair.img0, pair.img1, rough, labels0)
        ref_ms.append(time.perf_counter() - t)
    res = {
        "model": args.model,
        "size": f"{h}x{w}",
        "threads": args.threads,
        "iters": args.iters or model.config.iters,
        "params": params,
        "weights_mb_fp32": round(params * 4 / 2**20, 2),
        "ms_median": round(1000 * float(np.median(times)), 1),
        "ms_min": round(1000 * min(times), 1),
        "dis_medium_ms_median": round(1000 * float(np.median(dis)), 1),
        "flat_segments_ms_median": round(1000 * float(np.median(seg_ms)), 1),  # both frames (segcorr flow default)
        "refine_fuse_ms_median": round(1000 * float(np.median(ref_ms)), 1),  # includes its DIS medium run
        "peak_rss_mb": round(rss1, 1),
        "peak_rss_growth_mb": round(rss1 - rss0, 1),
        "python_alloc_peak_mb": round(py_peak / 2**20, 2),
    }
    res["ratio_to_dis_medium"] = round(res["ms_median"] / max(res["dis_medium_ms_median"], 1e-6), 2)
    res["pipeline_ms"] = round(res["ms_median"] + (res["flat_segments_ms_median"] if model.uses_segments else 0), 1)
    res["pipeline_ratio_to_dis_medium"] = round(res["pipeline_ms"] / max(res["dis_medium_ms_median"], 1e-6), 2)
    # What `segcorr flow IMG0 IMG1` does by default: shipped weights, frames at the training scale, flat segments.
    from segcorr.flow import shipped_model
    from segcorr.flow.methods import get_method
    from segcorr.io.weights import weights_path

    entry = shipped_model(args.model)
    shipped = entry.cli if entry is not None else None
    if entry is not None and weights_path(entry.weights) is not None:
        # Rounds of [DIS medium, default, --refine none] blocks on the same pair, each block after one warm-up
        # call: a shared machine's speed drifts over seconds, so each round's ratio compares times taken
        # close together; the figures are the medians over rounds, with the range of the per-round ratios.
        fns = {
            key: get_method(shipped, masks="segmenter", refine=refine)
            for key, refine in (("default_cli", "fuse"), ("cli_refine_none", "none"))
        }
        blocks = {"dis": lambda: estimate_flow(pair.img0, pair.img1, "dis-medium")}
        blocks.update({key: (lambda f=f: f(pair.img0, pair.img1)) for key, f in fns.items()})
        per_round: dict[str, list[float]] = {key: [] for key in blocks}
        for _ in range(args.rounds):
            for key, call in blocks.items():
                call()
                ts = []
                for _ in range(args.runs):
                    t = time.perf_counter()
                    call()
                    ts.append(time.perf_counter() - t)
                per_round[key].append(1000 * float(np.median(ts)))
        res["rounds"] = args.rounds
        res["rounds_dis_medium_ms"] = [round(v, 1) for v in per_round["dis"]]
        for key in fns:
            ratios = [t / d for t, d in zip(per_round[key], per_round["dis"])]
            res[f"{key}_ms"] = round(float(np.median(per_round[key])), 1)
            res[f"{key}_ratio_to_dis_medium"] = round(float(np.median(ratios)), 2)
            res[f"{key}_ratio_range"] = [round(min(ratios), 2), round(max(ratios), 2)]
    from segcorr.io.atomic import print_json

    print_json(res, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
