"""Re-run the evaluations recorded in the model cards and compare their metrics with the recorded ones.

    PYTHONPATH=CLONE/src python benchmarks/cards_check.py [--only REGEX] [--workdir DIR] [--tol 1e-6]

Every ``evaluation`` entry of the cards (``src/segcorr/weights/*.json``) with a ``segcorr eval ...`` command is
run again (with ``--json``); data named by a bare folder name (``--data cels200``) is made first in ``--workdir``
by the card's ``<name>_data`` command when missing. Timings (``ms_per_item``) are not compared. Commands run as
``python -m segcorr``, so ``PYTHONPATH=CLONE/src`` checks the code and weights of another checkout (a clean clone
of one commit rather than a working tree in flux). Prints one line per entry and exits 1 when a metric moved by
more than ``--tol`` (absolute): a refactor that claims to change no figure runs this before and after.
``--update``: a change that moves figures on purpose writes the measured metrics into the card entries (timings
too; the rest of each entry is kept) and exits 0.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CARDS = ROOT / "src" / "segcorr" / "weights"
SKIP = {"ms_per_item", "ms_per_pair", "ms_per_frame", "peak_rss_mb"}


def card_entries(only: str | None) -> list[tuple[str, str, str, dict, dict]]:
    """[(card stem, entry key, command, recorded metrics, the card's evaluation block)] of re-runnable entries."""
    rows = []
    for card in sorted(CARDS.glob("*.json")):
        ev = json.loads(card.read_text()).get("evaluation", {})
        for key, entry in ev.items():
            if not isinstance(entry, dict) or not str(entry.get("command", "")).startswith("segcorr eval "):
                continue
            if only and not re.search(only, f"{card.stem}/{key}"):
                continue
            rows.append((card.stem, key, entry["command"], entry["metrics"], ev))
    return rows


def ensure_data(argv: list[str], block: dict, workdir: Path) -> list[str]:
    """Point ``--data NAME`` at ``workdir/NAME``, generating it with the card's ``NAME_data`` command if needed."""
    out = list(argv)
    i = out.index("--data") + 1
    name = out[i]
    if "/" in name:
        out[i] = str((ROOT / name).resolve()) if not Path(name).is_absolute() else name
        return out
    target = workdir / name
    if not target.exists():
        recipe = str(block.get(f"{name}_data", "")).split(" (")[0]
        if not recipe.startswith("segcorr synth "):
            raise SystemExit(f"cards_check: no recipe for data {name!r} in the card")
        subprocess.run(
            [sys.executable, "-m", "segcorr", *shlex.split(recipe)[1:]],
            cwd=workdir,
            check=True,
            stdout=subprocess.DEVNULL,
        )
    out[i] = str(target)
    return out


def compare(recorded: dict, measured: dict, tol: float) -> list[str]:
    """Names of the metrics that differ (None vs a number, or by more than tol)."""
    bad = []
    for k, v in recorded.items():
        if k in SKIP:
            continue
        m = measured.get(k)
        if v is None or m is None:
            if (v is None) != (m is None):
                bad.append(f"{k}: {v} -> {m}")
        elif not (math.isclose(float(v), float(m), abs_tol=tol) or (math.isnan(v) and math.isnan(m))):
            bad.append(f"{k}: {v:.6g} -> {m:.6g}")
    return bad


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", help="regex on CARD/ENTRY, e.g. 'v3/cels200_given'")
    ap.add_argument("--workdir", type=Path, default=None, help="where generated data lives (default: a temp dir)")
    ap.add_argument("--tol", type=float, default=1e-6)
    ap.add_argument("--update", action="store_true", help="write the measured metrics into the cards")
    args = ap.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="cards_check_"))
    workdir.mkdir(parents=True, exist_ok=True)
    failed = 0
    for stem, key, command, recorded, block in card_entries(args.only):
        argv = ensure_data(shlex.split(command), block, workdir)
        out = workdir / f"{stem}.{key}.json"
        cmd = [sys.executable, "-m", "segcorr", *argv[1:], "--json", str(out)]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        measured = json.loads(out.read_text())
        measured = measured.get("metrics", measured)
        bad = compare(recorded, measured, args.tol)
        failed += bool(bad)
        print(f"{'CHANGED' if bad else 'same   '} {stem}/{key}" + ("".join(f"\n    {b}" for b in bad)), flush=True)
        if args.update and bad:
            update_card(CARDS / f"{stem}.json", key, {k: measured.get(k) for k in recorded})
    return 1 if failed and not args.update else 0


def update_card(card: Path, key: str, metrics: dict) -> None:
    """Replace one evaluation entry's metrics in a card (written to a temp file, then renamed)."""
    data = json.loads(card.read_text())
    data["evaluation"][key]["metrics"] = metrics
    tmp = card.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    tmp.replace(card)


if __name__ == "__main__":
    raise SystemExit(main())
