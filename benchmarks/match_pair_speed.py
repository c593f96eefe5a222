"""Seconds per pair of the shipped matcher as ``segcorr match`` runs it, on every pair of a matching set.

    python benchmarks/match_pair_speed.py [--data DIR] [--threads 2] [--no-prealign] [--no-turns] [--json OUT]

Unlike ``match_speed.py`` (the model's forward on one synthetic pair), this times ``MatchPredictor.__call__`` with
the shipped weights and settings: resize, every pass (pre-alignment probe, orientation views, full pass, fallback),
refinement and consistency check. Default data: the warped held-out photos of ``match_compare.py``
(``runs/match_heldout30``, written when missing). One warm-up pair first. Reported per pair: median, mean, 90th
percentile and maximum wall seconds, median process CPU seconds (on a machine shared with other jobs the wall clock
also counts waiting for a core), how many pairs took more than 1 s, and the network passes of each pair
(``MatchPredictor.last_passes``): pairs with more than three went through the orientation search's views, reported
apart (``pairs_searched``, ``s_max_not_searched``, ``s_median_searched``).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="runs/match_heldout30")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--no-prealign", action="store_true")
    ap.add_argument("--no-turns", action="store_true")
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)

    from pathlib import Path

    import numpy as np
    import torch

    from segcorr.data.matchsets import open_match_dataset
    from segcorr.data.matchsynth import write_homography_pairs
    from segcorr.io.atomic import print_json
    from segcorr.matching.evaluate import build_matcher

    torch.set_num_threads(args.threads)
    if args.data == "runs/match_heldout30" and not any(Path(args.data).glob("*_H.txt")):
        write_homography_pairs(Path(args.data), 30, seed=0)
    ds = open_match_dataset(args.data)
    matcher = build_matcher("as-mamba", turns=not args.no_turns, prealign=not args.no_prealign)
    matcher(ds[0].img0, ds[0].img1)  # warm-up
    walls, cpus, passes = [], [], []
    for i in range(len(ds)):
        pair = ds[i]
        t, c = time.perf_counter(), time.process_time()
        matcher(pair.img0, pair.img1)
        walls.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
        passes.append(len(matcher.last_passes))
    w = np.array(walls)
    searched = np.array(passes) > 3  # probe, full pass, fallback: more means orientation views
    result = {
        "data": args.data,
        "pairs": len(w),
        "threads": args.threads,
        "prealign": not args.no_prealign,
        "turns": not args.no_turns,
        "s_median": round(float(np.median(w)), 3),
        "s_mean": round(float(w.mean()), 3),
        "s_p90": round(float(np.percentile(w, 90)), 3),
        "s_max": round(float(w.max()), 3),
        "cpu_s_median": round(statistics.median(cpus), 3),
        "pairs_over_1s": int((w > 1.0).sum()),
        "pairs_searched": int(searched.sum()),
        "s_max_not_searched": round(float(w[~searched].max()), 3) if (~searched).any() else None,
        "s_median_searched": round(float(np.median(w[searched])), 3) if searched.any() else None,
        "passes_per_pair": [int(p) for p in passes],
    }
    print_json(result, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
