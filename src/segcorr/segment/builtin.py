"""The ``builtin`` segmenter: our SAM 3-style concept model with shipped weights, behind the Segmenter protocol.

It keeps the embedding of the last image it saw (a fingerprint of the pixels decides), so a caller that sends
many prompts for one image pays for the image encoder once.
"""

from __future__ import annotations

import dataclasses
import hashlib

import numpy as np

from segcorr.errors import InputError
from segcorr.segment.base import Masks, Prompts
from segcorr.segment.concept_refine import ConceptConfig
from segcorr.segment.predictor import Sam3Predictor, as_rgb_uint8
from segcorr.segment.zoom import ZoomConfig


def _fingerprint(img: np.ndarray) -> tuple:
    return img.shape, hashlib.blake2b(img.tobytes(), digest_size=16).hexdigest()


def _box_of(m: np.ndarray) -> np.ndarray:
    ys, xs = np.nonzero(m)
    if not len(xs):
        return np.zeros(4, np.float32)
    return np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], np.float32)


def _option(name: str, value, on, off):
    """A True/False/config option -> the config (``on`` / ``off`` for the booleans); InputError for anything else."""
    if isinstance(value, bool):
        return on if value else off
    if not isinstance(value, type(on)):
        raise InputError(f"expected {name} True, False or a {type(on).__name__}, found {value!r}")
    return value


