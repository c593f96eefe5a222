"""Every classical OpenCV flow method on one flow set, side by side.

    python benchmarks/flow_classical.py --data ../shared/data/benchmarks/flyingchairs9 [--json OUT.json]

Prints the metrics table (one column per method). ``--json`` writes a list of the per-method metric
objects (DESIGN keys). ``--methods`` picks a subset, ``--limit`` evaluates the first N pairs only.
"""

from __future__ import annotations

import argparse
import json
import sys


def main(argv: list[str] | None = None) -> int:
    from segcorr.data.flowsets import open_flow_dataset
    from segcorr.errors import InputError
    from segcorr.flow.classical import METHODS
    from segcorr.flow.evaluate import classical_method, evaluate_flow, format_table, jsonable_metrics
    from segcorr.io.atomic import atomic_write_text

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="pairs folder or AnimeRun root")
    ap.add_argument("--json", default=None, help="write the list of metric objects here")
    ap.add_argument("--methods", default=",".join(METHODS), help=f"comma list (default: {','.join(METHODS)})")
    ap.add_argument("--limit", type=int, default=None, help="first N pairs only")
    ap.add_argument("--split", default="test", help="AnimeRun split (ignored for the pairs layout)")
    ap.add_argument("--no-progress", action="store_true")
    args = ap.parse_args(argv)

    try:
        ds = open_flow_dataset(args.data, split=args.split)
        results = [
            evaluate_flow(
                ds, classical_method(m.strip()), m.strip(), args.data, progress=not args.no_progress, limit=args.limit
            )
            for m in args.methods.split(",")
            if m.strip()
        ]
    except InputError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(format_table(results))
    if args.json:
        atomic_write_text(args.json, json.dumps([jsonable_metrics(r) for r in results], indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
