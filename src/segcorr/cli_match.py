"""Commands of the matching system: ``segcorr match``, ``segcorr eval match``, ``segcorr export as-mamba``.

Registered by ``segcorr.cli`` through ``register(app, eval_app)``; heavy imports stay inside the commands.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from segcorr.errors import InputError

_METHOD_HELP = "as-mamba (shipped as_mamba_tiny) | sift | orb | a .safetensors path of AS-Mamba weights"
_REFINE_HELP = "AS-Mamba's sub-pixel step: patch (local-affine patch correlation on the pictures) | none (network only)"
_TURNS_HELP = (
    "AS-Mamba: when the first try finds no consistent matches, try IMG1 turned and cropped (needs --refine patch)"
)
_PREALIGN_HELP = (
    "AS-Mamba: match a small copy first and match IMG1 warped onto IMG0 by that homography (--no-prealign: as given)"
)
MIN_SIDE = 16


def _intrinsics(text: str | None, flag: str) -> Any:
    """--K0/--K1: "fx,fy,cx,cy" or 9 row-major numbers -> float64 [3, 3]."""
    import numpy as np

    from segcorr.cli_common import _parse_floats

    if text is None:
        raise InputError(f"--estimate E needs {flag} (fx,fy,cx,cy or 9 numbers)")
    n = len(text.split(","))
    if n == 4:
        fx, fy, cx, cy = _parse_floats(text, 4, flag)
        K = np.array([[fx, 0, cx], [0, fy, cy], [0, 0, 1]], np.float64)
    else:
        K = np.array(_parse_floats(text, 9, flag), np.float64).reshape(3, 3)
    if not np.isfinite(K).all() or K[0, 0] <= 0 or K[1, 1] <= 0 or abs(K[2, 2] - 1) > 1e-6 or K[2, :2].any():
        raise InputError(f"{flag} must be intrinsics [[fx,0,cx],[0,fy,cy],[0,0,1]] with fx, fy > 0, got {text!r}")
    return K


def _read(path: Path) -> Any:
    from segcorr.cli_common import _need_file
    from segcorr.io.image import read_image

    img = read_image(_need_file(path, "image"))
    if min(img.shape[:2]) < MIN_SIDE:
        raise InputError(f"image is {img.shape[1]}x{img.shape[0]} px, expected at least {MIN_SIDE} px a side", path)
    return img


def _estimate(result: dict[str, Any], kind: str | None, K0: Any, K1: Any) -> dict[str, Any]:
    """Adds "H" (homography, RANSAC 3 px) or "E", "R", "t" (essential matrix; None when not found)."""
    if kind is None:
        return result
    from segcorr.geometry import estimate_homography, estimate_pose

    k0, k1 = result["mkpts0"], result["mkpts1"]
    if kind == "H":
        H, inl = estimate_homography(k0, k1, threshold=3.0)
        return {**result, "H": None if H is None else H.tolist(), "inliers": inl.tolist()}
    est = estimate_pose(k0, k1, K0, K1, threshold_px=1.0)
    if est is None:
        return {**result, "E": None, "R": None, "t": None, "inliers": [False] * len(k0)}
    E, R, t, inl = est
    return {**result, "E": E.tolist(), "R": R.tolist(), "t": t.tolist(), "inliers": inl.tolist()}


def _as_json(out: dict[str, Any]) -> str:
    import numpy as np

    data = {k: (np.asarray(v).tolist() if isinstance(v, np.ndarray) else v) for k, v in out.items()}
    return json.dumps(data) + "\n"


def _match_one(
    matcher: Any, p0: Path, p1: Path, out: Path, viz: Path | None, estimate: str | None, K0: Any, K1: Any
) -> int:
    from segcorr.io.atomic import atomic_write_text

    a, b = _read(p0), _read(p1)
    try:
        raw = matcher(a, b)
    except InputError as e:  # the matcher names its inputs img0/img1: say which files they are
        raise InputError(f"{e} (img0 = {p0}, img1 = {p1})") from None
    result = {k: v for k, v in raw.items() if k in ("mkpts0", "mkpts1", "mconf")}
    result = _estimate(result, estimate, K0, K1)
    if viz is not None:  # the picture first: when it cannot be written, no JSON claims the pair done
        from segcorr.io.image import write_image
        from segcorr.viz.matches import draw_matches

        write_image(viz, draw_matches(a, b, result["mkpts0"], result["mkpts1"], result["mconf"]))
    atomic_write_text(out, _as_json(result))
    return len(result["mkpts0"])


def _pairs_list(path: Path) -> list[tuple[Path, Path, Any, Any]]:
    """Lines ``img0 img1`` or SuperGlue's ``name0 name1 rot0 rot1 K0(9) K1(9) [T(16)]``; paths relative to
    the list's folder (or its ``images/``); ``#`` comments and blank lines skipped."""
    import numpy as np

    from segcorr.data.matchsets import check_intrinsics, find_image, pair_lines

    rows = []
    for no, f in pair_lines(path):
        if len(f) == 2:
            K0 = K1 = None
        elif len(f) in (22, 38):
            try:
                nums = np.array([float(v) for v in f[2:22]])
            except ValueError:
                raise InputError(f"line {no}: expected numbers after the two image names", path) from None
            K0, K1 = nums[2:11].reshape(3, 3), nums[11:20].reshape(3, 3)
            check_intrinsics(K0, path, no, "K0")
            check_intrinsics(K1, path, no, "K1")
        else:
            raise InputError(
                f"line {no}: expected 'img0 img1' or SuperGlue's 22/38 fields, found {len(f)} fields", path
            )
        rows.append((no, f[0], f[1], K0, K1))
    return [
        (find_image(path.parent, n0, path, no), find_image(path.parent, n1, path, no), K0, K1)
        for no, n0, n1, K0, K1 in rows
    ]


