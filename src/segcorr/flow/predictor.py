"""`FlowPredictor`: a flow network as a callable on two uint8 frames of any size (in the style of SAM's predictor).

It holds the network, the segmenter that supplies the label maps a caller does not give, the refinement settings
and the working size, and decides one resize plan per frame size: small models trained on small frames match large
displacements better at the scale they were trained at, so frames above the working side run downscaled and the
flow is scaled back; the segment-level refinement (`segcorr.flow.refine`) then runs at full size, bounded by
`RefineConfig.max_side`.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch

from segcorr.flow.checks import check_frames, check_labels
from segcorr.flow.deblock import deblock_flow
from segcorr.flow.model import MIN_SIZE, AniFlowFormerT
from segcorr.flow.refine import refine_flow
from segcorr.flow.refine_config import RefineConfig

if TYPE_CHECKING:
    from segcorr.segment.base import Segmenter


def _bounded(h: int, w: int, side: int | None) -> tuple[int, int]:
    """(h, w) scaled so the longer side is `side` when it is longer (no side: unchanged); each side stays at least
    the network's MIN_SIZE."""
    if not side or max(h, w) <= side:
        return h, w
    k = side / max(h, w)
    return max(MIN_SIZE, int(round(h * k))), max(MIN_SIZE, int(round(w * k)))


@dataclass(frozen=True)
class ResizePlan:
    """The sizes (h, w) of one call: `frame` the input; `work` where the network runs; `refine` where the
    refinement runs (None: no refinement)."""

    frame: tuple[int, int]
    work: tuple[int, int]
    refine: tuple[int, int] | None

    @classmethod
    def make(cls, h: int, w: int, work_side: int | None, refine_side: int | None) -> ResizePlan:
        """work_side: longest side of the network's input (None: the frame's); refine_side: the same for the
        refinement (None: no refinement)."""
        return cls((h, w), _bounded(h, w, work_side), None if refine_side is None else _bounded(h, w, refine_side))


