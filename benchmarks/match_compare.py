"""Matchers side by side on matching sets, one protocol (segcorr.matching.evaluate.MatchProtocol).

    python benchmarks/match_compare.py [--data DIR ...] [--methods as-mamba,sift,orb] [--json OUT.json]

``--jitter N`` runs every method N more times on images with 10 % of their pixels moved by one grey level
(``segcorr.matching.evaluate.jittered``, seeds 1..N; the same images for every method) and adds, per metric, the mean
and range over the N + 1 runs (``<key>_mean``, ``<key>_min``, ``<key>_max``; the plain key stays the run on the images
as given): a 30-pair AUC moves by several hundredths under such changes (weights README), so compare means.

Default data: the real homography8 and scannet15 sets of ../shared/data/benchmarks and a set of warped
held-out photos (``write_homography_pairs``: scikit-image's chelsea/coffee/rocket, which training never
sees; evaluation seeds 0..N-1), written to ``--heldout`` when missing. Prints one table per set (one column
per method); ``--json`` writes {set: [metric objects]}.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT.parent / "shared" / "data" / "benchmarks"


def shown(path: str) -> str:
    """How a set is named in the results: relative to the repository when it lies beside or inside it (so cards
    and JSON carry no machine paths), else as given."""
    p = Path(path).resolve()
    return os.path.relpath(p, ROOT) if p.is_relative_to(ROOT.parent) else path


KEYS = (
    "count",
    "ms_per_item",
    "auc3",
    "auc5",
    "auc10",
    "pose_auc5",
    "pose_auc10",
    "pose_auc20",
    "matches",
    "precision",
)


def table(results: list[dict]) -> str:
    def cell(v) -> str:
        if v is None or (isinstance(v, float) and math.isnan(v)):
            return "-"
        return f"{v:.1f}" if isinstance(v, float) and abs(v) >= 10 else (f"{v:.3f}" if isinstance(v, float) else str(v))

    rows = [["metric", *(r["method"] for r in results)]]
    rows += [[k, *(cell(r.get(k)) for r in results)] for k in KEYS if any(r.get(k) is not None for r in results)]
    return aligned(rows)


def aligned(rows: list[list[str]]) -> str:
    """Rows of cells as text columns: the first left-aligned, the rest right-aligned."""
    w = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
    return "\n".join("  ".join(x.ljust(w[i]) if i == 0 else x.rjust(w[i]) for i, x in enumerate(r)) for r in rows)


def spread(runs: list[dict]) -> dict:
    """Mean, min and max over runs of every metric they all give a number for (``<key>_mean`` / ``_min`` /
    ``_max``), and the per-run values of the AUCs (``<key>_runs``)."""
    out: dict = {"jitter_runs": len(runs)}
    for k in KEYS[1:]:
        vals = [r.get(k) for r in runs]
        if any(v is None or (isinstance(v, float) and math.isnan(v)) for v in vals):
            continue
        out.update(
            {f"{k}_mean": float(sum(vals) / len(vals)), f"{k}_min": float(min(vals)), f"{k}_max": float(max(vals))}
        )
        if "auc" in k:
            out[f"{k}_runs"] = [float(v) for v in vals]
    return out


def spread_table(results: list[dict]) -> str:
    """AUCs as mean [min, max] over the jittered runs, one row per metric."""
    keys = [k for k in KEYS if "auc" in k and any(f"{k}_mean" in r for r in results)]
    rows = [["metric (mean [min, max])", *(r["method"] for r in results)]]
    rows += [
        [
            k,
            *(
                f"{r[k + '_mean']:.3f} [{r[k + '_min']:.3f}, {r[k + '_max']:.3f}]" if k + "_mean" in r else "-"
                for r in results
            ),
        ]
        for k in keys
    ]
    return aligned(rows)


def method_options(m: str) -> tuple[str, set[str]]:
    """``NAME[/OPT[+OPT]]`` -> (NAME, {OPT, ...}); NAME may be a weights path (``runs/x/w.safetensors``, its own
    slashes kept) followed by options."""
    from segcorr.errors import InputError

    head, sep, tail = m.rpartition("/")
    if not sep or tail.endswith(".safetensors"):
        return m, set()
    off = set(tail.split("+")) - {""}
    if off - {"none", "noalign", "noturns"}:
        raise InputError(f"unknown method option in {m!r}; known: none, noalign, noturns")
    return head, off


def main(argv: list[str] | None = None) -> int:
    from segcorr.data.matchsets import open_match_dataset
    from segcorr.data.matchsynth import write_homography_pairs
    from segcorr.errors import InputError
    from segcorr.io.atomic import atomic_write_text
    from segcorr.matching.evaluate import MatchProtocol, build_matcher, evaluate_matches, jittered

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", action="append", default=None, help="a matching set (repeatable)")
    ap.add_argument(
        "--methods",
        default="as-mamba,as-mamba/none,sift,orb",
        help="comma-separated; NAME/none = AS-Mamba without the patch refinement (the network's own points), "
        "NAME/noalign without the pre-alignment, NAME/noturns without the orientation search ('+' joins them); "
        "NAME: as-mamba, sift, orb or a .safetensors path",
    )
    ap.add_argument("--heldout", default="runs/match_heldout30", help="folder of the warped held-out photos")
    ap.add_argument("--heldout-count", type=int, default=30)
    ap.add_argument("--longer-side", type=int, default=640)
    ap.add_argument("--max-matches", type=int, default=2048)
    ap.add_argument("--json", default=None)
    ap.add_argument("--no-progress", action="store_true")
    ap.add_argument("--jitter", type=int, default=0, help="N more runs on jittered images (seeds 1..N): mean, range")
    ap.add_argument("--card", default=None, help="a model card JSON: its 'evaluation' gets these results")
    args = ap.parse_args(argv)

    sets = args.data
    if not sets:
        held = Path(args.heldout)
        if not any(held.glob("*_H.txt")):
            write_homography_pairs(held, args.heldout_count, seed=0)
        sets = [str(BENCH / "homography8"), str(BENCH / "scannet15"), str(held)]
    proto = MatchProtocol(longer_side=args.longer_side, max_matches=args.max_matches)
    out: dict[str, list[dict]] = {}
    try:
        for path in sets:
            ds, d = open_match_dataset(path), shown(path)
            res = []
            for m in [m.strip() for m in args.methods.split(",") if m.strip()]:
                name, off = method_options(m)
                matcher = build_matcher(
                    name,
                    longer_side=args.longer_side,
                    max_matches=args.max_matches,
                    refine="none" if "none" in off else "patch",
                    turns="noturns" not in off,
                    prealign="noalign" not in off,
                )
                r = evaluate_matches(ds, matcher, m, d, protocol=proto, progress=not args.no_progress)
                runs = [r] + [
                    evaluate_matches(ds, jittered(matcher, s), m, d, protocol=proto, progress=not args.no_progress)
                    for s in range(1, args.jitter + 1)
                ]
                res.append({**r, **spread(runs)} if args.jitter else r)
            out[d] = res
            print(f"\n== {d}\n{table(res)}", flush=True)
            if args.jitter:
                print(f"\n{spread_table(res)}", flush=True)
    except InputError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.json:
        atomic_write_text(args.json, json.dumps(out, indent=1) + "\n")
    if args.card:
        card = json.loads(Path(args.card).read_text())
        ev = card.setdefault("evaluation", {})
        for d, res in out.items():
            ev[Path(d).name] = {
                "protocol": vars(proto),
                "command": "python benchmarks/match_compare.py " + " ".join(argv if argv is not None else sys.argv[1:]),
                "methods": {r["method"]: r for r in res},
            }
        atomic_write_text(args.card, json.dumps(card, indent=2, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