def register(app: typer.Typer, eval_app: typer.Typer) -> None:
    """Add ``match``, ``eval match`` and ``export as-mamba``."""
    export_app = typer.Typer(help="Export a model for deployment.", no_args_is_help=True)
    app.add_typer(export_app, name="export")
    app.command()(match)
    eval_app.command("match")(eval_match)
    export_app.command("as-mamba")(export_as_mamba)


def match(
    img0: Path | None = typer.Argument(None, help="First image."),
    img1: Path | None = typer.Argument(None, help="Second image (any size)."),
    out: Path = typer.Option(..., "--out", help="Output JSON (or folder with --pairs)."),
    viz: Path | None = typer.Option(None, "--viz", help="Match-lines PNG (a folder with --pairs)."),
    method: str = typer.Option("as-mamba", help=_METHOD_HELP),
    pairs: Path | None = typer.Option(
        None,
        "--pairs",
        help="Batch: a list of 'img0 img1' lines (or SuperGlue pairs_with_gt lines, whose K give --estimate E).",
    ),
    estimate: str | None = typer.Option(
        None, "--estimate", help="H (homography) | E (essential matrix; needs --K0/--K1 or SuperGlue pair lines)."
    ),
    k0: str | None = typer.Option(None, "--K0", help="Intrinsics of IMG0: fx,fy,cx,cy or 9 numbers."),
    k1: str | None = typer.Option(None, "--K1", help="Intrinsics of IMG1 (default: --K0)."),
    longer_side: int = typer.Option(640, "--longer-side", min=32, help="Match at this longer side (px)."),
    max_matches: int = typer.Option(2048, "--max-matches", min=1),
    refine: str = typer.Option("patch", "--refine", help=_REFINE_HELP),
    turns: bool = typer.Option(True, "--turns/--no-turns", help=_TURNS_HELP),
    prealign: bool = typer.Option(True, "--prealign/--no-prealign", help=_PREALIGN_HELP),
) -> None:
    """Match two images (or every pair of --pairs); writes {"mkpts0", "mkpts1", "mconf", "H" or "E"}."""
    from segcorr.cli_common import _need_out
    from segcorr.io.image import check_image_suffix
    from segcorr.matching.evaluate import build_matcher

    if estimate is not None and estimate not in ("H", "E"):
        raise InputError(f"--estimate must be H or E, got {estimate!r}")
    if pairs is None:
        if img0 is None or img1 is None:
            raise InputError("expected IMG0 IMG1 (or --pairs LIST.txt)")
        if out.suffix.lower() != ".json":
            raise InputError("expected a .json output path", out)
        _need_out(out)
        if viz is not None:
            check_image_suffix(_need_out(viz))
        K0 = _intrinsics(k0, "--K0") if estimate == "E" else None
        K1 = (_intrinsics(k1, "--K1") if k1 else K0) if estimate == "E" else None
        a, b = _read(img0), _read(img1)  # fail on bad images before loading a model
        del a, b
        matcher = build_matcher(
            method, longer_side=longer_side, max_matches=max_matches, refine=refine, turns=turns, prealign=prealign
        )
        n = _match_one(matcher, img0, img1, out, viz, estimate, K0, K1)
        typer.echo(f"wrote {out} ({n} matches)" + (f" and {viz}" if viz else ""))
        return
    if img0 is not None or img1 is not None:
        raise InputError("expected IMG0 IMG1 or --pairs LIST.txt, not both")
    items = _pairs_with_intrinsics(pairs, estimate, k0, k1, out, viz)
    matcher = build_matcher(
        method, longer_side=longer_side, max_matches=max_matches, refine=refine, turns=turns, prealign=prealign
    )
    for i, (p0, p1, K0, K1) in enumerate(items):
        name = f"{i:05d}_{p0.stem}_{p1.stem}"
        _match_one(
            matcher, p0, p1, out / f"{name}.json", None if viz is None else viz / f"{name}.png", estimate, K0, K1
        )
    typer.echo(f"wrote {len(items)} match files to {out}")


