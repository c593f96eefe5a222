"""Tracking commands: ``segcorr track`` and ``segcorr eval track`` (registered by ``segcorr.cli``)."""

from __future__ import annotations

from pathlib import Path

import typer

from segcorr.cli_common import _need_out
from segcorr.errors import InputError

_MODE_HELP = (
    "Propagation: auto (memory when --memory-weights is given, else reprompt) | reprompt (each object "
    "prompted again from its last mask; needs only the image model; scores highest) | memory (memory attention "
    "over a bounded bank; needs memory weights, e.g. the shipped --memory-weights track_tiny)."
)
_MOTION_HELP = (
    "How objects follow the frames (reprompt mode): regions (full-size DIS flow decided per flat-colour segment, "
    "the object's colours as evidence; default) | flow (the previous mode: the model reprompted along DIS flow at "
    "its working size) | velocity | none."
)


def _parse_prompts(point: list[str], neg_point: list[str], box: list[str]) -> dict:
    """CLI prompts -> {frame: {obj_id: {"points": [...], "labels": [...], "box": [...] | None}}} and the
    query text of each object. Without an ID each --point / --box is a new object."""
    from segcorr.cli_common import _parse_floats

    parsed = []  # (kind, frame, values, id or None)
    for kind, items in (("point", point), ("neg", neg_point), ("box", box)):
        n = 4 if kind == "box" else 2
        for text in items:
            parts = text.split(",")
            if len(parts) not in (n + 1, n + 2):
                what = "F,x0,y0,x1,y1[,ID]" if kind == "box" else ("F,x,y,ID" if kind == "neg" else "F,x,y[,ID]")
                raise InputError(f"--{'neg-point' if kind == 'neg' else kind} expects {what}, got {text!r}")
            nums = _parse_floats(",".join(parts), len(parts), f"--{kind}")
            if nums[0] != int(nums[0]) or nums[0] < 0:
                raise InputError(f"expected a frame index >= 0 first, got {text!r}")
            oid = None
            if len(parts) == n + 2:
                if nums[-1] != int(nums[-1]) or not 1 <= nums[-1] <= 65535:
                    raise InputError(f"expected an object ID in 1..65535 last, got {text!r}")
                oid = int(nums[-1])
            if kind == "neg" and oid is None:
                raise InputError(f"--neg-point needs the ID of the object it corrects (F,x,y,ID), got {text!r}")
            parsed.append((kind, int(nums[0]), nums[1 : n + 1], oid))
    used = {p[3] for p in parsed if p[3] is not None}
    nxt = 1
    frames: dict[int, dict[int, dict]] = {}
    queries: dict[int, str] = {}
    for kind, t, vals, oid in parsed:
        if oid is None:
            while nxt in used:
                nxt += 1
            oid = nxt
            used.add(oid)
        ask = frames.setdefault(t, {}).setdefault(oid, {"points": [], "labels": [], "box": None})
        if kind == "box":
            if ask["box"] is not None:
                raise InputError(f"object {oid} has two boxes on frame {t}")
            ask["box"] = vals
        else:
            ask["points"].append(vals)
            ask["labels"].append(1 if kind == "point" else 0)
        queries.setdefault(oid, f"{kind} on frame {t}")
    return {"frames": frames, "queries": queries}


def register(app: typer.Typer, eval_app: typer.Typer) -> None:
    """Add ``track`` and ``eval track``."""
    app.command()(track)
    eval_app.command("track")(eval_track)


