"""`segcorr segment`: masks for points, boxes and text phrases on one image (builtin, flat or sam2)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from segcorr.cli_common import _need_file, _need_out, _parse_floats
from segcorr.errors import InputError


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
    "iou_pred", "box", "prompt"}]}); without prompts labels.png (16-bit) and overlay.png. An earlier run's extra
    mask_NN.png files in the folder are removed, so it holds what masks.json lists."""
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
    _need_out(out, folder=True)
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
        labels = _naming(image, seg.segment_all, img)
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
    result = _naming(image, seg.segment, img, prompts)
    _write_segment_output(out, img, result, lambda pid: _describe_prompt(pid, pts, negs, bxs))


def _naming(image: Path, fn, *args):
    """``fn(*args)``; an InputError that names no file (the image's size or format) is said of ``image``."""
    try:
        return fn(*args)
    except InputError as e:
        if e.path is None:
            raise InputError(str(e), image) from None
        raise


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
    from segcorr.io.mask_folder import remove_stale_masks, write_mask_pictures

    records = []
    n = len(result)
    names = write_mask_pictures(out, img, result.masks)
    for i, (name, m) in enumerate(zip(names, result.masks)):
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
    presence = None if result.presence is None else float(result.presence)
    atomic_write_text(out / "masks.json", json.dumps({"presence": presence, "masks": records}, indent=2) + "\n")
    remove_stale_masks(out, names)
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


def register(app: typer.Typer, eval_app: typer.Typer) -> None:
    app.command()(segment)
