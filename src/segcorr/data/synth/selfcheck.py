"""Checks that a pair's ground truth is exact: photometric warp error, forward-backward consistency,
segment consistency. Used by the tests and by ``benchmarks/synth_selfcheck.py``."""

from __future__ import annotations

import cv2
import numpy as np

from segcorr.data.synth.cels import CelPair


def _sample(img: np.ndarray, mx: np.ndarray, my: np.ndarray, interp: int) -> np.ndarray:
    return cv2.remap(img, mx, my, interp, borderMode=cv2.BORDER_REPLICATE)


def pair_checks(pair: CelPair) -> dict[str, float]:
    """Figures for one pair (pixels of frame 0 that stay visible are "non-occluded").

    warp_err: mean |img0 - img1 warped back by flow_fw| (bilinear, grey levels, mean over RGB) on
    non-occluded pixels at least 2 px away from line art; fb_err: mean |flow_fw + flow_bw(x + flow_fw)|
    with bilinear sampling; fb_ok_bilinear / fb_ok_nearest: share of non-occluded pixels where that
    error is < 0.5 px (nearest sampling stays on the same surface, so it should be 1.0);
    seg_consistency: share of non-occluded pixels whose seg1 at the rounded target equals seg0;
    occ_share: share of occluded pixels in frame 0; mean_flow: mean |flow_fw| in px.
    """
    H, W = pair.seg0.shape
    X, Y = np.meshgrid(np.arange(W, dtype=np.float32), np.arange(H, dtype=np.float32))
    mx = X + pair.flow_fw[0]
    my = Y + pair.flow_fw[1]
    noc = ~pair.occ0
    near_line = cv2.dilate(pair.line0.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    keep = noc & ~near_line
    warped = _sample(pair.img1, mx, my, cv2.INTER_LINEAR).astype(np.float32)
    err = np.abs(warped - pair.img0.astype(np.float32)).mean(-1)
    fb = {}
    for name, interp in (("bilinear", cv2.INTER_LINEAR), ("nearest", cv2.INTER_NEAREST)):
        bw = np.stack([_sample(pair.flow_bw[c], mx, my, interp) for c in range(2)])
        fb[name] = np.linalg.norm(bw + pair.flow_fw, axis=0)[noc]
    xi = np.clip(np.floor(mx + 0.5), 0, W - 1).astype(np.int64)
    yi = np.clip(np.floor(my + 0.5), 0, H - 1).astype(np.int64)
    same = (pair.seg1[yi, xi] == pair.seg0)[noc]

    def mean(a: np.ndarray) -> float:
        return float(a.mean()) if a.size else float("nan")

    return {
        "warp_err": mean(err[keep]),
        "fb_err": mean(fb["bilinear"]),
        "fb_ok_bilinear": mean(fb["bilinear"] < 0.5),
        "fb_ok_nearest": mean(fb["nearest"] < 0.5),
        "seg_consistency": mean(same),
        "occ_share": float(pair.occ0.mean()),
        "mean_flow": float(np.linalg.norm(pair.flow_fw, axis=0).mean()),
    }
