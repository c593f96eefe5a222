"""Write the matcher's validation sets: warped photos that no split uses, and ray-cast scenes on validation seeds.

    python benchmarks/match_valsets.py --photo china.jpg --photo flower.jpg --photo grace_hopper.jpg \
        [--out runs/match_val]

Settings of the matcher (and a new stage of its weights) are chosen on these sets, never on the evaluation sets
(the warped held-out photos of ``match_compare.py``, ``homography8``, ``scannet15``). Writes under ``--out``:

- ``vh``: 36 warped-photo pairs, seeds 500,300..; ``vh2``: 60 pairs, seeds 500,400..; ``vhx``: 30 pairs of
  extreme viewpoints (homography strength 1.5: corners moved up to 45 % of the sides, turns up to 52 degrees,
  scale up to 2.1x), seeds 500,700.. (homography layout, ``segcorr.data.matchsynth.write_homography_pairs`` with
  the given photos, pair i from photo i mod n);
- ``pval2``: 16 ray-cast scenes, seeds 500,000..; ``phard``: 24 scenes with wide baselines (camera motion x2.5),
  seeds 500,600.. (pose layout, ``write_scene_pairs``).

The photos must be pictures that neither the training photos (``TRAIN_PHOTOS``) nor the held-out ones
(``EVAL_PHOTOS``) include. The weights README's validation figures used scikit-learn's ``china.jpg`` and
``flower.jpg`` (``sklearn/datasets/images/`` inside its wheel) and matplotlib's ``grace_hopper.jpg``
(``matplotlib/mpl-data/sample_data/``); neither package is a dependency, so pass the files. A set whose folder
already has its ``meta.json`` is kept. Score them with ``match_compare.py --data DIR [--jitter N]``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

SETS = {  # name: (kind, count, first seed, strength)
    "vh": ("photos", 36, 500_300, 1.0),
    "vh2": ("photos", 60, 500_400, 1.0),
    "vhx": ("photos", 30, 500_700, 1.5),
    "pval2": ("scenes", 16, 500_000, 1.0),
    "phard": ("scenes", 24, 500_600, 2.5),
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--photo", action="append", default=[], help="a photo no split uses (repeatable)")
    ap.add_argument("--out", default="runs/match_val")
    ap.add_argument("--sets", default=",".join(SETS), help="comma-separated subset of " + ", ".join(SETS))
    args = ap.parse_args(argv)

    from segcorr.data.matchsynth import write_homography_pairs, write_scene_pairs
    from segcorr.data.matchsynth.photos import EVAL_PHOTOS, TRAIN_PHOTOS

    names = [s.strip() for s in args.sets.split(",") if s.strip()]
    unknown = [n for n in names if n not in SETS]
    if unknown:
        print(f"error: unknown set(s) {', '.join(unknown)}; known: {', '.join(SETS)}", file=sys.stderr)
        return 2
    used = {Path(p).name for p in args.photo} & set(TRAIN_PHOTOS + EVAL_PHOTOS)
    missing = [p for p in args.photo if not Path(p).is_file()]
    if used or missing:
        what = f"photos a split uses: {sorted(used)}" if used else f"no such file: {missing[0]}"
        print(f"error: {what}", file=sys.stderr)
        return 2
    if not args.photo and any(SETS[n][0] == "photos" for n in names):
        print("error: the photo sets need --photo files (see --help)", file=sys.stderr)
        return 2
    for name in names:
        kind, count, seed, strength = SETS[name]
        out = Path(args.out) / name
        if (out / "meta.json").is_file():
            print(f"{out}: kept")
            continue
        if kind == "photos":
            write_homography_pairs(out, count, seed=seed, strength=strength, photos=args.photo)
        else:
            write_scene_pairs(out, count, seed=seed, strength=strength)
        print(f"{out}: {count} pairs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
