"""AS-Mamba ablations as short equal-budget trainings, each evaluated with the shared protocol.

    python benchmarks/match_ablation.py --steps 300 [--variants full,hilbert,...] [--out runs/match_ablation]

Each variant trains ``configs/train_as_mamba_synth.yaml`` from scratch for the same number of steps (same
seeds, same data, same schedule), with one ``model.args`` change:
    full            the shipped configuration (row-major scan, multi head, geometry feedback, KAN flow head)
    hilbert         scan_order=hilbert
    single_head     heads=single
    no_geom_fb      geom_feedback=false
    mlp_head        flow_head=mlp
    full_seed1      the full configuration with another seed (its distance from ``full`` is the noise floor)
then is evaluated on its synthetic validation pairs (``val/...``: precision, coarse recall, loss) and on the
real sets of ``--sets`` (homography8, scannet15, the warped held-out photos of
``benchmarks/match_compare.py``). A short budget ranks early learning, not converged quality: read the table as
such. Writes
``OUT/ablation.json`` and prints a table (one column per variant). Runs train with ``threads=1``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

VARIANTS = {
    "full": [],
    "hilbert": ["model.args.scan_order=hilbert"],
    "single_head": ["model.args.heads=single"],
    "no_geom_fb": ["model.args.geom_feedback=false"],
    "mlp_head": ["model.args.flow_head=mlp"],
    "full_seed1": ["seed=1"],  # the shipped configuration from another initialisation: the run-to-run spread
}
ROWS = (
    ("homography8", "auc5"),
    ("homography8", "auc10"),
    ("homography8", "precision"),
    ("scannet15", "pose_auc10"),
    ("scannet15", "pose_auc20"),
    ("scannet15", "precision"),
    ("heldout", "auc3"),
    ("heldout", "auc5"),
    ("heldout", "auc10"),
    ("heldout", "precision"),
    ("val", "val/precision"),
    ("val", "val/coarse_recall"),
    ("val", "val/loss"),
    ("val", "val/loss_coarse"),
    ("train", "loss_coarse_last20"),
    ("train", "loss_last20"),
)


def main(argv: list[str] | None = None) -> int:
    from match_compare import BENCH

    from segcorr.data.matchsets import open_match_dataset
    from segcorr.data.matchsynth import write_homography_pairs
    from segcorr.io.atomic import atomic_write_text
    from segcorr.matching.evaluate import MatchProtocol, build_matcher, evaluate_matches
    from segcorr.train import train
    from segcorr.train.logs import read_scalars

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="configs/train_as_mamba_synth.yaml")
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--out", default="runs/match_ablation")
    ap.add_argument("--heldout", default="runs/match_heldout30")
    ap.add_argument("--extra", action="append", default=[], help="more key=value overrides for every run")
    ap.add_argument(
        "--sets",
        default="homography8,scannet15,heldout",
        help="real sets to evaluate each variant on (comma list; 'none' = synthetic validation only)",
    )
    args = ap.parse_args(argv)

    out = Path(args.out)
    held = Path(args.heldout)
    if "heldout" in args.sets and not any(held.glob("*_H.txt")):
        write_homography_pairs(held, 30, seed=0)
    sets = {"homography8": BENCH / "homography8", "scannet15": BENCH / "scannet15", "heldout": held}
    sets = {k: v for k, v in sets.items() if k in args.sets.split(",")}
    proto = MatchProtocol()
    results: dict[str, dict] = {}
    path = out / "ablation.json"
    if path.exists():
        results = json.loads(path.read_text())
    for name in [v.strip() for v in args.variants.split(",") if v.strip()]:
        if name in results:
            continue
        weights = out / f"{name}.safetensors"
        run = train(
            args.config,
            [
                *VARIANTS[name],
                f"steps={args.steps}",
                f"out={out}",
                f"name={name}",
                "progress=false",
                "threads=1",
                "val.every=100000",
                "log_every=1",
                *args.extra,
            ],
        )
        from segcorr.train.task_match import export_match_weights

        export_match_weights(str(run), str(weights))
        summary = json.loads((run / "summary.json").read_text())
        tail = {
            f"{k}_last20": sum(v for _, v in read_scalars(run, f"loss/{k}")[-20:])
            / max(1, len(read_scalars(run, f"loss/{k}")[-20:]))
            for k in ("loss", "loss_coarse")
        }
        r = {
            "steps": summary["steps"],
            "wall_s": summary["wall_s"],
            "overrides": VARIANTS[name],
            "val": {k: v for k, v in summary["metrics"].items() if k.startswith("val/")},
            "train": tail,
        }
        for key, d in sets.items():
            m = evaluate_matches(
                open_match_dataset(d), build_matcher(str(weights)), name, str(d), protocol=proto, progress=False
            )
            r[key] = m
        results[name] = r
        atomic_write_text(path, json.dumps(results, indent=1) + "\n")
    names = list(results)
    rows = [["set", "metric", *names]]
    for s, k in ROWS:
        vals = [results[n].get(s, {}).get(k) for n in names]  # None: set not evaluated (or no such figure)
        if any(v is not None for v in vals):
            rows.append([s, k, *("-" if v is None else f"{v:.3f}" for v in vals)])
    rows.append(["", "steps", *(str(results[n]["steps"]) for n in names)])
    w = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
    print("\n".join("  ".join(x.ljust(w[i]) for i, x in enumerate(r)) for r in rows))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    sys.exit(main())
