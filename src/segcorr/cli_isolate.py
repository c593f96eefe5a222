"""`segcorr isolate`, `segcorr eval isolate` and `segcorr precompute-masks`: characters of a manga page
ordered by the Z-buffer, their evaluation, and label maps of frames for later runs."""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path

import typer

from segcorr.cli_common import _need_dir, _need_file, _need_out, _print_metrics
from segcorr.errors import InputError


class IsolateMasks(str, Enum):
    amodal = "amodal"
    flat = "flat"


_ORDER_HELP = (
    "Front-to-back order from: adr (the Z-buffer key alone) | evidence (the page's occlusion evidence alone) | "
    "both (evidence where strong, the key elsewhere; the default)."
)


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

    _need_out(out, folder=True)
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


def _precompute():
    from segcorr.segment import precompute  # its defaults are shared with scripts/precompute_sam_masks.py

    return precompute


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
    _need_out(out, folder=True)
    kw = {"checkpoint": _need_file(checkpoint, "checkpoint")} if checkpoint is not None else {}
    if labels is not None:
        kw["source"] = labels
    n = run(_need_dir(input_dir), out, segmenter, **kw)
    typer.echo(f"done: {n}")


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

    if json_out is not None:
        _need_out(json_out)
    cfg = config_for_order(order)
    result = evaluate_isolation(_need_dir(data), masks=masks.value, limit=limit, config=cfg)
    _print_metrics(result, json_out)


def register(app: typer.Typer, eval_app: typer.Typer) -> None:
    app.command()(isolate)
    app.command("precompute-masks")(precompute_masks)
    eval_app.command("isolate")(eval_isolate)
