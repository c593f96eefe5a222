"""Character isolation benchmark: 200 generated manga pages, Z-buffer ordering against two baselines.

Generates ``--count`` pages (seeds 0..count-1, evaluation range) into ``--data`` (kept when its
meta.json already matches), then runs `segcorr eval isolate` with ``--masks amodal`` (GT amodal masks
fed as the segmenter's answer) and ``--masks flat`` (classical segmenter, body-box prompts). OpenCV is
limited to one thread, so the ms figures are per core.

    python benchmarks/isolate.py [--count 200] [--data runs/manga200] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import cv2

from segcorr.data.synth.manga import GENERATOR_VERSION, write_manga
from segcorr.layering.evaluate import evaluate_isolation

KEYS = (
    "order_acc",
    "order_acc_area",
    "order_acc_lower_edge",
    "iou",
    "bleeding",
    "ms_per_item",
    "ms_per_item_total",
    "pairs",
    "characters",
    "box_fallbacks",
)


def _ready(root: Path, count: int, h: int, w: int) -> bool:
    try:
        meta = json.loads((root / "meta.json").read_text())
    except (OSError, ValueError):
        return False
    return (meta.get("generator"), meta.get("count"), meta.get("seed"), meta.get("height"), meta.get("width")) == (
        GENERATOR_VERSION,
        count,
        0,
        h,
        w,
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=200)
    ap.add_argument("--data", default="runs/manga200")
    ap.add_argument("--height", type=int, default=1088)
    ap.add_argument("--width", type=int, default=768)
    ap.add_argument("--masks", nargs="+", default=["amodal", "flat"], choices=["amodal", "flat"])
    ap.add_argument("--json", default=None, help="write the figures to this JSON file")
    args = ap.parse_args()
    cv2.setNumThreads(1)
    root = Path(args.data)
    if not _ready(root, args.count, args.height, args.width):
        t0 = time.perf_counter()
        write_manga(root, args.count, seed=0, height=args.height, width=args.width)
        print(f"generated {args.count} pages in {time.perf_counter() - t0:.1f} s")
    results = []
    for masks in args.masks:
        t0 = time.perf_counter()
        r = evaluate_isolation(root, masks=masks)
        r["wall_s"] = time.perf_counter() - t0
        results.append(r)
    print(f"{'masks':8s} " + " ".join(f"{k:>21s}" for k in KEYS))
    for r in results:
        print(
            f"{r['method']:8s} "
            + " ".join(f"{r[k]:21.4f}" if isinstance(r[k], float) else f"{r[k]!s:>21s}" for k in KEYS)
        )
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
