"""Memory and speed of ``Sam3Tracker`` over long synthetic clips: is the tracker's memory bounded?

    python benchmarks/track_memory.py --compare 100,2000 [--mode reprompt|memory] [--weights W] [--refine none]
                                      [--height 256 --width 384] [--objects 0] [--threads 2] [--json OUT.json]
    python benchmarks/track_memory.py --frames 2000 ...      (one run in this process)

Frames are generated on the fly, never written: one synthetic scene (evaluation seed ``--seed``, default 0) is
rendered for ``--cycle`` frames (48) once, then played forwards and backwards (ping-pong, so objects keep moving
and stay in view) for as many frames as asked. The cycle is held in memory in every run alike (about 14 MB at
256x384). Every instance visible on frame 0 (or the ``--objects`` largest) is prompted with its true mask there.

``--compare A,B`` runs each length in a fresh subprocess (so one run's peak does not hide in the other's) and
reports, per run: ``peak_rss_mb`` (``ru_maxrss``: process peak resident memory, model and frame cycle included),
``rss_at_100_mb`` and ``rss_end_mb`` (current RSS from /proc after frame 100 and at the end: growth between them
is what an unbounded state would show), ``ms_per_frame`` (after the first frame), the tracker's state size
(memory entries per object, at most ``num_maskmem``), and the ratio of the peaks. ``--mode memory`` uses an
untrained ``track_tiny`` memory unless ``--memory-weights`` is given (the cost does not depend on the weights).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _rss_mb() -> float:
    import os

    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def _cycle(seed: int, n: int, height: int, width: int):
    """n rendered frames of one scene: (images uint8 [H, W, 3], instance maps int32 [H, W])."""
    import numpy as np

    from segcorr.data.synth.clips import CLIP_STEP
    from segcorr.data.synth.render import render
    from segcorr.data.synth.world import build_scene

    scene = build_scene(np.random.default_rng(seed), height, width, "cel")
    frames = [render(scene, t * CLIP_STEP, scene.surface_matrices(t * CLIP_STEP)) for t in range(n)]
    return [f.image for f in frames], [f.inst for f in frames]


def run(args) -> dict:
    import numpy as np
    import torch

    from segcorr.segment.predictor import Sam3Predictor
    from segcorr.segment.tracker import ObjectPrompt, Sam3Tracker, TrackerConfig, load_memory

    torch.set_num_threads(args.threads)
    images, insts = _cycle(args.seed, args.cycle, args.height, args.width)
    predictor = Sam3Predictor.from_pretrained(args.weights, refine=args.refine)
    memory = None
    if args.mode == "memory":
        if args.memory_weights:
            memory = load_memory(args.memory_weights)
        else:
            from segcorr.segment.memory import build_memory

            memory = build_memory("track_tiny", d_model=predictor.model.config.d_model)
    tracker = Sam3Tracker(predictor, TrackerConfig(mode=args.mode), memory=memory)
    ids, areas = np.unique(insts[0], return_counts=True)
    objs = [int(i) for i, _ in sorted(zip(ids, areas), key=lambda x: -x[1]) if i > 0]
    if args.objects:
        objs = objs[: args.objects]
    period = 2 * args.cycle - 2
    rss100 = None
    t_first = t0 = time.perf_counter()
    for t in range(args.frames):
        k = t % period
        k = k if k < args.cycle else period - k
        prompts = [ObjectPrompt(obj_id=i, mask=insts[0] == i) for i in objs] if t == 0 else []
        tracker.step(images[k], prompts)
        if t == 0:
            t0 = time.perf_counter()
            t_first = t0 - t_first
        if t == 99:
            rss100 = _rss_mb()
    spent = time.perf_counter() - t0
    entries = max((len(tr.memories()) for tr in tracker.tracks.values()), default=0)
    return {
        "frames": args.frames,
        "mode": tracker.mode,
        "objects": len(objs),
        "height": args.height,
        "width": args.width,
        "refine": args.refine,
        "threads": args.threads,
        "peak_rss_mb": _peak_rss_mb(),
        "rss_at_100_mb": rss100,
        "rss_end_mb": _rss_mb(),
        "ms_first_frame": 1000 * t_first,
        "ms_per_frame": 1000 * spent / max(args.frames - 1, 1),
        "memory_entries_per_object": entries,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=100)
    ap.add_argument("--compare", default=None, help="A,B: run both lengths in subprocesses and compare peaks")
    ap.add_argument("--mode", default="reprompt", choices=("reprompt", "memory"))
    ap.add_argument("--weights", default="sam3_tiny")
    ap.add_argument("--memory-weights", default=None)
    ap.add_argument("--refine", default="none", choices=("snap", "none"))
    ap.add_argument("--height", type=int, default=256)
    ap.add_argument("--width", type=int, default=384)
    ap.add_argument("--cycle", type=int, default=48)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--objects", type=int, default=0, help="prompt only the N largest objects (0: all)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    if args.compare:
        runs = []
        for n in (int(x) for x in args.compare.split(",")):
            argv = [a for a in sys.argv[1:]]
            i = argv.index("--compare")
            del argv[i : i + 2]
            if "--json" in argv:
                j = argv.index("--json")
                del argv[j : j + 2]
            out = subprocess.run(
                [sys.executable, __file__, *argv, "--frames", str(n)], check=True, capture_output=True, text=True
            ).stdout
            runs.append(json.loads(out.strip().splitlines()[-1]))
            print(json.dumps(runs[-1]), flush=True)
        result = {"runs": runs, "peak_ratio_last_to_first": runs[-1]["peak_rss_mb"] / runs[0]["peak_rss_mb"]}
    else:
        result = run(args)
    text = json.dumps(result)
    print(text)
    if args.json:
        with open(args.json, "w") as f:
            f.write(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
