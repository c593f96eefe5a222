"""Memory propagation (``TrackerConfig.mode == "memory"``, SAM 2 / SAM 3 tracker): the frame's features are
conditioned by memory attention on each object's bank (``ObjectTrack.cond`` + ``recent``) and the decoder answers
without clicks (with ``MemoryConfig.mask_prompt``, its last mask is a mask prompt); answers are encoded back into
the banks. Also ``load_memory`` for trained weights."""

from __future__ import annotations

import numpy as np
import torch

from segcorr.segment.memory import MemoryEntry, Sam3TrackMemory
from segcorr.segment.tracker_masks import innermost_point
from segcorr.segment.tracker_prompts import PromptCoder
from segcorr.segment.tracker_state import ObjectTrack


class MemoryPropagator:
    """Memory-mode model calls for the current image of ``coder.predictor`` with a trained ``memory``. Holds no
    state: the banks live in each ``ObjectTrack``."""

    def __init__(self, coder: PromptCoder, memory: Sam3TrackMemory) -> None:
        self.coder = coder
        self.memory = memory

    def propagate(self, tracks: list[ObjectTrack], t: int, probs: dict, scores: dict) -> None:
        """Answer every object of ``tracks`` on frame ``t`` from its memories (probs[id] float [H, W], scores[id])
        and add the answers to the banks' FIFOs."""
        p, mem = self.coder.predictor, self.memory
        feats = p.features
        if "high_res" not in feats:  # the image's cache, as the model keeps it
            feats["high_res"] = p.model.mask_decoder.project_high_res(*feats["inter"][:2])
        f16 = feats["inter"][2]
        cond = mem.condition(f16[0], feats["pos16"], [tr.memories() for tr in tracks], t)
        n = len(tracks)
        per_obj = {
            "inter": [feats["inter"][0], feats["inter"][1], cond],
            "high_res": tuple(f.expand(n, -1, -1, -1) for f in feats["high_res"]),
            "pos16": feats["pos16"],
            "size": feats["size"],
        }
        dev = self.coder.device()
        empty = [np.zeros((0, 2), np.float32)] * n
        prev = [tr.last_prompt if mem.config.mask_prompt else None for tr in tracks]
        out = self.coder.decode(per_obj, torch.arange(n, device=dev), empty, [np.zeros(0, np.int64)] * n, prev)
        pr, obj = self.coder.answers(out)
        for k, tr in enumerate(tracks):
            probs[tr.obj_id], scores[tr.obj_id] = pr[k], float(obj[k])
        self.write(tracks, out, cond=False, t=t)

    def write(
        self, tracks: list[ObjectTrack], out: dict, cond: bool, t: int, masks_hr: list[np.ndarray] | None = None
    ) -> None:
        """Encode frame ``t``'s answers (decoder output ``out``, one row per track; ``masks_hr``: float [H, W]
        masks given as answers, encoded instead of the decoder's guess) into each object's bank: a prompted frame
        replaces the conditioning memory, any other joins the FIFO (its oldest entry falls out)."""
        mem = self.memory
        f16 = self.coder.predictor.features["inter"][2]
        logits = out["masks"][:, :1]
        if masks_hr is not None:
            logits = torch.stack([torch.from_numpy(self.coder.mask_prompt(m > 0.5)) for m in masks_hr])[:, None]
            logits = logits.to(f16) * 4
        obj = out["object_score_logits"]
        feat = mem.encode(f16.expand(len(tracks), -1, -1, -1), logits, obj)
        ptr = mem.pointer(out["sam_tokens"], obj)
        for k, tr in enumerate(tracks):
            e = MemoryEntry(feat[k].detach(), ptr[k].detach(), t, cond)
            if cond:
                tr.cond = e
            else:
                tr.recent.append(e)

    def encode_detection(self, tr: ObjectTrack, m: np.ndarray, t: int) -> None:
        """A detection (bool [H, W]) that starts (or brings back) a masklet becomes its conditioning memory."""
        out = self.coder.decode_image([innermost_point(m)[None]], [np.ones(1, np.int64)], [self.coder.mask_prompt(m)])
        self.write([tr], out, cond=True, t=t, masks_hr=[m.astype(np.float32)])


def load_memory(name_or_path: str) -> Sam3TrackMemory:
    """``Sam3TrackMemory`` from a .safetensors file (or shipped name) whose metadata holds "name" and "config"."""
    import json

    from segcorr.io.weights import load_weights, read_weights_metadata
    from segcorr.segment.memory import MemoryConfig, build_memory_from_config, memory_config_for

    meta = read_weights_metadata(name_or_path)
    cfg = memory_config_for(
        meta.get("name", "track_tiny") if meta.get("name") in ("track_tiny", "track-test") else "track_tiny"
    )
    if "config" in meta:
        fields = json.loads(meta["config"])
        cfg = MemoryConfig(**{k: v for k, v in fields.items() if k in MemoryConfig.__dataclass_fields__})
    mem = build_memory_from_config(cfg)
    load_weights(mem, name_or_path, strict=True)
    return mem