class BuiltinSegmenter:
    """weights: a shipped name or a .safetensors path; refine: "snap" | "none" (see ``Sam3Predictor``); zoom:
    refine point and box answers in a zoomed window (``segment.zoom``; True: the predictor's default
    ``ZoomConfig``, chosen on validation; False: off; or a ``ZoomConfig``);
    text_threshold: the least score of an instance returned for a phrase (0.2: chosen on validation seeds
    500 000-500 005,
    where it doubled COCO mask AP over 0.5 for the shipped weights; it applies to the calibrated scores); concept:
    how phrase answers are scored and thinned (``segment.concept_refine``; True: ``ConceptConfig()``, the
    calibration chosen on validation seeds; False: ``ConceptConfig.identity()``, the model's own scores; or a
    ``ConceptConfig``); grid: points per side for ``segment_all``."""

    name = "builtin"

    def __init__(
        self,
        weights: str = "sam3_tiny",
        refine: str = "snap",
        text_threshold: float = 0.2,
        grid: int = 16,
        zoom: bool | ZoomConfig = True,
        concept: bool | ConceptConfig = True,
    ) -> None:
        zoom = _option("zoom", zoom, ZoomConfig(), dataclasses.replace(ZoomConfig(), enabled=False))
        concept = _option("concept", concept, ConceptConfig(), ConceptConfig.identity())
        self.predictor = Sam3Predictor.from_pretrained(
            weights, refine=refine, text_threshold=text_threshold, zoom=zoom, concept=concept
        )
        self.grid = grid
        self._key: tuple | None = None

    def cache_settings(self) -> dict:
        """What decides the answers besides the weights (read by the isolation's mask cache key)."""
        p = self.predictor
        return {
            "refine": p.refine,
            "zoom": dataclasses.asdict(p.zoom),
            "prompt_snap": dataclasses.asdict(p.prompt_snap),
            "concept": dataclasses.asdict(p.concept),
            "text_threshold": p.text_threshold,
        }

    def _set(self, image: np.ndarray) -> np.ndarray:
        img = as_rgb_uint8(image)
        key = _fingerprint(img)
        if key != self._key:
            self.predictor.set_image(img)
            self._key = key
        return img

    def segment(self, image: np.ndarray, prompts: Prompts) -> Masks:
        """Text: every instance of each phrase (ids = the phrase); boxes and masks: one object each (points join a
        single box); points alone: one object. Returns masks at the image's size with scores, predicted IoUs,
        boxes and, for text, the presence probability (the highest over the phrases)."""
        img = self._set(image)
        h, w = img.shape[:2]
        masks, scores, ious, boxes, ids = [], [], [], [], []
        presence = None
        for phrase in prompts.text:
            r = self.predictor.predict_text(phrase)
            presence = r.presence if presence is None else max(presence, r.presence)
            masks += list(r.masks)
            scores += r.scores.tolist()
            ious += [float("nan")] * len(r.masks)
            boxes += list(r.boxes)
            ids += [phrase] * len(r.masks)
        pts, lab = prompts.points, prompts.point_labels
        if pts is not None and lab is None:
            lab = np.ones(len(pts), np.int64)
        nbox = 0 if prompts.boxes is None else len(prompts.boxes)
        if nbox > 1 and pts is not None:
            raise InputError("points can go with at most one box (one object per box); give them separately")
        asks = []
        for b in prompts.boxes if nbox else []:
            asks.append({"box": b, "point_coords": pts, "point_labels": lab})
        if prompts.masks is not None:
            for m in np.asarray(prompts.masks):
                if m.shape != (h, w):
                    raise InputError(f"expected mask prompts of the image's size {w}x{h}, found {m.shape[::-1]}")
                asks.append({"mask_input": self._mask_logits(m)})
        if pts is not None and not nbox:
            asks.append({"point_coords": pts, "point_labels": lab})
        for k, ask in enumerate(asks):
            m, iou, _, obj = self.predictor.predict(**ask)
            masks.append(m[0])
            ious.append(float(iou[0]))
            scores.append(float(iou[0]) if obj > 0 else 0.0)
            boxes.append(_box_of(m[0]))
            ids.append(k)
        n = len(masks)
        return Masks(
            masks=np.stack(masks) if n else np.zeros((0, h, w), bool),
            scores=np.asarray(scores, np.float32),
            ids=ids,
            iou_pred=np.asarray(ious, np.float32),
            boxes=np.stack(boxes) if n else np.zeros((0, 4), np.float32),
            presence=presence,
        )

    def _mask_logits(self, mask: np.ndarray) -> np.ndarray:
        """A binary mask at image size -> the decoder's low-res logits (+-8, stride 4 of the padded input)."""
        import cv2

        p = self.predictor
        sh, sw = p.scaled_hw
        h4, w4 = p.features["inter"][0].shape[-2:]
        small = cv2.resize(mask.astype(np.float32), (sw, sh), interpolation=cv2.INTER_AREA)
        grid = np.zeros((h4 * 4, w4 * 4), np.float32)
        grid[:sh, :sw] = small
        low = grid.reshape(h4, 4, w4, 4).mean(axis=(1, 3))
        return (low * 2 - 1) * 8.0

    def segment_all(self, image: np.ndarray) -> np.ndarray:
        """Automatic segmentation: a ``grid`` x ``grid`` lattice of clicks, each answered with its best multimask
        output; answers with predicted IoU >= 0.7 are kept, duplicates (IoU > 0.8 with a better one) dropped, and
        painted largest first so smaller parts stay on top. Pixels no answer covers get 0."""
        img = self._set(image)
        h, w = img.shape[:2]
        g = self.grid
        xs = (np.arange(g) + 0.5) * w / g
        ys = (np.arange(g) + 0.5) * h / g
        pts = np.stack(np.meshgrid(xs, ys), -1).reshape(-1, 2).astype(np.float32)
        prob, iou, obj = self.predictor.predict_clicks(pts)
        good = [i for i in np.argsort(-iou) if obj[i] > 0 and iou[i] >= 0.7 and (prob[i] > 0.5).sum() >= 16]
        kept: list[np.ndarray] = []
        for i in good:
            m = prob[i] > 0.5
            if any((m & k).sum() > 0.8 * (m | k).sum() for k in kept):
                continue
            kept.append(m)
        if kept:
            kept = list(self.predictor.finish(np.stack(kept).astype(np.float32)))
        labels = np.zeros((h, w), np.int32)
        for i, m in sorted(enumerate(kept), key=lambda t: -int(t[1].sum())):
            labels[m] = i + 1
        return labels
