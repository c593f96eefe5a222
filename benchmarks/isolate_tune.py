"""Choose the occlusion evidence's settings on VALIDATION pages (seeds 500000..) of every page style.

For each manga folder, the Z-buffer keys and the occlusion evidence of every page are computed once (GT amodal
masks as the segmenter's answer, as `segcorr eval isolate --masks amodal`); then the ordering accuracy of each
(calibrate, size_key, height_trust, weight, threshold, reliable, overlap_t_weak) in the grid is scored with the
metric of `segcorr eval isolate` on the same pairs (`order.page_order`, as the isolation orders). Prints one row per
setting with the accuracy on each folder and their minimum; the chosen setting is the best minimum (ties: the
best sum, then the earlier row of the grid).

    python benchmarks/isolate_tune.py --data runs/manga_val_ground runs/manga_val_freeform [--json OUT]

Never point it at evaluation folders (seeds 0..499999): what it chooses would then be tuned on the test.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
from pathlib import Path

import cv2

from segcorr.data.manga import MangaDataset
from segcorr.layering.evidence import EvidenceConfig, page_readings
from segcorr.layering.isolate import panel_masks
from segcorr.layering.order import page_order
from segcorr.layering.zbuffer import ZBufferCalculator
from segcorr.metrics.isolate import ordering_pairs, pair_score
from segcorr.registry import field_overrides

WEIGHTS = (1.0, 3.0, 10.0)
THRESHOLDS = (0.1, 0.2)
RELIABLE = (0.0, 0.8, 0.85, 0.9)  # 0: the weak overlap tests never decide
T_WEAK = (1.5, 2.0)
HEIGHT_TRUST = (0.0, 0.7, 0.75, 0.8)  # 0: the size key only where it orders more evidence pairs right


def page_records(root: Path, config: EvidenceConfig) -> list[dict]:
    """Per page: keys, evidence, the weak overlap tests' t and the GT pairs (id_a, id_b, a is nearer)."""
    ds, zb = MangaDataset(root), ZBufferCalculator()
    out = []
    for i in range(len(ds)):
        it = ds[i]
        seg = {c["id"]: it.amodal[c["id"]] for c in it.characters}
        keys = zb.keys(it.characters, it.panels, it.image.shape[:2], masks=seg)
        ev, weak = page_readings(it.image, panel_masks(seg, keys, it.panels), keys, config)
        pairs = [
            (it.characters[a]["id"], it.characters[b]["id"], it.characters[a]["depth"] < it.characters[b]["depth"])
            for a, b in ordering_pairs(it.characters, it.amodal)
        ]
        out.append({"keys": keys, "ev": ev, "weak": weak, "pairs": pairs})
    return out


def accuracy(records: list[dict], config: EvidenceConfig) -> float:
    """Ordering accuracy of `order.page_order` with `config` over the pages' GT pairs (weight 0: the ADR key)."""
    weights = ZBufferCalculator().weights(False)
    right = n = 0
    for r in records:
        keys = page_order(r["keys"], r["ev"], r["weak"], weights, config) if config.weight > 0 else r["keys"]
        for a, b, a_near in r["pairs"]:
            right += pair_score(keys[a].d, keys[b].d, a_near, True)
            n += 1
    return right / n if n else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", nargs="+", required=True, help="validation manga folders (one per style)")
    ap.add_argument("--json", default=None)
    ap.add_argument("--set", nargs="*", default=[], help="EvidenceConfig fields as name=value (the picture's part)")
    args = ap.parse_args()
    cv2.setNumThreads(1)
    base = EvidenceConfig()
    overrides = field_overrides(EvidenceConfig, args.set, "for --set")
    records = {d: page_records(Path(d), dataclasses.replace(base, **overrides)) for d in args.data}
    rows = []
    names = ("calibrate", "size_key", "height_trust", "weight", "threshold", "reliable", "overlap_t_weak")
    grid = itertools.product((False, True), (False, True), HEIGHT_TRUST, WEIGHTS, THRESHOLDS, RELIABLE, T_WEAK)
    for values in grid:
        setting = dict(zip(names, values))
        if (
            (setting["size_key"] and not setting["calibrate"])
            or (not setting["size_key"] and setting["height_trust"] != HEIGHT_TRUST[0])
            or (not setting["reliable"] and setting["overlap_t_weak"] != T_WEAK[0])
        ):
            continue  # the size key needs the calibration, height_trust the size key, `reliable` the weak t
        cfg = dataclasses.replace(base, **{**overrides, **setting})
        accs = [accuracy(rec, cfg) for rec in records.values()]
        rows.append({**setting, "acc": accs, "min": min(accs)})
    adr = [accuracy(rec, dataclasses.replace(base, weight=0.0)) for rec in records.values()]
    print("ADR key alone: " + "  ".join(f"{a:.4f}" for a in adr))
    print(" ".join(f"{n:>14s}" for n in names) + "  " + "  ".join(Path(d).name for d in args.data) + "  min")
    for r in rows:
        print(
            " ".join(f"{r[n]!s:>14s}" for n in names)
            + "  "
            + "  ".join(f"{a:.4f}" for a in r["acc"])
            + f"  {r['min']:.4f}"
        )
    best = max(rows, key=lambda r: (round(r["min"], 6), round(sum(r["acc"]), 6), -rows.index(r)))
    print("chosen: " + " ".join(f"{n}={best[n]}" for n in names))
    if args.json:
        Path(args.json).write_text(json.dumps({"adr": adr, "grid": rows, "chosen": best}, indent=1) + "\n")


if __name__ == "__main__":
    main()
