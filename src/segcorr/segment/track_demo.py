"""The tracking section of `segcorr demo`: one generated clip in which an object leaves the frame and comes back,
tracked from first-frame masks by the builtin tracker (its default path and its memory mode with the shipped
``track_tiny``) and by flow-propagate, frames of each beside the truth and the protocol's scores
(``segcorr.segment.track_eval``).

The clip is written to ``OUT/track_samples`` in the clips layout, so ``segcorr track`` and ``segcorr eval track
--data`` can be tried on it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

# (row label, method name, make_method options)
METHODS = (
    ("builtin", "builtin", {}),
    ("builtin, memory mode", "builtin", {"memory_weights": "track_tiny"}),
    ("flow-propagate", "flow-propagate", {}),
)
TRACK_SEED = 0  # evaluation seed of the clips (shown, never tuned on)
SHOWN_FRAMES = 5


def _scores(label: str, name: str, options: dict, clip, progress=None, task=None) -> tuple[dict, np.ndarray]:
    """One method over the clip -> (table row, predicted label maps uint16 [T, H, W])."""
    from segcorr.segment.track_eval import make_method, reentries, score_clip, summarise, track_clip

    pred, gt, spent, phrases = track_clip(make_method(name, **options), clip)
    scores = score_clip(pred, gt, clip, "mask", phrases)
    back, kept = reentries(pred, gt, sorted(clip.first_frames()))
    row = {
        "method": label,
        **summarise(scores),
        "re-entries kept": f"{kept} of {back}",
        "ms_per_frame": round(1000.0 * spent / clip.num_frames, 1),
    }
    if task is not None:
        progress.advance(task)
    return row, pred


def _try_it(root: Path, clip) -> str:
    """A command line, to run in the demo's folder, that tracks the first object of frame 0 from one click."""
    from segcorr.segment.evaluate import innermost_point

    obj = min(k for k, t in clip.first_frames().items() if t == 0)
    x, y = (int(v) for v in innermost_point(clip.instance_map(0, clip.frame(0).shape[:2]) == obj))
    return (
        f"Try it in this folder: `segcorr track {root.name}/{clip.dir.name} --point 0,{x},{y} --out tracked` "
        f"follows object {obj} from a click on frame 0 (labels_TTT.png, masklets.json and overlay.png in tracked/)."
    )


def demo_tracking(report, out: Path, quick: bool = False, progress=None) -> list[dict]:
    """Add the section to ``report`` (a ``segcorr.viz.report.Report``); the clip goes to ``out/track_samples``.
    ``quick``: 8 frames at 256x192 instead of 24 at 512x384. Returns the table rows."""
    from segcorr.data.synth.clips import write_clips
    from segcorr.segment.track_eval import ClipReader, clip_dirs
    from segcorr.segment.track_output import sheet_frames, sheet_tile
    from segcorr.viz.panel import page_panel

    root = Path(out) / "track_samples"
    frames, (h, w) = (8, (192, 256)) if quick else (24, (384, 512))
    write_clips(root, 1, seed=TRACK_SEED, num_frames=frames, height=h, width=w, progress=False, exits=1)
    clip = ClipReader(clip_dirs(root)[0])
    task = None if progress is None else progress.add_task("tracking", total=len(METHODS))
    results = [_scores(*m, clip, progress, task) for m in METHODS]
    shown = sheet_frames(clip.num_frames, SHOWN_FRAMES)
    tiles, titles = [], []
    for name, labels in [("truth", None)] + [(r["method"], pred) for r, pred in results]:
        for t in shown:
            img = clip.frame(t)
            lab = clip.instance_map(t, img.shape[:2]) if labels is None else labels[t]
            tiles.append(sheet_tile(img, lab))
            titles.append(f"{name}, frame {t}")
    report.section(
        "Video tracking (builtin tracker, first-frame masks)",
        "A generated cel clip in which one character leaves the frame and comes back. Each object is given as "
        "its mask on the frame where it first appears (the semi-supervised VOS protocol of `segcorr eval "
        "track`); the trackers follow it with the same id (the number on each object). The builtin tracker's default "
        "path propagates masks over flat-colour regions; its memory mode (`--memory-weights track_tiny`) answers "
        "from a SAM 2-style memory of the last frames. flow-propagate warps the first mask along AniFlowFormer-T's "
        "flow, the classical rival. j: region IoU, f: boundary F, "
        "st_iou: space-time IoU, over the frames after each prompt. One clip only: the figures on 24 "
        f"evaluation clips are in docs/tracking.md. The clip is in {root.name}/ of this folder.",
    )
    report.image(
        "tracking",
        page_panel(tiles, titles, cols=len(shown)),
        "Rows: the truth, the builtin tracker, its memory mode, flow-propagate; colours and numbers are object ids.",
    )
    report.text(_try_it(root, clip))
    rows = [r for r, _ in results]
    report.table(rows, caption="Scores on this clip (ms_per_frame: the tracker alone, on this machine)")
    return rows