def track(
    source: Path = typer.Argument(..., help="Folder of frames (sorted by name) or a video file."),
    out: Path = typer.Option(..., "--out", help="Output folder."),
    point: list[str] = typer.Option(
        [],
        "--point",
        help="F,x,y[,ID] (repeatable): a click on frame F; "
        "clicks sharing an ID on one frame are one object; no ID: a new one.",
    ),
    neg_point: list[str] = typer.Option([], "--neg-point", help="F,x,y,ID: a click NOT on object ID."),
    box: list[str] = typer.Option([], "--box", help="F,x0,y0,x1,y1[,ID] (repeatable): one object."),
    text: list[str] = typer.Option(
        [],
        "--text",
        help="Concept phrase (repeatable): every instance, detected on frame 0 and every --detect-every frames.",
    ),
    weights: str = typer.Option("sam3_tiny", help="Image model weights (name or .safetensors)."),
    memory_weights: str | None = typer.Option(
        None,
        "--memory-weights",
        help="Tracker memory weights: track_tiny (shipped) or a .safetensors; selects memory mode.",
    ),
    mode: str = typer.Option("auto", help=_MODE_HELP),
    detect_every: int = typer.Option(8, "--detect-every", min=1, help="Text detection period (frames)."),
    refine: str = typer.Option("snap", help="snap masks to flat-colour regions | none."),
    motion: str = typer.Option("regions", help=_MOTION_HELP),
) -> None:
    """Masklets through a video: labels_TTT.png (16-bit, value = object id), masklets.json (YTVIS results)
    and overlay.png (contact sheet)."""
    from segcorr.segment.frames import FrameSource
    from segcorr.segment.predictor import check_phrase
    from segcorr.segment.track_output import TrackWriter
    from segcorr.segment.tracker import Sam3Tracker

    if refine not in ("snap", "none"):
        raise InputError(f"expected --refine snap or none, found {refine!r}")
    _check_motion(motion)
    _need_out(out, folder=True)
    phrases = list(dict.fromkeys(check_phrase(t) for t in text))
    spec = _parse_prompts(point, neg_point, box)
    if not spec["frames"] and not phrases:
        raise InputError("nothing to track: give --point, --box or --text")
    src = FrameSource(source)
    n = len(src)
    _check_prompt_frames(spec["frames"], src.count_known, n, source)
    tracker = Sam3Tracker.from_pretrained(
        weights, memory_weights=memory_weights, refine=refine, mode=mode, detect_every=detect_every, motion=motion
    )
    tracker.reserve_ids(spec["queries"])
    for ph in phrases:
        tracker.add_text(ph)
    cats = {ph: k + 1 for k, ph in enumerate(phrases)}
    queries = {oid: (len(phrases) + k + 1, q) for k, (oid, q) in enumerate(sorted(spec["queries"].items()))}
    writer = TrackWriter(out, n if src.count_known or n > 0 else 0, queries, cats)
    done = _run_tracker(src, tracker, writer, spec["frames"], source)
    typer.echo(f"wrote {done} frames, {len(writer.rles)} masklet(s) to {out} (mode {tracker.mode})")


def _check_motion(motion: str) -> None:
    """Before any model loads: a motion the tracker knows."""
    from segcorr.segment.tracker_config import MOTIONS

    if motion not in MOTIONS:
        raise InputError(f"unknown --motion {motion!r}; expected one of {', '.join(MOTIONS)}")


def _check_prompt_frames(frames: dict, count_known: bool, n: int, source: Path) -> None:
    """Before any model loads: prompts on frames the video has, and no object with only negative clicks."""
    last = max(frames, default=0)
    if count_known and last >= n:
        raise InputError(f"a prompt is on frame {last}, but there are {n} frames (0..{n - 1})", source)
    for t, asks in frames.items():
        for oid, ask in asks.items():
            if not ask["points"] and ask["box"] is None:
                raise InputError(f"object {oid} on frame {t} has only negative clicks")


def _frame_prompts(asks: dict[int, dict]) -> list:
    """One frame's parsed prompts {obj_id: ask} -> ``ObjectPrompt`` list sorted by id."""
    import numpy as np

    from segcorr.segment.tracker import ObjectPrompt

    return [
        ObjectPrompt(
            obj_id=oid,
            points=np.array(a["points"], np.float32) if a["points"] else None,
            labels=np.array(a["labels"], np.int64) if a["points"] else None,
            box=np.array(a["box"], np.float32) if a["box"] is not None else None,
        )
        for oid, a in sorted(asks.items())
    ]


