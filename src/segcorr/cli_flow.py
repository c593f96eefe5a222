"""`segcorr flow` and `segcorr eval flow`: optical flow between two frames, and its evaluation."""

from __future__ import annotations

from pathlib import Path

import typer

from segcorr.cli_common import _need_dir, _need_file, _need_out, _print_metrics
from segcorr.errors import InputError

_WORK_SIDE_HELP = (
    "Learned methods: run frames larger than this (longer side, px) downscaled; default: the training size from the "
    "model card; 0: full resolution."
)
_REFINE_HELP = (
    "Learned methods: segment-level refinement: fuse (per segment, the best by photometric error of "
    "robust affine fits of the network's and DIS medium's flow and the network's own flow, then a "
    "propagation pass offering each segment its neighbours' and the dominant motion) | affine "
    "(fits of the network's flow) | none."
)

_OWN_HELP = (
    "Learned methods, --refine fuse: grey-level penalty of the classical flow as a per-segment candidate in textured "
    "segments (inf: off; default: the refinement's)."
)

_VARIATIONAL_HELP = (
    "Learned methods, --refine fuse: fixed-point iterations of the variational refinement of the whole flow that "
    "ends the refinement (0: off; default: the refinement's)."
)


def _work_side(value: int | None) -> int | str | None:
    """CLI --work-side: None -> "auto" (model card), 0 -> None (full resolution), n -> n."""
    return "auto" if value is None else (value or None)


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
    work_side: int | None = typer.Option(None, "--work-side", min=0, help=_WORK_SIDE_HELP),
    refine: str = typer.Option("fuse", help=_REFINE_HELP),
) -> None:
    """Optical flow from IMG0 to IMG1, written as Middlebury .flo."""
    from segcorr.flow.methods import get_method
    from segcorr.io.flo import write_flo
    from segcorr.io.image import read_image, write_image

    _need_out(out)
    if viz is not None:
        _need_out(viz)
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


def eval_flow(
    data: Path = typer.Option(..., "--data", help="Pairs folder or AnimeRun root."),
    method: str = typer.Option(
        "dis-medium",
        help="zero | farneback | dis-ultrafast | dis-fast | dis-medium | aniflowformer-v3 | aniflowformer | a "
        ".safetensors path (e.g. weights fine-tuned by segcorr train).",
    ),
    json_out: Path | None = typer.Option(None, "--json", help="Write the metrics JSON here."),
    limit: int | None = typer.Option(None, min=1, help="Evaluate only the first N pairs."),
    masks: str = typer.Option(
        "given",
        help="Label maps for learned methods: given (the data's own "
        "segment maps when present) | segmenter (flat, always)",
    ),
    work_side: int | None = typer.Option(None, "--work-side", min=0, help=_WORK_SIDE_HELP),
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
    variational_iters: int | None = typer.Option(None, "--variational-iters", min=0, help=_VARIATIONAL_HELP),
    own_penalty: float | None = typer.Option(None, "--own-penalty", min=0.0, help=_OWN_HELP),
) -> None:
    """EPE (all / occluded / non-occluded / line / flat), speed bins and outlier rates. On a pairs folder without
    _flow.flo files: warp error (all pixels, and pixels passing a forward-backward check) and the share kept."""
    from segcorr.data.flowsets import is_frames_only, open_flow_dataset, open_frame_pairs
    from segcorr.flow.methods import get_method

    if json_out is not None:
        _need_out(json_out)
    fn = get_method(
        method,
        masks=masks,
        work_side=_work_side(work_side),
        refine=refine,
        polish_iters=polish_iters,
        variational_iters=variational_iters,
        own_penalty=own_penalty,
    )
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


def register(app: typer.Typer, eval_app: typer.Typer) -> None:
    app.command()(flow)
    eval_app.command("flow")(eval_flow)
