"""Self-check of the synthetic cel world: is the ground truth exact, and is the generator fast?

Generates ``--count`` pairs (seeds 0..count-1, evaluation range) and reports the mean warp error
(img1 warped back by the GT flow vs img0, non-occluded, away from line art), forward-backward
consistency, segment consistency, share of occluded pixels, mean |flow|, and generation speed
(pairs/s, OpenCV limited to one thread so the figure is per core).

    python benchmarks/synth_selfcheck.py --count 200 [--style cel|textured|mixed|shaded|film] [--clean] [--json OUT]

The "film" style degrades both frames after rendering (grade, blur, grain, JPEG), so its warp error includes that
noise; ``--clean`` measures the same pairs as rendered (the exactness of the ground truth itself).
"""

from __future__ import annotations

import argparse
import json
import time

import cv2
import numpy as np

from segcorr.data.synth import make_cel_pair
from segcorr.data.synth.selfcheck import pair_checks


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--height", type=int, default=384)
    ap.add_argument("--width", type=int, default=512)
    ap.add_argument("--style", default="cel", choices=["cel", "textured", "mixed", "shaded", "film"])
    ap.add_argument("--clean", action="store_true", help="film style: skip the degradation")
    ap.add_argument("--json", default=None, help="write the figures to this JSON file")
    args = ap.parse_args()
    cv2.setNumThreads(1)

    rows, gen_s = [], 0.0
    for i in range(args.count):
        t0 = time.perf_counter()
        pair = make_cel_pair(args.seed + i, args.height, args.width, style=args.style, degrade=not args.clean)
        gen_s += time.perf_counter() - t0
        rows.append(pair_checks(pair))
    keys = rows[0].keys()
    table = {k: np.array([r[k] for r in rows]) for k in keys}
    out = {
        "count": args.count,
        "style": args.style,
        "clean": args.clean,
        "height": args.height,
        "width": args.width,
        "warp_err_mean": float(table["warp_err"].mean()),
        "warp_err_max": float(table["warp_err"].max()),
        "warp_err_share_under_3": float((table["warp_err"] < 3).mean()),
        "fb_err_mean_px": float(table["fb_err"].mean()),
        "fb_ok_nearest_min": float(table["fb_ok_nearest"].min()),
        "fb_ok_bilinear_mean": float(table["fb_ok_bilinear"].mean()),
        "seg_consistency_mean": float(table["seg_consistency"].mean()),
        "seg_consistency_min": float(table["seg_consistency"].min()),
        "occ_share_mean": float(table["occ_share"].mean()),
        "mean_flow_px": float(table["mean_flow"].mean()),
        "max_of_mean_flow_px": float(table["mean_flow"].max()),
        "pairs_per_s": args.count / gen_s,
        "ms_per_pair": 1000 * gen_s / args.count,
    }
    for k, v in out.items():
        print(f"{k:26s} {v:.4f}" if isinstance(v, float) else f"{k:26s} {v}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
