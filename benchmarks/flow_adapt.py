"""Unsupervised adaptation of the shipped flow model to a cel style it was not trained on: before/after table.

The user's workflow ("adapt the model to your own footage") on data with ground truth, so the effect can be
measured:

1. ``--train-count`` pairs of ``--style`` on training seeds (1_000_000 + i) are written by `segcorr synth cels`;
   only their frames are kept, one clip folder per pair (no flow, no segments: the fine-tuning sees pictures only).
2. `segcorr train configs/finetune_unsup_frames.yaml data.roots=[FRAMES] ...`: the unsupervised segment-aware
   objective, segments from the flat segmenter computed on the fly, starting from the shipped weights.
3. ``--eval-count`` pairs of the same style on evaluation seeds (0..) with ground truth; `segcorr eval flow`
   with the shipped and the adapted weights, network alone (``--refine none``) and the default path, plus DIS
   medium and zero flow on the same pairs. Also the cel style the model was trained on (does it forget?).

Every step is skipped when its output exists, so a killed run resumes. Prints one markdown table; ``--json``
keeps every metric.

    python benchmarks/flow_adapt.py --work runs/adapt_shaded [--style shaded] [--steps 1500] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

METRICS = ("epe", "epe_noc", "epe_s0_10", "px1", "px3")


def _run(args: list[str]) -> None:
    print("+", " ".join(args), flush=True)
    subprocess.run(args, check=True)


def _segcorr(*args: str) -> list[str]:
    return [sys.executable, "-m", "segcorr", *args]


def _synth(out: Path, count: int, seed: int, style: str, height: int, width: int) -> None:
    if not (out / f"{count - 1:05d}_flow.flo").exists():
        _run(_segcorr("synth", "cels", "--out", str(out), "--count", str(count), "--seed", str(seed), "--style", style,
                      "--height", str(height), "--width", str(width)))  # fmt: skip


def _frames_only(pairs: Path, frames: Path) -> None:
    """One clip folder per pair holding its two frames (0.png, 1.png) and nothing else."""
    if frames.is_dir():
        return
    tmp = frames.with_name(frames.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    for img0 in sorted(pairs.glob("*_img0.png")):
        stem = img0.name[: -len("_img0.png")]
        (tmp / stem).mkdir(parents=True)
        shutil.copyfile(img0, tmp / stem / "0.png")
        shutil.copyfile(pairs / f"{stem}_img1.png", tmp / stem / "1.png")
    tmp.rename(frames)


def _eval(data: Path, method: str, out: Path, *extra: str) -> dict:
    if not out.exists():
        _run(_segcorr("eval", "flow", "--data", str(data), "--method", method, "--json", str(out), *extra))
    return json.loads(out.read_text())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--style", default="shaded", help="the unseen style adapted to")
    ap.add_argument("--trained-style", default="cel", help="the style the shipped model was trained on")
    ap.add_argument("--train-count", type=int, default=400)
    ap.add_argument("--eval-count", type=int, default=40)
    ap.add_argument("--height", type=int, default=384)
    ap.add_argument("--width", type=int, default=512)
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--weights", type=Path, default=None, help="adapted weights to evaluate (skips training)")
    ap.add_argument("--json", type=Path, default=None)
    a = ap.parse_args()
    w = a.work
    w.mkdir(parents=True, exist_ok=True)
    if a.weights is not None and not a.weights.is_file():
        sys.exit(f"error: --weights {a.weights} does not exist")
    adapted = a.weights or w / "adapted.safetensors"
    if not adapted.exists():
        _synth(w / "train_pairs", a.train_count, 1_000_000, a.style, a.height, a.width)
        _frames_only(w / "train_pairs", w / "train_frames")
        _run(_segcorr("train", "configs/finetune_unsup_frames.yaml", f"data.roots=[{w / 'train_frames'}]",
                      f"steps={a.steps}", f"threads={a.threads}", "val.every=250", "val.count=8",
                      f"val.style={a.style}", "progress=false", f"out={w / 'runs'}", "name=adapt",
                      f"export={adapted}"))  # fmt: skip
    rows: dict[str, dict[str, dict]] = {}
    for style in (a.style, a.trained_style):
        data = w / f"eval_{style}"
        _synth(data, a.eval_count, 0, style, a.height, a.width)
        r = rows[style] = {}
        r["zero"] = _eval(data, "zero", w / f"{style}_zero.json")
        r["dis-medium"] = _eval(data, "dis-medium", w / f"{style}_dis.json")
        for tag, method in (("shipped", "aniflowformer-v3"), ("adapted", str(adapted))):
            r[f"{tag}, network alone"] = _eval(data, method, w / f"{style}_{tag}_none.json", "--refine", "none")
            r[f"{tag}, default path"] = _eval(data, method, w / f"{style}_{tag}_fuse.json")
    print(f"\n| style | method | {' | '.join(METRICS)} |\n|---|---|{'---|' * len(METRICS)}")
    for style, r in rows.items():
        for name, m in r.items():
            print(f"| {style} | {name} | " + " | ".join(f"{m[k]:.3f}" for k in METRICS) + " |")
    if a.json:
        a.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