def resize_image(img: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    """uint8 [H, W, C] -> [h, w, C] (area interpolation); the array itself when the size is already hw."""
    import cv2

    return img if img.shape[:2] == hw else cv2.resize(img, (hw[1], hw[0]), interpolation=cv2.INTER_AREA)


def resize_labels(labels: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    """int [H, W] -> int32 [h, w] (nearest); the array itself when the size is already hw."""
    import cv2

    labels = np.asarray(labels)
    if labels.shape[:2] == hw:
        return labels
    return cv2.resize(labels.astype(np.int32), (hw[1], hw[0]), interpolation=cv2.INTER_NEAREST)


def resize_flow(flow: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    """float32 [2, H, W] -> [2, h, w], vectors rescaled with the image; the array itself when the size is hw."""
    import cv2

    h, w = hw
    if flow.shape[1:] == hw:
        return flow
    sy, sx = h / flow.shape[1], w / flow.shape[2]
    return np.stack(
        [
            cv2.resize(flow[0], (w, h), interpolation=cv2.INTER_LINEAR) * sx,
            cv2.resize(flow[1], (w, h), interpolation=cv2.INTER_LINEAR) * sy,
        ]
    ).astype(np.float32)


def training_side(weights: str) -> int | None:
    """Longer side of the frames a checkpoint was trained on (from its model card), None when unknown."""
    from segcorr.io.weights import read_model_card

    try:
        data = (read_model_card(weights) or {}).get("train_config", {}).get("data", {})
        crop = data.get("crop")
        return int(max(crop)) if crop else int(max(data["height"], data["width"]))
    except (KeyError, TypeError, ValueError, OSError):
        return None


class FlowPredictor:
    """Optical flow frame 0 -> frame 1 with a flow network, its label maps and the segment-level refinement.

    Arguments:
        model: the network (eval mode is set; it is moved to `device`).
        segmenter: answers `segment_all(img) -> int [H, W]` for frames whose label maps are not given; None: such
            frames have no label map (the network then runs without guidance and the refinement is skipped).
        refine: refinement settings; mode "none" returns the network's flow.
        work_side: frames with a longer side above it run downscaled to it (None: always at full size).
        device: where the network runs (default: where its parameters are).
        deblock_radius: radius (px of the working size) of the guided filter that takes the 1/8-cell blocks out
            of the network's flow (`segcorr.flow.deblock`; 0: off). The refinement fits, chooses and starts its
            classical method from the network's own flow; the filtered flow is what `mode` "none" returns and what
            the segments that keep the network's flow get. Chosen on validation: `src/segcorr/weights/README.md`.
    `reads_segments` (from the model) says whether label maps change the network's output; when they do not,
    only the refinement's label map of frame 0 is made.
    """

    def __init__(
        self,
        model: AniFlowFormerT,
        segmenter: Segmenter | None = None,
        refine: RefineConfig = RefineConfig(),
        work_side: int | None = None,
        device: str | torch.device | None = None,
        deblock_radius: int = 4,
    ) -> None:
        self.model = model.eval() if device is None else model.eval().to(device)
        self.device = next(model.parameters()).device
        self.segmenter, self.refine, self.work_side = segmenter, refine, work_side
        self.deblock_radius = int(deblock_radius)
        self.reads_segments: bool = model.uses_segments

    @classmethod
    def from_weights(
        cls,
        weights: str,
        segmenter: str | None = "flat",
        refine: RefineConfig = RefineConfig(),
        work_side: int | str | None = "auto",
        device: str | torch.device | None = None,
        deblock_radius: int = 4,
    ) -> FlowPredictor:
        """weights: a shipped name (`segcorr/weights`) or a .safetensors path; segmenter: a `segcorr.segment`
        registry name or None; work_side "auto": the training frame size from the model card; deblock_radius: see
        the class."""
        from segcorr.flow import load_pretrained

        seg = None
        if segmenter is not None:
            from segcorr.segment import build

            seg = build(segmenter)
        side = training_side(weights) if work_side == "auto" else work_side
        return cls(load_pretrained(weights), seg, refine, side, torch.device(device or "cpu"), deblock_radius)

    def plan(self, h: int, w: int) -> ResizePlan:
        """The resize plan of frames of h x w."""
        return ResizePlan.make(h, w, self.work_side, None if self.refine.mode == "none" else self.refine.max_side)

    @torch.inference_mode()
    def __call__(
        self, img0: np.ndarray, img1: np.ndarray, seg0: np.ndarray | None = None, seg1: np.ndarray | None = None
    ) -> np.ndarray:
        """img0, img1: uint8 [H, W, 3] RGB; seg0, seg1: int [H, W] label maps (0 = no segment) or None (the
        segmenter's) -> flow float32 [2, H, W] in pixels."""
        hw = check_frames(img0, img1, rgb_only=True)
        check_labels(seg0, hw, "seg0")
        check_labels(seg1, hw, "seg1")
        plan = self.plan(*hw)
        a, b = resize_image(img0, plan.work), resize_image(img1, plan.work)
        ref0, net0, net1 = self._label_maps(img0, a, b, seg0, seg1, plan)
        net, smooth = self._network(a, b, net0, net1)
        if plan.refine is None:
            return resize_flow(smooth, plan.frame)
        size = plan.refine
        flow, raw = resize_flow(net, size), resize_flow(smooth, size)
        if size == plan.frame:
            return refine_flow(img0, img1, flow, ref0, self.refine, raw)
        small = refine_flow(resize_image(img0, size), resize_image(img1, size), flow, ref0, self.refine, raw)
        return resize_flow(small, plan.frame)

    def _label_maps(
        self,
        img0: np.ndarray,
        a: np.ndarray,
        b: np.ndarray,
        seg0: np.ndarray | None,
        seg1: np.ndarray | None,
        plan: ResizePlan,
    ) -> tuple[np.ndarray | None, ...]:
        """(frame 0's label map at the refinement size, frames 0 and 1 at the working size for the network); None
        where not needed or not available. a, b: the frames at the working size."""
        ref0 = None if plan.refine is None or seg0 is None else resize_labels(seg0, plan.refine)
        if plan.refine is None or seg0 is not None or self.segmenter is None:
            if not self.reads_segments:
                return ref0, None, None
            return ref0, self._labels(a, seg0), self._labels(b, seg1)
        # Frame 0 is segmented at the refinement size (thin line art survives there) and shrunk for the network;
        # frame 1 (working size) is segmented meanwhile in a second thread: the same label maps, less waiting.
        with ThreadPoolExecutor(1) as pool:
            job1 = pool.submit(self._labels, b, seg1) if self.reads_segments else None
            ref0 = self.segmenter.segment_all(resize_image(img0, plan.refine))
            net1 = job1.result() if job1 is not None else None
        return ref0, resize_labels(ref0, plan.work) if self.reads_segments else None, net1

    def _labels(self, img: np.ndarray, given: np.ndarray | None) -> np.ndarray | None:
        """The label map of `img` (a frame at the working size): `given` resized, else the segmenter's."""
        if given is not None:
            return resize_labels(given, img.shape[:2])
        return None if self.segmenter is None else self.segmenter.segment_all(img)

    def _network(
        self, a: np.ndarray, b: np.ndarray, s0: np.ndarray | None, s1: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The network's flow of frames a, b (uint8 [h, w, 3]) with label maps s0, s1, as it comes and deblocked
        (`deblock_radius`): float32 [2, h, w] each (the same array when the radius is 0)."""
        out = self.model(self._image(a), self._image(b), self._seg(s0), self._seg(s1))
        flow = out["flow"][0].float().cpu().numpy()
        return flow, deblock_flow(flow, a, self.deblock_radius)

    def _image(self, a: np.ndarray) -> torch.Tensor:
        """uint8 [h, w, 3] -> float [1, 3, h, w] in 0..1 on the model's device."""
        return torch.from_numpy(np.ascontiguousarray(a)).permute(2, 0, 1)[None].float().div(255).to(self.device)

    def _seg(self, s: np.ndarray | None) -> torch.Tensor | None:
        """int [h, w] -> long [1, h, w] on the model's device."""
        return None if s is None else torch.from_numpy(s.astype(np.int64))[None].to(self.device)
