"""The `segcorr` command line: one typer app; each command is a thin call into the package.

Bad input never shows a traceback: it becomes one line on stderr and exit code 2 (see `main`).
Heavy imports happen inside the commands so `segcorr --help` stays fast.
"""

from __future__ import annotations

import json
import os
import sys
from enum import Enum
from pathlib import Path

import typer

from segcorr.errors import InputError

app = typer.Typer(
    name="segcorr",
    help="Segment-aware vision for anime, manga and photos.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
eval_app = typer.Typer(
    help="Evaluate a method on a data folder; prints a table, --json writes the metrics.", no_args_is_help=True
)
synth_app = typer.Typer(help="Generate synthetic data with exact ground truth.", no_args_is_help=True)
app.add_typer(eval_app, name="eval")
app.add_typer(synth_app, name="synth")


class CelStyle(str, Enum):
    cel = "cel"
    textured = "textured"
    mixed = "mixed"
    shaded = "shaded"


class IsolateMasks(str, Enum):
    amodal = "amodal"
    flat = "flat"


class MangaStyle(str, Enum):
    ground = "ground"
    freeform = "freeform"


_ORDER_HELP = (
    "Front-to-back order from: adr (the Z-buffer key alone) | evidence (the page's occlusion evidence alone) | "
    "both (evidence where strong, the key elsewhere; the default)."
)


def _need_file(path: Path, what: str = "file") -> Path:
    if not path.exists():
        raise InputError(f"{what} not found", path)
    if not path.is_file():
        raise InputError(f"expected a {what}, found a directory", path)
    return path


def _need_dir(path: Path) -> Path:
    if not path.exists():
        raise InputError("directory not found", path)
    if not path.is_dir():
        raise InputError("expected a directory, found a file", path)
    return path


def _parse_floats(text: str, n: int, what: str) -> list[float]:
    parts = text.split(",")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        values = []
    if len(values) != n:
        raise InputError(f"{what} must be {n} comma-separated numbers, got {text!r}")
    return values


_REFINE_HELP = (
    "Learned methods: segment-level refinement: fuse (per segment, the best by photometric error of "
    "robust affine fits of the network's and DIS medium's flow and the network's own flow, then a "
    "propagation pass offering each segment its neighbours' and the dominant motion) | affine "
    "(fits of the network's flow) | none."
)


def _work_side(value: int | None) -> int | str | None:
    """CLI --work-side: None -> "auto" (model card), 0 -> None (full resolution), n -> n."""
    return "auto" if value is None else (value or None)


def _print_metrics(result: dict, json_out: Path | None) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{result.get('method')} on {result.get('data')} ({result.get('count')} items)")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in result.items():
        if key in ("method", "data"):
            continue
        table.add_row(key, "—" if value is None else (f"{value:.4f}" if isinstance(value, float) else str(value)))
    Console().print(table)
    if json_out is not None:
        from segcorr.io.atomic import atomic_write_text

        atomic_write_text(json_out, json.dumps(result, indent=2) + "\n")


# ----------------------------------------------------------------------------------------------- demo
@app.command()
def demo(
    out: Path = typer.Option(Path("demo_out"), "--out", help="Output folder for report.html and pictures."),
    quick: bool = typer.Option(False, help="Fewer samples (used by the tests)."),
) -> None:
    """Run every capability on built-in samples and write OUT/report.html."""
    from segcorr.demo import run_demo

    path = run_demo(out, quick=quick)
    typer.echo(f"report: {path}")


# ---------------------------------------------------------------------------------------------- synth
@synth_app.command("cels")
def synth_cels(
    out: Path = typer.Option(..., "--out"),
    count: int = typer.Option(8, min=1),
    seed: int = typer.Option(0, min=0),
    height: int = typer.Option(384, min=64),
    width: int = typer.Option(512, min=64),
    style: CelStyle = typer.Option(CelStyle.cel, help="Scene style."),
) -> None:
    """Cel-animation pairs with exact flow, occlusion, segments (pairs layout)."""
    from segcorr.data.synth import write_cels

    typer.echo(f"wrote {write_cels(out, count, seed=seed, height=height, width=width, style=style.value)}")


@synth_app.command("toon")
def synth_toon(
    out: Path = typer.Option(..., "--out"),
    count: int = typer.Option(40, min=1),
    seed: int = typer.Option(0, min=0),
    height: int = typer.Option(384, min=64),
    width: int = typer.Option(512, min=64),
) -> None:
    """Flat-colour outlined shapes from a second, independent generator (NNNNN_img.png + NNNNN_seg.png), to
    evaluate segmenters on cel-like images the synthetic world never drew."""
    from segcorr.data.toon_shapes import write_toon_images

    typer.echo(f"wrote {write_toon_images(out, count, seed=seed, height=height, width=width)}")


@synth_app.command("clips")
def synth_clips(
    out: Path = typer.Option(..., "--out"),
    count: int = typer.Option(2, min=1),
    seed: int = typer.Option(0, min=0),
    frames: int = typer.Option(8, min=2),
    height: int = typer.Option(256, min=64),
    width: int = typer.Option(384, min=64),
) -> None:
    """Clips of T frames with per-instance masklets."""
    from segcorr.data.synth import write_clips

    typer.echo(f"wrote {write_clips(out, count, seed=seed, num_frames=frames, height=height, width=width)}")


@synth_app.command("manga")
def synth_manga(
    out: Path = typer.Option(..., "--out"),
    count: int = typer.Option(4, min=1),
    seed: int = typer.Option(0, min=0),
    style: MangaStyle = typer.Option(
        MangaStyle.ground, help="ground (figures on a ground plane) | freeform (depth not implied by height)"
    ),
) -> None:
    """Grayscale manga pages with panels, screentones, characters and visible/amodal masks."""
    from segcorr.data.synth.manga import write_manga

    typer.echo(f"wrote {write_manga(out, count, seed=seed, style=style.value)}")


# ----------------------------------------------------------------------------------------------- flow
@app.command()
def flow(
    img0: Path = typer.Argument(..., help="First frame."),
    img1: Path = typer.Argument(..., help="Second frame."),
    out: Path = typer.Option(..., "--out", help="Output .flo file."),
    viz: Path | None = typer.Option(None, "--viz", help="Optional flow colour PNG."),
    method: str = typer.Option(
        "aniflowformer-v3",
        help="aniflowformer-v3 (shipped, segment-guided) | "
        "aniflowformer | zero | farneback | dis-ultrafast | dis-fast | dis-medium | "
        "a .safetensors path.",
    ),
    masks: Path | None = typer.Option(
        None, help="Label maps for learned methods: a 16-bit PNG for IMG0 (default: the flat segmenter on both frames)."
    ),
    masks1: Path | None = typer.Option(None, help="Label map PNG for IMG1 (default: flat segmenter)."),
    work_side: int | None = typer.Option(
        None,
        "--work-side",
        min=0,
        help="Learned methods: run frames larger than "
        "this (longer side, px) downscaled; default: the training size from the "
        "model card; 0: full resolution.",
    ),
    refine: str = typer.Option("fuse", help=_REFINE_HELP),
) -> None:
    """Optical flow from IMG0 to IMG1, written as Middlebury .flo."""
    from segcorr.flow.methods import get_method
    from segcorr.io.flo import write_flo
    from segcorr.io.image import read_image, write_image

    a = read_image(_need_file(img0, "image"))
    b = read_image(_need_file(img1, "image"))
    if a.shape != b.shape:
        raise InputError(
            f"size mismatch: {img0.name} is {a.shape[1]}x{a.shape[0]}, {img1.name} is {b.shape[1]}x{b.shape[0]}", img1
        )
    from segcorr.io.labelmap import read_labelmap

    segs = []
    for path in (masks, masks1):
        seg = None if path is None else read_labelmap(_need_file(path, "label map"))
        if seg is not None and seg.shape != a.shape[:2]:
            raise InputError(f"label map is {seg.shape[1]}x{seg.shape[0]}, image is {a.shape[1]}x{a.shape[0]}", path)
        segs.append(seg)
    if out.suffix.lower() != ".flo":
        raise InputError("expected a .flo output path", out)
    fn = get_method(method, work_side=_work_side(work_side), refine=refine)
    f = fn(a, b, {"seg0": segs[0], "seg1": segs[1]})
    write_flo(out, f)
    if viz is not None:
        from segcorr.viz.flow_color import flow_to_color

        write_image(viz, flow_to_color(f))
    typer.echo(f"wrote {out}" + (f" and {viz}" if viz else ""))


# -------------------------------------------------------------------------------------------- isolate
@app.command()
def isolate(
    page: Path = typer.Argument(..., help="Manga page image."),
    boxes: Path = typer.Option(..., "--boxes", help="JSON with characters (body_box, face_box) and panels."),
    out: Path = typer.Option(..., "--out", help="Output folder."),
    segmenter: str = typer.Option("flat", help="flat | builtin | sam2 | labelmap"),
    checkpoint: Path | None = typer.Option(None, help="SAM 2.1 checkpoint (segmenter sam2)."),
    labels: Path | None = typer.Option(None, help="Label map PNG or folder (segmenter labelmap)."),
    depth_model: Path | None = typer.Option(None, help="MiDaS-small ONNX file for the depth term."),
    cache: Path | None = typer.Option(None, help="RLE mask cache JSON."),
    memory_budget_mb: str | None = typer.Option(
        None,
        "--memory-budget-mb",
        help="MB, or auto (the device's free memory): over it, small characters get box masks, then only the "
        "two most prominent are segmented.",
    ),
    order: str | None = typer.Option(None, "--order", help=_ORDER_HELP),
) -> None:
    """Per-character masks ordered front-to-back (hierarchical Z-buffer), occluders subtracted."""
    from segcorr.io.image import read_gray
    from segcorr.layering import IsolationConfig, isolate_cli
    from segcorr.layering.budget import parse_budget
    from segcorr.layering.isolate import config_for_order

    img = read_gray(_need_file(page, "image"))
    try:
        spec = json.loads(_need_file(boxes, "JSON file").read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise InputError(f"not valid JSON ({e})", boxes) from None
    if not isinstance(spec, dict) or not isinstance(spec.get("characters"), list):
        raise InputError('expected {"characters": [...], "panels": [...]}', boxes)
    seg_kw = {}
    if checkpoint is not None:
        seg_kw["checkpoint"] = _need_file(checkpoint, "checkpoint")
    if labels is not None:
        seg_kw["source"] = labels
    cfg = config_for_order(order, IsolationConfig(memory_budget_mb=parse_budget(memory_budget_mb)))
    result = isolate_cli(
        img, spec, segmenter, seg_kw, out, depth_model=depth_model, cache_path=cache, boxes_path=boxes, config=cfg
    )
    typer.echo(f"wrote {result}")


# -------------------------------------------------------------------------------------------- segment
@app.command()
def segment(
    image: Path = typer.Argument(..., help="Image to segment."),
    out: Path = typer.Option(..., "--out", help="Output folder."),
    point: list[str] = typer.Option([], "--point", help="x,y (repeatable): clicks on one object."),
    neg_point: list[str] = typer.Option([], "--neg-point", help="x,y (repeatable): clicks NOT on it."),
    box: list[str] = typer.Option([], "--box", help="x0,y0,x1,y1 (repeatable): one object per box."),
    text: str | None = typer.Option(None, "--text", help="Concept phrase: every instance of it."),
    segmenter: str = typer.Option("builtin", help="builtin | flat | sam2 | labelmap"),
    weights: str | None = typer.Option(None, help="builtin: weights name or .safetensors path."),
    refine: str = typer.Option("snap", help="builtin: snap masks to flat-colour regions | none."),
    checkpoint: Path | None = typer.Option(None, help="SAM 2.1 checkpoint (segmenter sam2)."),
) -> None:
    """Masks from points, boxes or a text phrase (or the full label map when no prompt is given).

    Writes mask_NN.png (0/255) per mask, overlay.png and masks.json ({"presence", "masks": [{"file", "score",
    "iou_pred", "box", "prompt"}]}); without prompts labels.png (16-bit) and overlay.png."""
    import numpy as np

    from segcorr.io.image import read_image, write_image
    from segcorr.io.labelmap import write_labelmap
    from segcorr.segment import NAMES, build
    from segcorr.segment.base import Prompts
    from segcorr.segment.predictor import check_phrase
    from segcorr.viz.overlay import overlay_masks

    if segmenter not in NAMES:
        raise InputError(f"unknown segmenter {segmenter!r}; expected one of {', '.join(NAMES)}")
    if refine not in ("snap", "none"):
        raise InputError(f"expected --refine snap or none, found {refine!r}")
    img = read_image(_need_file(image, "image"))
    phrase = check_phrase(text) if text is not None else None
    pts, negs, bxs = _segment_prompts(image, img.shape[:2], point, neg_point, box)
    kw: dict = {}
    if checkpoint is not None:
        kw["checkpoint"] = _need_file(checkpoint, "checkpoint")
    if segmenter == "builtin":
        kw["refine"] = refine
        if weights is not None:
            kw["weights"] = weights
    seg = build(segmenter, **kw)
    if not pts and not bxs and phrase is None:
        labels = seg.segment_all(img)
        write_labelmap(out / "labels.png", labels)
        write_image(out / "overlay.png", overlay_masks(img, labels))
        typer.echo(f"wrote {out / 'labels.png'} ({int(labels.max())} segments)")
        return
    all_pts = pts + negs
    prompts = Prompts(
        points=np.array(all_pts, np.float32) if all_pts else None,
        point_labels=np.array([1] * len(pts) + [0] * len(negs), np.int64) if all_pts else None,
        boxes=np.array(bxs, np.float32) if bxs else None,
        text=[phrase] if phrase else [],
    )
    result = seg.segment(img, prompts)
    _write_segment_output(out, img, result, lambda pid: _describe_prompt(pid, pts, negs, bxs))


def _segment_prompts(
    image: Path, hw: tuple[int, int], point: list[str], neg_point: list[str], box: list[str]
) -> tuple[list, list, list]:
    """Parse and check `segcorr segment`'s clicks and boxes against the image size: (points, negatives, boxes)."""
    h, w = hw
    pts = [_parse_floats(p, 2, "--point") for p in point]
    negs = [_parse_floats(p, 2, "--neg-point") for p in neg_point]
    bxs = [_parse_floats(b, 4, "--box") for b in box]
    for x, y in pts + negs:
        if not (0 <= x <= w and 0 <= y <= h):
            raise InputError(f"point {x:g},{y:g} lies outside the {w}x{h} image", image)
    for x0, y0, x1, y1 in bxs:
        if x1 <= x0 or y1 <= y0:
            raise InputError(f"expected a box with x1 > x0 and y1 > y0, found {x0:g},{y0:g},{x1:g},{y1:g}")
        if min(x0, y0) < 0 or x1 > w or y1 > h:
            raise InputError(f"box {x0:g},{y0:g},{x1:g},{y1:g} reaches outside the {w}x{h} image", image)
    if negs and not pts and not bxs:
        raise InputError("--neg-point needs a --point or --box on the object")
    return pts, negs, bxs


def _write_segment_output(out: Path, img, result, describe) -> None:
    """mask_NN.png per mask, overlay.png and masks.json ({"presence", "masks": [...]}); ``describe(k)`` names the
    k-th prompted answer (text answers are named by their phrase)."""
    import numpy as np

    from segcorr.io.atomic import atomic_write_text
    from segcorr.io.image import write_image
    from segcorr.viz.overlay import overlay_masks

    records = []
    n = len(result)
    for i, m in enumerate(result.masks):
        name = f"mask_{i:02d}.png"
        write_image(out / name, (m.astype(np.uint8) * 255))
        iou = None if result.iou_pred is None or not np.isfinite(result.iou_pred[i]) else float(result.iou_pred[i])
        if result.boxes is not None:
            bx = [float(v) for v in result.boxes[i]]
        else:
            ys, xs = np.nonzero(m)
            bx = [float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1)] if len(xs) else None
        pid = result.ids[i] if result.ids is not None else i
        records.append(
            {
                "file": name,
                "score": float(result.scores[i]),
                "iou_pred": iou,
                "box": bx,
                "prompt": pid if isinstance(pid, str) else describe(int(pid)),
            }
        )
    write_image(out / "overlay.png", overlay_masks(img, result.masks) if n else img)
    presence = None if result.presence is None else float(result.presence)
    atomic_write_text(out / "masks.json", json.dumps({"presence": presence, "masks": records}, indent=2) + "\n")
    extra = f" (presence {presence:.2f})" if presence is not None else ""
    typer.echo(f"wrote {n} mask(s) to {out}{extra}")


def _describe_prompt(k: int, pts: list, negs: list, bxs: list) -> str:
    """The prompt of the k-th prompted answer: boxes come first (points join a single box), then the points."""
    if k < len(bxs):
        desc = "box " + ",".join(f"{v:g}" for v in bxs[k])
        return desc + (f" + {len(pts) + len(negs)} point(s)" if pts or negs else "")
    return (
        "points "
        + " ".join(f"{x:g},{y:g}" for x, y in pts)
        + (" not " + " ".join(f"{x:g},{y:g}" for x, y in negs) if negs else "")
    )


# ---------------------------------------------------------------------------------- precompute-masks
def _precompute():
    from segcorr.segment import precompute  # its defaults are shared with scripts/precompute_sam_masks.py

    return precompute


@app.command("precompute-masks")
def precompute_masks(
    input_dir: Path = typer.Argument(..., help="Folder of images (searched recursively)."),
    out: Path = typer.Option(..., "--out", help="Output folder of 16-bit label-map PNGs."),
    segmenter: str = typer.Option(_precompute().DEFAULT_SEGMENTER, help=_precompute().SEGMENTER_HELP),
    checkpoint: Path | None = typer.Option(None, help="SAM 2.1 checkpoint."),
    labels: Path | None = typer.Option(
        None, help="Label maps to read (segmenter labelmap): a PNG, a folder of PNGs named by image, an RLE cache."
    ),
) -> None:
    """Label maps for every image; resumes after a kill; splits work across torchrun ranks."""
    run = _precompute().precompute_masks
    kw = {"checkpoint": _need_file(checkpoint, "checkpoint")} if checkpoint is not None else {}
    if labels is not None:
        kw["source"] = labels
    n = run(_need_dir(input_dir), out, segmenter, **kw)
    typer.echo(f"done: {n}")


# ----------------------------------------------------------------------------------------------- eval
@eval_app.command("flow")
def eval_flow(
    data: Path = typer.Option(..., "--data", help="Pairs folder or AnimeRun root."),
    method: str = typer.Option(
        "dis-medium", help="zero | farneback | dis-ultrafast | dis-fast | dis-medium | aniflowformer-v3 | aniflowformer"
    ),
    json_out: Path | None = typer.Option(None, "--json", help="Write the metrics JSON here."),
    limit: int | None = typer.Option(None, min=1, help="Evaluate only the first N pairs."),
    masks: str = typer.Option(
        "given",
        help="Label maps for learned methods: given (the data's own "
        "segment maps when present) | segmenter (flat, always)",
    ),
    work_side: int | None = typer.Option(
        None,
        "--work-side",
        min=0,
        help="Learned methods: run frames larger than "
        "this (longer side, px) downscaled; default: the training size from the "
        "model card; 0: full resolution.",
    ),
    refine: str = typer.Option("fuse", help=_REFINE_HELP),
    sheet: Path | None = typer.Option(
        None, "--sheet", help="Pairs without ground truth: write a labelled flow-colour contact sheet PNG here."
    ),
    polish_iters: int | None = typer.Option(
        None,
        "--polish-iters",
        min=0,
        help="Learned methods: Gauss-Newton steps per level of the refinement's sub-pixel polish of each segment's "
        "motion by image alignment (0: off; default: the refinement's).",
    ),
) -> None:
    """EPE (all / occluded / non-occluded / line / flat), speed bins and outlier rates. On a pairs folder without
    _flow.flo files: warp error (all pixels, and pixels passing a forward-backward check) and the share kept."""
    from segcorr.data.flowsets import is_frames_only, open_flow_dataset, open_frame_pairs
    from segcorr.flow.methods import get_method

    fn = get_method(method, masks=masks, work_side=_work_side(work_side), refine=refine, polish_iters=polish_iters)
    if is_frames_only(_need_dir(data)):
        from segcorr.flow.evaluate_nogt import evaluate_without_gt

        ds = open_frame_pairs(data)
        result = evaluate_without_gt(ds, fn, method_name=method, data_name=str(data), limit=limit, sheet=sheet)
    else:
        from segcorr.flow.evaluate import evaluate_flow

        if sheet is not None:
            raise InputError("--sheet is for pairs without ground truth (no _flow.flo files)", data)
        ds = open_flow_dataset(data)
        result = evaluate_flow(ds, fn, method_name=method, data_name=str(data), limit=limit)
    _print_metrics(result, json_out)


@eval_app.command("isolate")
def eval_isolate(
    data: Path = typer.Option(..., "--data", help="Manga pages folder."),
    masks: IsolateMasks = typer.Option(IsolateMasks.amodal, help="amodal (GT masks) or flat (classical)."),
    json_out: Path | None = typer.Option(None, "--json", help="Write the metrics JSON here."),
    limit: int | None = typer.Option(None, min=1, help="Evaluate only the first N pages."),
    order: str | None = typer.Option(None, "--order", help=_ORDER_HELP),
) -> None:
    """Ordering accuracy (Z-buffer vs baselines), IoU, bleeding, ms per page."""
    from segcorr.layering.evaluate import evaluate_isolation
    from segcorr.layering.isolate import config_for_order

    cfg = config_for_order(order)
    result = evaluate_isolation(_need_dir(data), masks=masks.value, limit=limit, config=cfg)
    _print_metrics(result, json_out)


# ---------------------------------------------------------------------------------------------- train
@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def train(ctx: typer.Context, config: Path = typer.Argument(..., help="Training config YAML.")) -> None:
    """Train a model: `segcorr train CONFIG.yaml key=value ...` (DDP under torchrun)."""
    from segcorr.train import train as run

    run_dir = run(_need_file(config, "config"), list(ctx.args))
    typer.echo(f"run: {run_dir}")


# ------------------------------------------------------------------- commands kept beside their system
def _register_system_commands() -> None:
    """Commands of the matching and agent systems live in their own modules (`cli_match.py`,
    `cli_agent.py`), each with `register(app, eval_app)`; a module not written yet is skipped."""
    import importlib

    for mod in ("segcorr.cli_match", "segcorr.cli_agent", "segcorr.cli_track", "segcorr.segment.evaluate_cli"):
        try:
            m = importlib.import_module(mod)
        except ModuleNotFoundError as e:
            if e.name != mod:
                raise
            continue
        m.register(app, eval_app)


_register_system_commands()


# ----------------------------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> None:
    """Entry point: runs the app and maps errors to exit codes (2 = bad input; usage errors are 2 too)."""
    from typer import exceptions as typer_exc
    from typer._click import exceptions as click_exc  # typer's own click

    debug = os.environ.get("SEGCORR_DEBUG") == "1"
    try:
        rv = app(args=argv, prog_name="segcorr", standalone_mode=False)
        if isinstance(rv, int) and rv:
            sys.exit(rv)
    except click_exc.NoArgsIsHelpError as e:
        e.show()
        sys.exit(e.exit_code)
    except click_exc.UsageError as e:  # a bad option value or a missing argument: one line, exit 2
        where = e.ctx.command_path if e.ctx is not None else "segcorr"
        msg = " ".join(e.format_message().split())
        print(f"{where}: error: {msg} (see '{where} --help')", file=sys.stderr)
        sys.exit(2)
    except typer_exc.Abort:
        print("segcorr: aborted", file=sys.stderr)
        sys.exit(1)
    except InputError as e:
        if debug:
            raise
        print(f"segcorr: error: {e}", file=sys.stderr)
        sys.exit(2)
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError) as e:
        if debug:
            raise
        print(f"segcorr: error: {e.filename}: {e.strerror}", file=sys.stderr)
        sys.exit(2)
    except Exception as e:  # a bug, not bad input: still one line; SEGCORR_DEBUG=1 shows the traceback
        if debug:
            raise
        print(
            f"segcorr: internal error: {type(e).__name__}: {e} (set SEGCORR_DEBUG=1 for a traceback)", file=sys.stderr
        )
        sys.exit(1)


if __name__ == "__main__":
    main()