def _pairs_with_intrinsics(
    pairs: Path, estimate: str | None, k0: str | None, k1: str | None, out: Path, viz: Path | None
) -> list[tuple[Path, Path, Any, Any]]:
    """The --pairs list; with --estimate E, --K0/--K1 fill the intrinsics of lines that give none. The output
    folders (``out``, ``viz``) are checked first."""
    from segcorr.cli_common import _need_file, _need_out

    _need_out(out, folder=True)
    if viz is not None:
        _need_out(viz, folder=True)

    items = _pairs_list(_need_file(pairs, "pairs file"))
    if estimate == "E" and any(K is None for _, _, K, _ in items):
        Kc0 = _intrinsics(k0, "--K0")
        Kc1 = _intrinsics(k1, "--K1") if k1 else Kc0
        items = [(p0, p1, Kc0 if K0 is None else K0, Kc1 if K1 is None else K1) for p0, p1, K0, K1 in items]
    return items


def eval_match(
    data: Path = typer.Option(..., "--data", help="Homography pairs folder or pose pairs folder (pairs_with_gt.txt)."),
    method: str = typer.Option("as-mamba", help=_METHOD_HELP),
    json_out: Path | None = typer.Option(None, "--json", help="Write the metrics JSON here."),
    longer_side: int = typer.Option(640, "--longer-side", min=32, help="Match at this longer side."),
    max_matches: int = typer.Option(2048, "--max-matches", min=1),
    limit: int | None = typer.Option(None, min=1, help="Evaluate only the first N pairs."),
    refine: str = typer.Option("patch", "--refine", help=_REFINE_HELP),
    turns: bool = typer.Option(True, "--turns/--no-turns", help=_TURNS_HELP),
    prealign: bool = typer.Option(True, "--prealign/--no-prealign", help=_PREALIGN_HELP),
) -> None:
    """Homography AUC@3/5/10 px, pose AUC@5/10/20 deg, matches, precision, ms per pair (one protocol)."""
    from segcorr.cli_common import _need_dir, _need_out, _print_metrics
    from segcorr.data.matchsets import open_match_dataset
    from segcorr.matching.evaluate import MatchProtocol, build_matcher, evaluate_matches

    if json_out is not None:
        _need_out(json_out)

    ds = open_match_dataset(_need_dir(data))
    matcher = build_matcher(
        method, longer_side=longer_side, max_matches=max_matches, refine=refine, turns=turns, prealign=prealign
    )
    proto = MatchProtocol(longer_side=longer_side, max_matches=max_matches)
    result = evaluate_matches(ds, matcher, method, str(data), protocol=proto, limit=limit)
    _print_metrics(result, json_out)


def export_as_mamba(
    out: Path = typer.Option(..., "--out", help="Output .onnx file."),
    weights: str = typer.Option("as_mamba_tiny", help="Shipped weights name or .safetensors path."),
    model: str | None = typer.Option(
        None, help="Registry name to build instead of loading weights (e.g. as_mamba-test, random init)."
    ),
    height: int = typer.Option(480, min=32, help="Fixed input height (multiple of 32)."),
    width: int = typer.Option(640, min=32, help="Fixed input width (multiple of 32)."),
    opset: int = typer.Option(17, min=11),
) -> None:
    """AS-Mamba's dense matching head as ONNX at a fixed input size (see segcorr.matching.export)."""
    from segcorr.cli_common import _need_out
    from segcorr.matching.export import export_onnx

    if out.suffix.lower() != ".onnx":
        raise InputError("expected an .onnx output path", out)
    _need_out(out)
    if height % 32 or width % 32:
        raise InputError(f"--height and --width must be multiples of 32, got {height}x{width}")
    path = export_onnx(
        out, weights=None if model else weights, model_name=model, height=height, width=width, opset=opset
    )
    typer.echo(f"wrote {path}")
