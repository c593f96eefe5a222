"""Flow methods by name, one calling convention for classical and learned flow.

A method is `fn(img0, img1, sample) -> flow float32 [2, H, W]` where img0/img1 are uint8 [H, W, 3] RGB and
`sample` is a mapping (or object) that may carry precomputed label maps `seg0`/`seg1` ([H, W] int).
Learned methods segment the frames with the `flat` segmenter when no label maps are given.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

import numpy as np

from segcorr.errors import InputError

FlowFn = Callable[[np.ndarray, np.ndarray, Any], np.ndarray]

CLASSICAL = ("zero", "farneback", "dis-ultrafast", "dis-fast", "dis-medium")
# CLI name -> (registry name / shipped weights stem)
LEARNED = {
    "aniflowformer-v3": "aniflowformer_t_v3",
    "aniflowformer": "aniflowformer_t",
}


MASK_SOURCES = ("given", "segmenter")


def available_methods() -> list[str]:
    return list(CLASSICAL) + list(LEARNED)


def _get(sample: Any, key: str) -> Any:
    if sample is None:
        return None
    if isinstance(sample, dict):
        return sample.get(key)
    return getattr(sample, key, None)


def _check_refine(refine: str) -> None:
    from segcorr.flow.refine_config import RefineConfig

    RefineConfig(mode=refine)


def training_side(weights: str) -> int | None:
    """Longer side of the frames a checkpoint was trained on (from its model card), None when unknown."""
    from segcorr.io.weights import read_model_card

    try:
        data = (read_model_card(weights) or {}).get("train_config", {}).get("data", {})
        crop = data.get("crop")
        return int(max(crop)) if crop else int(max(data["height"], data["width"]))
    except (KeyError, TypeError, ValueError, OSError):
        return None


def _resize_flow(flow: np.ndarray, h: int, w: int) -> np.ndarray:
    """float32 [2, h', w'] -> [2, h, w], vectors rescaled with the image."""
    import cv2

    sy, sx = h / flow.shape[1], w / flow.shape[2]
    return np.stack([cv2.resize(flow[0], (w, h), interpolation=cv2.INTER_LINEAR) * sx,
                     cv2.resize(flow[1], (w, h), interpolation=cv2.INTER_LINEAR) * sy]).astype(np.float32)


def learned_method(weights: str, device: str | None = None, segmenter: str = "flat",
                   masks: str = "given", work_side: int | str | None = "auto", refine: str = "fuse") -> FlowFn:
    """Wrap a shipped (or user) checkpoint as a flow method. `weights`: a name in segcorr/weights or a path.

    masks: "given" uses the sample's label maps (``seg0``/``seg1``) when it has them and the `segmenter`
    otherwise; "segmenter" always segments the frames (what a user without label maps gets).
    work_side: frames whose longer side exceeds it are run downscaled to it and the flow is scaled back up
    ("auto": the training frame size from the model card; None: always full resolution). Small models
    trained on small frames match large displacements better at the scale they were trained at (on held-out
    validation cels at 512x384, seeds 500000..500011: EPE 10.8 at full size, 7.9 at the training scale).
    refine: segment-level refinement at full size, at most `RefineConfig.max_side` (`segcorr.flow.refine`): "fuse"
    (default), "affine" or "none" (the network's flow as is). Frame 0's label map: the given one, else the
    segmenter's at full size (shrunk for the network).
    """
    from segcorr.flow.refine import refine_flow
    from segcorr.flow.refine_config import RefineConfig

    refine_cfg = RefineConfig(mode=refine)
    if masks not in MASK_SOURCES:
        raise InputError(f"unknown mask source {masks!r}; known: {', '.join(MASK_SOURCES)}")
    import torch

    from segcorr.flow import load_pretrained

    model = load_pretrained(weights).eval()
    side = training_side(weights) if work_side == "auto" else work_side
    dev = torch.device(device or "cpu")
    model.to(dev)
    seg_backend = None

    def backend() -> Any:
        nonlocal seg_backend
        if seg_backend is None:
            from segcorr.segment import build

            seg_backend = build(segmenter)
        return seg_backend

    def labels(img: np.ndarray, given: Any) -> np.ndarray | None:
        """Label map at the size of `img` (the working-scale frame): `given` shrunk, or the segmenter's."""
        if given is not None:
            return shrink(np.asarray(given), img.shape[:2], nearest=True)
        return backend().segment_all(img)

    def to_img(a: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(a)).permute(2, 0, 1)[None].float().div(255).to(dev)

    def to_seg(s: np.ndarray | None) -> torch.Tensor | None:
        return None if s is None else torch.from_numpy(s.astype(np.int64))[None].to(dev)

    def shrink(a: np.ndarray | None, hw: tuple[int, int], nearest: bool) -> np.ndarray | None:
        import cv2

        if a is None or a.shape[:2] == hw:
            return a
        interp = cv2.INTER_NEAREST if nearest else cv2.INTER_AREA
        src = a.astype(np.int32) if nearest else a
        return cv2.resize(src, (hw[1], hw[0]), interpolation=interp)

    @torch.inference_mode()
    def fn(img0: np.ndarray, img1: np.ndarray, sample: Any = None) -> np.ndarray:
        h, w = img0.shape[:2]
        hw = (h, w)
        if side and max(h, w) > side:
            k = side / max(h, w)
            hw = (max(64, int(round(h * k))), max(64, int(round(w * k))))
        a, b = shrink(img0, hw, False), shrink(img1, hw, False)
        guide = getattr(model, "uses_segments", True)  # the ablation reads segments only in the refinement
        given0 = _get(sample, "seg0") if masks == "given" else None
        given1 = _get(sample, "seg1") if masks == "given" else None
        s1 = None
        if refine != "none" and given0 is None:
            # the refinement runs at full size: segment frame 0 there (thin line art survives), shrunk for the net;
            # frame 1 (working size) is segmented at the same time in a second thread (same result, less wait)
            backend()  # built before the second thread needs it
            with ThreadPoolExecutor(1) as pool:
                job1 = pool.submit(labels, b, given1) if guide else None
                given0 = labels(img0, None)
                s1 = job1.result() if job1 is not None else None
        s0 = labels(a, given0) if guide else None
        if guide and s1 is None:
            s1 = labels(b, given1)
        out = model(to_img(a), to_img(b), to_seg(s0), to_seg(s1))
        flow = out["flow"][0].float().cpu().numpy()
        if hw != (h, w):
            flow = _resize_flow(flow, h, w)
        if refine == "none":
            return flow
        if max(h, w) <= refine_cfg.max_side:
            return refine_flow(img0, img1, flow, np.asarray(given0), refine_cfg)
        k = refine_cfg.max_side / max(h, w)  # very large frames: refine at a bounded size (memory, DIS time)
        rhw = (max(64, int(round(h * k))), max(64, int(round(w * k))))
        small = refine_flow(shrink(img0, rhw, False), shrink(img1, rhw, False), _resize_flow(flow, *rhw),
                            shrink(np.asarray(given0), rhw, True), refine_cfg)
        return _resize_flow(small, h, w)

    return fn


def get_method(name: str, masks: str = "given", work_side: int | str | None = "auto", refine: str = "fuse") -> FlowFn:
    """Resolve a method name (see `available_methods`) or a path to a .safetensors checkpoint.

    masks, work_side, refine: options of learned methods (see `learned_method`); classical methods ignore them.
    """
    _check_refine(refine)
    if name in CLASSICAL:
        from segcorr.flow.evaluate import classical_method

        return classical_method(name)
    if name in LEARNED or name.endswith(".safetensors"):
        return learned_method(LEARNED.get(name, name), masks=masks, work_side=work_side, refine=refine)
    raise InputError(f"unknown flow method {name!r}; known: {', '.join(available_methods())} or a .safetensors path")
