"""Character isolation benchmark: generated manga pages of each style, Z-buffer ordering against two baselines.

Generates ``--count`` pages (seeds 0..count-1, evaluation range) of every ``--styles`` page style (kept when
its meta.json already matches): style "ground" into ``--data``, any other style into ``--data`` + "_" + style.
Then runs `segcorr eval isolate` with ``--masks amodal`` (GT amodal masks fed as the segmenter's answer) and
``--masks flat`` (classical segmenter, body-box prompts), for every ``--orders`` (adr: the Z-buffer key alone,
evidence: the page's occlusion evidence alone, both; default: the isolation config's), and prints one table:
each style's rows side by side with the area-only and lower-edge baselines on the same pairs. OpenCV is
limited to one thread, so the ms figures are per core.

    python benchmarks/isolate.py [--count 200] [--data runs/manga200] [--styles ground freeform]
        [--orders adr evidence both] [--close square] [--same-plane front] [--json OUT]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

import cv2

from segcorr.data.synth.manga import STYLES, generator_version, write_manga
from segcorr.layering.evaluate import evaluate_isolation
from segcorr.layering.isolate import ORDERS, IsolationConfig, config_for_order

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


def _ready(root: Path, count: int, h: int, w: int, style: str) -> bool:
    try:
        meta = json.loads((root / "meta.json").read_text())
    except (OSError, ValueError):
        return False
    return (meta.get("generator"), meta.get("count"), meta.get("seed"), meta.get("height"), meta.get("width")) == (
        generator_version(style),
        count,
        0,
        h,
        w,
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=200)
    ap.add_argument("--data", default="runs/manga200")
    ap.add_argument("--styles", nargs="+", default=["ground"], choices=STYLES)
    ap.add_argument("--height", type=int, default=1088)
    ap.add_argument("--width", type=int, default=768)
    ap.add_argument("--masks", nargs="+", default=["amodal", "flat"], choices=["amodal", "flat"])
    ap.add_argument("--orders", nargs="+", default=[None], choices=[*ORDERS, None], type=lambda s: s or None)
    ap.add_argument("--close", choices=["cross", "square"], default=None, help="the 3x3 closing's element")
    ap.add_argument("--same-plane", choices=["seam", "front"], default=None, help="same-plane overlaps")
    ap.add_argument("--json", default=None, help="write the figures to this JSON file")
    args = ap.parse_args()
    cv2.setNumThreads(1)
    base = IsolationConfig()
    if args.close:
        base = dataclasses.replace(base, close_kernel=args.close)
    if args.same_plane:
        base = dataclasses.replace(base, same_plane=args.same_plane)
    results = []
    for style in args.styles:
        root = Path(args.data if style == "ground" else f"{args.data}_{style}")
        if not _ready(root, args.count, args.height, args.width, style):
            t0 = time.perf_counter()
            write_manga(root, args.count, seed=0, height=args.height, width=args.width, style=style)
            print(f"generated {args.count} {style} pages in {time.perf_counter() - t0:.1f} s")
        for order in args.orders:
            for masks in args.masks:
                t0 = time.perf_counter()
                r = evaluate_isolation(root, masks=masks, config=config_for_order(order, base))
                r["wall_s"] = time.perf_counter() - t0
                r["style"] = style
                results.append(r)
    print(f"{'style':9s} {'method':28s} " + " ".join(f"{k:>20s}" for k in KEYS))
    for r in results:
        print(
            f"{r['style']:9s} {r['method']:28s} "
            + " ".join(f"{r[k]:20.4f}" if isinstance(r[k], float) else f"{r[k]!s:>20s}" for k in KEYS)
        )
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
