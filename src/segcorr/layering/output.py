"""Writing an isolation result, and the function behind `segcorr isolate`."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from segcorr.errors import InputError
from segcorr.layering.isolate import IsolationConfig, IsolationResult, isolate_page
from segcorr.layering.zbuffer import ZBufferCalculator

SIGN = "smaller d = nearer (front); terms y, area, type, depth in 0..1, 0 = near-looking; frame d = 1"


def _safe(cid: object) -> str:
    s = str(cid)
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in s)


def mask_file_names(ids: list, where: str | os.PathLike | None = None) -> dict:
    """id -> `char_<id>.png`, the id's characters other than letters, digits, "-", "_" and "." written as "_".

    InputError (naming `where`) when two ids would get one file name, also when they differ only in case
    (one file on case-insensitive file systems): nothing is written then.
    """
    names, seen = {}, {}
    for cid in ids:
        name = f"char_{_safe(cid)}.png"
        other = seen.get(name.casefold())
        if other is not None:
            raise InputError(
                f"character ids {other!r} and {cid!r} would both be written as {name} (ids are file names: only "
                "letters, digits, '-', '_' and '.' are kept, and case is not a difference); give them distinct ids",
                where,
            )
        seen[name.casefold()] = cid
        names[cid] = name
    return names


def order_doc(result: IsolationResult, weights: tuple[float, ...] | None = None) -> dict:
    """The `order.json` document: front-to-back ids per panel and every character's depth key and source."""
    return {
        "sign": SIGN,
        "weights": None if weights is None else dict(zip(("y", "area", "type", "depth"), weights)),
        "panels": [{"panel": p, "front_to_back": ids, "frame_d": 1.0} for p, ids in result.order.items()],
        "characters": [{**k.to_json(), "source": result.sources.get(cid)} for cid, k in result.keys.items()],
    }


def overlay_image(result: IsolationResult, page_img: np.ndarray) -> np.ndarray:
    """uint8 [H, W, 3]: the page with each isolated mask tinted (front characters drawn last)."""
    from segcorr.viz.overlay import overlay_masks

    labels = np.zeros(page_img.shape[:2], np.int32)
    ranked = sorted(result.keys.values(), key=lambda k: -k.d)  # back to front
    for n, k in enumerate(ranked, start=1):
        labels[result.masks[k.id]] = n
    return overlay_masks(page_img, labels, alpha=0.45)


def write_isolation(
    result: IsolationResult, page_img: np.ndarray, out_dir: str | os.PathLike, weights: tuple[float, ...] | None = None
) -> Path:
    """Write `char_<id>.png` (0/255) per character, `order.json` and `overlay.png` (atomically). Returns out_dir.
    Ids that would share a file name raise InputError before anything is written (`mask_file_names`)."""
    from segcorr.io.atomic import atomic_write_text
    from segcorr.io.image import write_image

    names = mask_file_names(list(result.masks))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for cid, m in result.masks.items():
        write_image(out / names[cid], m.astype(np.uint8) * 255)
    atomic_write_text(out / "order.json", json.dumps(order_doc(result, weights), indent=1) + "\n")
    write_image(out / "overlay.png", overlay_image(result, page_img))
    return out


def isolate_cli(
    img: np.ndarray,
    spec: dict,
    segmenter: str,
    seg_kw: dict,
    out: str | os.PathLike,
    depth_model: str | os.PathLike | None = None,
    cache_path: str | os.PathLike | None = None,
    boxes_path: str | os.PathLike | None = None,
    config: IsolationConfig | None = None,
) -> Path:
    """`segcorr isolate PAGE --boxes B.json --out DIR --segmenter NAME`: validate, isolate, write. Returns DIR.

    img: uint8 [H, W] page; spec: the parsed B.json ({"characters": [...], "panels": [...]}).
    """
    from segcorr.data.manga import parse_page_spec
    from segcorr.segment import build

    characters, panels = parse_page_spec(spec, boxes_path)
    mask_file_names([ch["id"] for ch in characters], boxes_path)
    h, w = img.shape[:2]
    for ch in characters:
        x0, y0, x1, y1 = ch["body_box"]
        if x1 <= 0 or y1 <= 0 or x0 >= w or y0 >= h or x1 <= x0 or y1 <= y0:
            raise InputError(
                f"expected body_box of character {ch['id']} to cover part of the {w}x{h} page, found {ch['body_box']}",
                boxes_path,
            )
    cfg = config or IsolationConfig()
    zb = ZBufferCalculator(cfg.zbuffer, depth_model)
    result = isolate_page(
        img,
        characters,
        build(segmenter, **seg_kw),
        cfg,
        cache_path=cache_path,
        panels=panels,
        zbuffer=zb,
        segmenter_settings={"segmenter": segmenter, **seg_kw},
    )
    return write_isolation(result, img, out, weights=zb.weights(zb.depth is not None))
