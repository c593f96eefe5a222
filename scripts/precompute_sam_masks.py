#!/usr/bin/env python
"""Precompute 16-bit label-map PNGs for a folder of frames (name kept: users know it).

    python scripts/precompute_sam_masks.py FRAMES_DIR --out MASKS_DIR [--segmenter flat|builtin|sam2|labelmap]
        [--checkpoint sam2.1_hiera_tiny.pt] [--config configs/sam2.1/sam2.1_hiera_t.yaml] [--device cpu]
    torchrun --nproc_per_node 4 scripts/precompute_sam_masks.py FRAMES_DIR --out MASKS_DIR ...

Resumes after a kill (valid outputs are kept, corrupt ones redone); under torchrun each rank takes
every WORLD_SIZE-th image. Same as `segcorr precompute-masks`, with the same defaults (segmenter flat).
"""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    from segcorr.errors import InputError
    from segcorr.segment.precompute import DEFAULT_SEGMENTER, SEGMENTER_HELP, precompute_masks

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("input_dir")
    ap.add_argument("--out", required=True)
    ap.add_argument("--segmenter", default=DEFAULT_SEGMENTER, help=SEGMENTER_HELP)
    ap.add_argument("--checkpoint", help="SAM 2.1 checkpoint (.pt, official {'model': ...} format)")
    ap.add_argument("--config", help="packaged SAM 2.1 config, e.g. configs/sam2.1/sam2.1_hiera_t.yaml")
    ap.add_argument("--device", help="cpu or cuda (default: CUDA when present and it fits)")
    ap.add_argument("--source", help="label maps to copy from (segmenter labelmap)")
    ap.add_argument("--no-progress", action="store_true")
    args = ap.parse_args(argv)
    kw = {k: getattr(args, k) for k in ("checkpoint", "config", "device", "source") if getattr(args, k)}
    try:
        stats = precompute_masks(args.input_dir, args.out, args.segmenter, progress=not args.no_progress, **kw)
    except InputError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(stats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
