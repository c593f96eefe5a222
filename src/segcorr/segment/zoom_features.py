"""Where a zoom window's image features come from (``ZoomConfig.point_source`` / ``box_source``; used by
``segment.zoom.zoom_answer``).

"embed": the window is cut from the full-size image and embedded at the model's input size (one image embedding per
window). "crop": the whole image is embedded once more at ``crop_zoom`` x the model's input size (on first use, kept
on the predictor until its next ``set_image``) and the window's stride-16 cells are cut out of that embedding, with
the decoder's projections and a position code of the crop's size. "auto": "crop" for windows large enough that the
finer embedding loses no resolution against embedding them anew (``ZoomConfig.crop_ratio``), else "embed".
"""

from __future__ import annotations

from typing import Any

import numpy as np


def fine_embedding(pred: Any) -> tuple[dict, float, tuple[int, int]]:
    """``pred``'s current image (a ``Sam3Predictor``) embedded once more at ``zoom.crop_zoom`` x ``image_size`` on
    the longer side, with its decoder projections -> (embedding, scale, (sh, sw)); computed on first use, once per
    image."""
    if pred._fine is None:
        side = round(pred.image_size * pred.zoom.crop_zoom)
        feats, s, shw = pred._embed(pred._image, side)
        feats["high_res"] = pred.model.mask_decoder.project_high_res(*feats["inter"][:2])
        pred._fine = feats, s, shw
    return pred._fine


def window_features(
    pred: Any, window: tuple[int, int, int, int], source: str = "embed"
) -> tuple[dict, float, tuple[int, int], tuple]:
    """A zoom window (x0, y0, x1, y1 original pixels) of ``pred``'s image -> (its embedding, scale, (sh, sw) image
    part of its input, the window it covers). ``source``: "embed": the window embedded anew; "crop": cut from
    ``fine_embedding`` on its stride-16 grid, the window grown to whole cells (its embedding dict then carries
    "origin", the window's top-left corner in original pixels, not rounded); "auto": "crop" where the fine
    embedding's scale is at least ``zoom.crop_ratio`` x the scale the window would be embedded at, else "embed"."""
    x0, y0, x1, y1 = window
    own = pred.image_size / max(x1 - x0, y1 - y0)
    if source == "auto":
        fine_scale = pred.zoom.crop_zoom * pred.image_size / max(pred.orig_hw)
        source = "crop" if fine_scale >= pred.zoom.crop_ratio * own else "embed"
    if source == "embed":
        feats, s, shw = pred._embed(np.ascontiguousarray(pred._image[y0:y1, x0:x1]))
        return feats, s, shw, window
    fine, s, (sh, sw) = fine_embedding(pred)
    h, w = pred.orig_hw
    c0, r0 = int(np.floor(x0 * s / 16)), int(np.floor(y0 * s / 16))
    c1, r1 = max(c0 + 1, int(np.ceil(x1 * s / 16))), max(r0 + 1, int(np.ceil(y1 * s / 16)))
    c1, r1 = min(c1, -(-sw // 16)), min(r1, -(-sh // 16))
    px0, py0, px1, py1 = c0 * 16, r0 * 16, min(c1 * 16, sw), min(r1 * 16, sh)
    ox0, oy0 = min(w - 1, round(px0 / s)), min(h - 1, round(py0 / s))
    ox1, oy1 = max(ox0 + 1, min(w, round(px1 / s))), max(oy0 + 1, min(h, round(py1 / s)))
    f16 = fine["inter"][2][..., r0:r1, c0:c1]
    s0, s1 = fine["high_res"]
    feats = {
        "inter": [None, None, f16],
        "high_res": (s0[..., 4 * r0 : 4 * r1, 4 * c0 : 4 * c1], s1[..., 2 * r0 : 2 * r1, 2 * c0 : 2 * c1]),
        "pos16": pred.model.prompt_encoder.dense_pe(r1 - r0, c1 - c0, f16.device),
        "size": (16 * (r1 - r0), 16 * (c1 - c0)),
        "origin": (px0 / s, py0 / s),
    }
    return feats, s, (py1 - py0, px1 - px0), (ox0, oy0, ox1, oy1)
