"""Reprompt propagation (``TrackerConfig.mode == "reprompt"``): every frame, each object is prompted again from its
last mask (as a mask prompt, its innermost point and, optionally, its box), moved along the DIS flow between the
frames or by its last displacement; with flow, a decoder answer that strays from the warped mask gives way to it."""

from __future__ import annotations

import numpy as np

from segcorr.segment.tracker_config import TrackerConfig
from segcorr.segment.tracker_masks import innermost_point, mask_box, shift_cells, warp_backward
from segcorr.segment.tracker_prompts import PromptCoder
from segcorr.segment.tracker_state import ObjectTrack


class Reprompter:
    """Reprompts for the objects of one video. Its only state is the previous frame, grey at the model's working
    size (bounded); ``reset()`` forgets it."""

    def __init__(self, coder: PromptCoder, config: TrackerConfig) -> None:
        self.coder = coder
        self.config = config
        self.reset()

    def reset(self) -> None:
        self._prev_grey: np.ndarray | None = None

    def flow_back(self, img: np.ndarray) -> np.ndarray | None:
        """DIS medium flow from this frame (uint8 [H, W, 3], the predictor's current image) to the previous one at
        the model's working size ([2, sh, sw]), or None on the first frame."""
        import cv2

        from segcorr.flow.classical import estimate_flow

        sh, sw = self.coder.predictor.scaled_hw
        grey = cv2.resize(cv2.cvtColor(img, cv2.COLOR_RGB2GRAY), (sw, sh), interpolation=cv2.INTER_AREA)
        prev, self._prev_grey = self._prev_grey, grey
        if prev is None or prev.shape != grey.shape:
            return None
        return estimate_flow(grey, prev, "dis-medium")

    def inputs(
        self, tr: ObjectTrack, flow: np.ndarray | None, t: int, hw: tuple[int, int]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """(coords [N, 2] original pixels, labels [N], mask-prompt logits [h4, w4] or None) for one object on frame
        ``t`` (size ``hw``): its last mask moved by the flow (``flow``: [2, sh, sw] from this frame back to the
        last) or its velocity."""
        h, w = hw
        cfg, coder = self.config, self.coder
        point, box, prompt = tr.last_point, tr.last_box, tr.last_prompt
        moved = tr.present and tr.last_t == t - 1
        if flow is not None and moved and tr.last_small is not None:
            warped = warp_backward(tr.last_small, flow)
            if (warped > 0.5).sum() >= 1:
                s = coder.predictor.scale
                point = innermost_point(warped > 0.5) / s
                box = mask_box(warped > 0.5) / s
                prompt = coder.prompt_from_small(warped)
        elif cfg.motion == "velocity" and moved:
            shift = tr.velocity
            point, box = tr.last_point + shift, tr.last_box + np.concatenate([shift, shift])
            cells = np.round(shift * coder.predictor.scale / 4).astype(int)
            prompt = shift_cells(tr.last_prompt, int(cells[0]), int(cells[1]), fill=-cfg.mask_logit_scale)
        coords, labels = [], []
        if "point" in cfg.reprompt_inputs:
            coords.append(np.clip(point, 0, [w - 0.5, h - 0.5])[None])
            labels.append(np.ones(1, np.int64))
        if "box" in cfg.reprompt_inputs:
            b = np.clip(box, 0, [w, h, w, h])
            if b[2] - b[0] >= 1 and b[3] - b[1] >= 1:
                coords.append(b.reshape(2, 2))
                labels.append(np.array([2, 3], np.int64))
        mask = prompt if "mask" in cfg.reprompt_inputs else None
        c = np.concatenate(coords) if coords else np.zeros((0, 2), np.float32)
        lab = np.concatenate(labels) if labels else np.zeros(0, np.int64)
        return c, lab, mask

    def propagate(
        self,
        tracks: list[ObjectTrack],
        flow: np.ndarray | None,
        t: int,
        hw: tuple[int, int],
        probs: dict,
        scores: dict,
    ) -> None:
        """Answer every object of ``tracks`` on frame ``t``: probs[id] float [H, W] and scores[id] are set."""
        coords, labels, mask_in = zip(*(self.inputs(tr, flow, t, hw) for tr in tracks))
        pr, obj = self.coder.answers(self.coder.decode_image(list(coords), list(labels), list(mask_in)))
        for k, tr in enumerate(tracks):
            probs[tr.obj_id], scores[tr.obj_id] = pr[k], float(obj[k])
            if (
                flow is None
                or self.config.flow_gate <= 0
                or obj[k] <= 0
                or tr.last_small is None
                or not (tr.present and tr.last_t == t - 1)
            ):
                continue
            probs[tr.obj_id] = self._fuse(pr[k], warp_backward(tr.last_small, flow), hw)

    def _fuse(self, mine: np.ndarray, warped: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
        """The decoder's probability [H, W] and the flow-warped last mask [sh, sw] -> this frame's probability:
        their mean ("mean"), or the warped mask where the two overlap with IoU below ``flow_gate`` ("gate"; else
        the decoder's)."""
        import cv2

        h, w = hw
        sh, sw = warped.shape
        if self.config.flow_fuse == "mean":
            return 0.5 * (mine + cv2.resize(warped, (w, h), interpolation=cv2.INTER_LINEAR))
        mb = cv2.resize(mine, (sw, sh), interpolation=cv2.INTER_AREA) > 0.5
        wb = warped > 0.5
        union = np.count_nonzero(mb | wb)
        if union and np.count_nonzero(mb & wb) / union < self.config.flow_gate:
            return cv2.resize(warped, (w, h), interpolation=cv2.INTER_LINEAR)
        return mine