def _run_tracker(src, tracker, writer, frames: dict, source: Path) -> int:
    """Step ``tracker`` over every frame of ``src`` with the prompts of each, adding each result to ``writer``
    (closed once at least one frame is written, even on error). Returns the number of frames."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    last = max(frames, default=0)
    cols = (TextColumn("track"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    done = 0
    try:
        with Progress(*cols, transient=True) as prog:
            task = prog.add_task("track", total=len(src) or None)
            for t, frame in enumerate(src):
                if t == 0:
                    _check_coords(frames, frame.shape[1], frame.shape[0], source)
                r = tracker.step(frame, _frame_prompts(frames.get(t, {})))
                writer.add(frame, r, {i: tr.phrase for i, tr in tracker.tracks.items()})
                done += 1
                prog.advance(task)
        if last >= done:
            raise InputError(f"a prompt is on frame {last}, but the video has {done} frames (0..{done - 1})", source)
        if not src.count_known and 0 < done < len(src):
            typer.echo(f"note: {source} announces {len(src)} frames; {done} could be decoded (cut short?)", err=True)
    finally:
        if done:
            writer.close()
    return done


def eval_track(
    data: Path = typer.Option(..., "--data", help="Clips folder (segcorr synth clips)."),
    method: str = typer.Option(
        "builtin", help="builtin | flow-propagate (AniFlowFormer-T V3 flow) | flow-propagate-dis (DIS medium flow)"
    ),
    prompt: str = typer.Option(
        "mask", help="mask (first-frame masks, semi-supervised VOS) | text (the instances' concept names)"
    ),
    json_out: Path | None = typer.Option(None, "--json", help="Write the metrics JSON here."),
    limit: int | None = typer.Option(None, min=1, help="Evaluate only the first N clips."),
    weights: str = typer.Option("sam3_tiny", help="builtin: image model weights."),
    memory_weights: str | None = typer.Option(
        None, "--memory-weights", help="builtin: tracker memory weights (track_tiny or a .safetensors)."
    ),
    mode: str = typer.Option("auto", help=_MODE_HELP),
    refine: str = typer.Option("snap", help="snap | none (every method)."),
    motion: str = typer.Option("regions", help="builtin: " + _MOTION_HELP),
) -> None:
    """J (region IoU), F (DAVIS boundary F), J&F, space-time IoU, ms per frame, peak RSS."""
    from segcorr.cli_common import _need_dir, _print_metrics
    from segcorr.segment.track_eval import METHODS, evaluate_tracking

    if json_out is not None:
        _need_out(json_out)

    if method not in METHODS:
        raise InputError(f"unknown tracking method {method!r}; expected one of {', '.join(METHODS)}")
    if refine not in ("snap", "none"):
        raise InputError(f"expected --refine snap or none, found {refine!r}")
    _check_motion(motion)
    kw = {"refine": refine}
    if method == "builtin":
        kw.update(weights=weights, memory_weights=memory_weights, mode=mode, motion=motion)
    result = evaluate_tracking(_need_dir(data), method, prompt=prompt, limit=limit, **kw)
    _print_metrics(result, json_out)


def _check_coords(frames: dict, w: int, h: int, source: Path) -> None:
    for t, asks in frames.items():
        for _oid, a in asks.items():
            for x, y in a["points"]:
                if not (0 <= x <= w and 0 <= y <= h):
                    raise InputError(f"point {x:g},{y:g} (frame {t}) lies outside the {w}x{h} frames", source)
            if a["box"] is not None:
                x0, y0, x1, y1 = a["box"]
                if x1 <= x0 or y1 <= y0:
                    raise InputError(f"expected a box with x1 > x0 and y1 > y0, found {x0:g},{y0:g},{x1:g},{y1:g}")
                if min(x0, y0) < 0 or x1 > w or y1 > h:
                    raise InputError(
                        f"box {x0:g},{y0:g},{x1:g},{y1:g} (frame {t}) reaches outside the {w}x{h} frames", source
                    )
