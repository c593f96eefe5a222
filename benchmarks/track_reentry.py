"""Re-entries: do objects that leave the frame and come back keep their id? A validation check with many of them.

    python benchmarks/track_reentry.py --out DIR [--count 24] [--frames 32] [--seed 500000] [--exits 2]
                                       [--method builtin] [--limit N] [--json OUT.json] [key=value ...]

Writes (once; an existing ``DIR`` with a ``meta.json`` is reused) ``--count`` clips in which the ``--exits``
lowest-id instances of each clip leave the frame through the nearer side edge and come back
(``write_clips(exits=...)``; validation seeds by default: tune here, never on evaluation seeds), then runs
``evaluate_tracking`` with mask prompts and prints its metrics, ``reentries`` / ``reentries_kept`` included.
``key=value`` arguments go to ``TrackerConfig`` (builtin method only; each value takes its field's type, e.g.
``reentry=none reentry_model=false``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--count", type=int, default=24)
    ap.add_argument("--frames", type=int, default=32)
    ap.add_argument("--seed", type=int, default=500000)
    ap.add_argument("--exits", type=int, default=2)
    ap.add_argument("--method", default="builtin")
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--json", default=None)
    ap.add_argument("config", nargs="*", help="TrackerConfig key=value")
    args = ap.parse_args()
    from segcorr.data.synth import write_clips
    from segcorr.io.atomic import print_json
    from segcorr.segment.track_eval import evaluate_tracking

    out = Path(args.out)
    if not (out / "meta.json").exists():
        write_clips(out, args.count, seed=args.seed, num_frames=args.frames, progress=False, exits=args.exits)
    from segcorr.registry import field_overrides
    from segcorr.segment.tracker_config import TrackerConfig

    fields = field_overrides(TrackerConfig, args.config, "for TrackerConfig")
    extra = {"config": fields} if fields else {}
    r = evaluate_tracking(out, args.method, limit=args.limit, progress=False, **extra)
    exits = json.loads((out / "meta.json").read_text()).get("exits", 0)  # what the folder holds, reused or not
    print_json({**r, "exits": exits, **({"tracker": extra["config"]} if extra else {})}, args.json)


if __name__ == "__main__":
    main()
