"""Evaluate a flow method on frame pairs without ground truth (real footage): warp error and a contact sheet.

Protocol (one for every method). The method runs both ways, frame 0 -> 1 (fw) and 1 -> 0 (bw, the same method on
the swapped pair, label maps swapped too). On grey levels (0..255, ITU-R BT.601 weights) of the two frames:

- ``warp``: mean |I0(p) - I1(p + fw(p))| over every pixel of frame 0 (bilinear sampling; points outside frame 1
  take the nearest border pixel), so a method cannot leave out the pixels it gets wrong;
- ``warp_fb``: the same mean over the pixels that pass the forward-backward check, i.e. p + fw(p) lies inside
  frame 1 and |fw(p) + bw(p + fw(p))|^2 <= ALPHA1 (|fw(p)|^2 + |bw(p + fw(p))|^2) + ALPHA2 (UnFlow's test, the
  thresholds of the unsupervised loss `segcorr.flow.losses.photometric.fb_occlusion`: 0.01 and 0.5 px^2);
  pixels that fail are taken as occluded or wrong, and left out;
- ``fb_keep``: the share of frame 0's pixels that pass (0..1): a low share means a method that disagrees with
  itself, whatever its ``warp_fb``.
Each figure is the mean over the pairs of the per-pair figures (every pair weighs the same); the per-pair figures
are reported as ``<key>_<pair name>``. Zero flow passes the check everywhere and scores the plain frame difference.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from segcorr.flow.checks import check_flow, check_frames

ALPHA1 = 0.01
ALPHA2 = 0.5
NOGT_KEYS = ("warp", "warp_fb", "fb_keep")
SHEET_MAX_WIDTH = 1600
_ERR_SCALE = 40.0  # grey levels shown white in the sheet's error tiles

MethodFn = Callable[[np.ndarray, np.ndarray, Any], np.ndarray]


def grey(img: np.ndarray) -> np.ndarray:
    """uint8 [H, W, 3] RGB or [H, W] -> float32 [H, W] grey levels 0..255 (0.299 R + 0.587 G + 0.114 B)."""
    a = np.asarray(img, np.float32)
    return a if a.ndim == 2 else a @ np.array([0.299, 0.587, 0.114], np.float32)


def sample_at(img: np.ndarray, flow: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """img float32 [H, W] or [H, W, C] sampled at p + flow(p) (bilinear, nearest border pixel outside) ->
    (sampled, inside bool [H, W]: p + flow(p) lies in the frame). flow: [2, H, W]."""
    import cv2

    h, w = flow.shape[1:]
    mx = (flow[0] + np.arange(w, dtype=np.float32)).astype(np.float32)
    my = (flow[1] + np.arange(h, dtype=np.float32)[:, None]).astype(np.float32)
    out = cv2.remap(np.ascontiguousarray(img, np.float32), mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    inside = (mx >= 0) & (mx <= w - 1) & (my >= 0) & (my <= h - 1)
    return out, inside


def fb_consistent(fw: np.ndarray, bw: np.ndarray, alpha1: float = ALPHA1, alpha2: float = ALPHA2) -> np.ndarray:
    """bool [H, W]: pixels of frame 0 whose forward flow fw [2, H, W] lands inside frame 1 and comes back with the
    backward flow bw [2, H, W]: |fw + bw(p + fw)|^2 <= alpha1 (|fw|^2 + |bw(p + fw)|^2) + alpha2."""
    bw_at, inside = sample_at(np.moveaxis(bw, 0, -1), fw)  # [H, W, 2]
    bw_at = np.moveaxis(bw_at, -1, 0)
    diff = ((fw + bw_at) ** 2).sum(0)
    mag = (fw**2).sum(0) + (bw_at**2).sum(0)
    return inside & (diff <= alpha1 * mag + alpha2)


@dataclass(frozen=True)
class PairScore:
    """One pair's figures (see the module docstring) and the maps the contact sheet shows: err float32 [H, W]
    |I0 - I1(p + fw)| in grey levels, keep bool [H, W] the pixels that pass the check."""

    name: str
    warp: float
    warp_fb: float | None
    fb_keep: float
    err: np.ndarray
    keep: np.ndarray


def score_pair(name: str, img0: np.ndarray, img1: np.ndarray, fw: np.ndarray, bw: np.ndarray) -> PairScore:
    """Warp error and forward-backward check of one pair. img0, img1: uint8 [H, W, 3] or [H, W]; fw (0 -> 1),
    bw (1 -> 0): float [2, H, W]."""
    hw = check_frames(img0, img1)
    check_flow(fw, hw, "forward flow")
    check_flow(bw, hw, "backward flow")
    fw, bw = np.asarray(fw, np.float32), np.asarray(bw, np.float32)
    warped, _ = sample_at(grey(img1), fw)
    err = np.abs(grey(img0) - warped)
    keep = fb_consistent(fw, bw)
    kept = float(keep.mean())
    return PairScore(name, float(err.mean()), float(err[keep].mean()) if keep.any() else None, kept, err, keep)


def summarize(scores: Sequence[PairScore]) -> dict[str, float | None]:
    """The set's figures (means over pairs; ``warp_fb`` over the pairs that keep any pixel) and the per-pair ones
    as ``<key>_<name>``."""
    out: dict[str, float | None] = {}
    for key in NOGT_KEYS:
        vals = [getattr(s, key) for s in scores if getattr(s, key) is not None]
        out[key] = float(np.mean(vals)) if vals else None
    for s in scores:
        for key in NOGT_KEYS:
            out[f"{key}_{s.name}"] = getattr(s, key)
    return out


def sheet_row(
    img0: np.ndarray, img1: np.ndarray, fw: np.ndarray, score: PairScore, height: int
) -> tuple[list[np.ndarray], list[str]]:
    """The four tiles of one pair (frame 0, frame 1, flow colour, error map with failed pixels in red), scaled to
    `height` px, and their labels."""
    import cv2

    from segcorr.viz.flow_color import flow_to_color

    mag = float(np.percentile(np.hypot(fw[0], fw[1]), 99)) if fw.size else 0.0  # a few wild vectors show darker
    err = np.clip(score.err / _ERR_SCALE, 0, 1)
    err_rgb = np.repeat((255 * err).astype(np.uint8)[..., None], 3, -1)
    err_rgb[~score.keep] = (200, 30, 30)
    tiles = [img0, img1, flow_to_color(fw, max(mag, 1e-6)), err_rgb]
    h, w = img0.shape[:2]
    size = (max(1, int(round(w * height / h))), height)
    tiles = [cv2.resize(t, size, interpolation=cv2.INTER_AREA if height < h else cv2.INTER_NEAREST) for t in tiles]
    fb = "-" if score.warp_fb is None else f"{score.warp_fb:.2f}"
    labels = [
        f"{score.name} frame 0",
        "frame 1",
        f"flow, white 0, full hue {mag:.1f} px (99th pct)",
        f"warp {score.warp:.2f} fb {fb} kept {100 * score.fb_keep:.0f}%",
    ]
    return tiles, labels


def write_sheet(path: str | Path, rows: Sequence[tuple[list[np.ndarray], list[str]]], title: str) -> np.ndarray:
    """One labelled picture of every pair's tiles (one row each), at most SHEET_MAX_WIDTH px wide, written
    atomically to `path` (PNG). Returns it: uint8 [H, W, 3]."""
    import cv2

    from segcorr.io.image import write_image
    from segcorr.viz.panel import side_by_side

    tiles = [t for r in rows for t in r[0]]
    labels = [s for r in rows for s in r[1]]
    body = side_by_side(tiles, labels, pad=4, max_cols=len(rows[0][0]))
    sheet = side_by_side([body], [title], pad=0)
    if sheet.shape[1] > SHEET_MAX_WIDTH:
        k = SHEET_MAX_WIDTH / sheet.shape[1]
        sheet = cv2.resize(
            sheet, (SHEET_MAX_WIDTH, max(1, int(round(sheet.shape[0] * k)))), interpolation=cv2.INTER_AREA
        )
    write_image(path, sheet)
    return sheet


def tile_height(h: int, w: int, tiles: int = 4, pad: int = 4) -> int:
    """Tile height for frames of h x w so that a row of `tiles` tiles fits in SHEET_MAX_WIDTH px (never enlarged)."""
    fit = (SHEET_MAX_WIDTH - pad * (tiles - 1)) / tiles
    return max(8, min(h, int(fit * h / w)))


def evaluate_without_gt(
    dataset: Any,
    method_fn: MethodFn,
    method_name: str,
    data_name: str | None = None,
    progress: bool = True,
    limit: int | None = None,
    sheet: str | Path | None = None,
) -> dict[str, Any]:
    """Run ``method_fn`` both ways on every pair (or the first ``limit``) and return the metrics dict.

    Arguments:
        dataset: ``len`` and ``__getitem__`` -> a pair with ``name``, ``img0``, ``img1`` and ``swapped()`` (as
            ``segcorr.data.pairs.FramePair``).
        method_fn: ``(img0, img1, pair) -> flow float32 [2, H, W]``.
        method_name, data_name: recorded as ``method`` / ``data`` (data defaults to the dataset root).
        sheet: also write the contact sheet (PNG) here.
    Returns: ``method``, ``data``, ``count``, ``ms_per_item`` (mean wall time of one flow, either direction, ms),
    ``warp``, ``warp_fb``, ``fb_keep`` and the per-pair figures (see the module docstring).
    """
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    n = len(dataset) if limit is None else min(int(limit), len(dataset))
    scores: list[PairScore] = []
    rows = []
    method_s = 0.0
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True), disable=not progress, transient=True) as bar:
        task = bar.add_task(f"flow {method_name} (no ground truth)", total=n)
        for i in range(n):
            pair = dataset[i]
            t0 = time.perf_counter()
            fw = np.asarray(method_fn(pair.img0, pair.img1, pair))
            bw = np.asarray(method_fn(pair.img1, pair.img0, pair.swapped()))
            method_s += time.perf_counter() - t0
            score = score_pair(pair.name, pair.img0, pair.img1, fw, bw)
            scores.append(score)
            if sheet is not None:
                rows.append(sheet_row(pair.img0, pair.img1, fw, score, tile_height(*pair.img0.shape[:2])))
            bar.advance(task)
    data = data_name if data_name is not None else str(getattr(dataset, "root", ""))
    result: dict[str, Any] = {
        "method": method_name,
        "data": data,
        "count": n,
        "ms_per_item": (1000.0 * method_s / (2 * n)) if n else None,
    }
    result.update(summarize(scores))
    if sheet is not None and rows:
        write_sheet(sheet, rows, f"{method_name} on {data}: flow colour and warp error (red: fails the fb check)")
    return result


def format_pairs_table(results: Sequence[dict[str, Any]], names: Sequence[str]) -> str:
    """Plain-text table of the per-pair figures: one row per pair (and the mean), columns method x key."""
    header = ["pair"] + [f"{r['method']} {k}" for r in results for k in NOGT_KEYS]

    def cell(v: Any) -> str:
        return "-" if v is None else f"{v:.3f}"

    rows = [[nm] + [cell(r.get(f"{k}_{nm}")) for r in results for k in NOGT_KEYS] for nm in names]
    rows.append(["mean"] + [cell(r.get(k)) for r in results for k in NOGT_KEYS])
    widths = [max(len(x[c]) for x in [header, *rows]) for c in range(len(header))]
    fmt = ["  ".join(c.ljust(w) if j == 0 else c.rjust(w) for j, (c, w) in enumerate(zip(row, widths))) for row in rows]
    return "\n".join(["  ".join(h.ljust(w) for h, w in zip(header, widths)), *fmt])
