"""Task family ``sam3_track``: the tracker memory (``segcorr.segment.memory``) on synthetic clips.

Config: ``model.name`` a memory registry name (``track_tiny``, ``track-test``); ``model.args``: ``MemoryConfig``
overrides plus ``image`` (the image model's registry name, default ``sam3_tiny``), ``image_weights`` (a name or
.safetensors path; None = random) and ``train_image`` (fine-tune the image model too; default false: frozen).
``memory_weights`` (a name or .safetensors of ``load_memory``'s format to start the memory from; None = random).
``data.height/width/style/seed_start/length``; ``data.args``: ``frames`` (T, default 4), ``min_pixels``, ``exits``
(the share of samples whose clip takes one instance out of the frame and back and tracks that one; default 0).

One sample = one clip of T frames (``segcorr.data.synth.clips.make_clip``) and one instance visible on frame 0.
The model does what ``Sam3Tracker`` does in memory mode: frame 0 is answered from its true mask (mask prompt +
innermost click), which becomes the conditioning memory; frames 1..T-1 are answered from memory attention
without clicks (with ``MemoryConfig.mask_prompt``: the previous frame's answer, binarised, as a mask prompt; frame 1
gets the true first mask), each answer joining the FIFO. Loss per frame: BCE + dice of the stride-4 mask logits where
the object is visible, BCE of the object score everywhere. ``export_track_memory`` writes the memory part alone
in the file format ``segcorr.segment.tracker.load_memory`` reads.

Registration (the trainer's tables): ``"sam3_track": "segcorr.train.task_sam3_track"`` in
``tasks._FAMILY_MODULES`` and ``"sam3_track": ("synth",)`` in ``config.TASK_DATA_KINDS``.
"""

from __future__ import annotations

from collections import deque

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import Dataset

from segcorr.errors import InputError
from segcorr.train.config import TrainConfig
from segcorr.train.tasks import TaskFamily, batches_of, outputs_loss, validation_off, with_init_weights

STRIDE = 4
PROMPT_SCALE = 6.0  # mask-prompt logits: (cell share * 2 - 1) * this, as the tracker sends them


class TrackClipDataset(Dataset):
    """Clips of ``frames`` frames at height x width; item -> {"frames" [T, 3, H, W] 0..1, "target" [T, H/4, W/4]
    (cell shares), "visible" [T] bool, "point0" [1, 2] (x, y) pixels}.

    ``exits`` in [0, 1]: the share of samples (drawn per sample from its seed) made with ``make_clip(exits=1)``, whose
    tracked instance is the one that leaves the frame and comes back (the object score then has frames to learn
    absence from); when that instance is too small on frame 0, any other is tracked as usual."""

    def __init__(
        self,
        seed_start: int,
        length: int,
        height: int,
        width: int,
        style: str = "mixed",
        frames: int = 4,
        min_pixels: int = 64,
        exits: float = 0.0,
    ) -> None:
        if height % 32 or width % 32:
            raise InputError(f"expected clip height and width multiples of 32, found {height}x{width}")
        if frames < 2:
            raise InputError(f"expected at least 2 frames per clip, found {frames}")
        if not 0.0 <= exits <= 1.0:
            raise InputError(f"expected exits (a share of samples) in [0, 1], found {exits}")
        self.exits = float(exits)
        self.seed_start, self.length, self.h, self.w = seed_start, length, height, width
        self.style, self.frames, self.min_pixels = style, frames, min_pixels

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, item) -> dict:
        from segcorr.data.synth.clips import make_clip
        from segcorr.segment.tracker import innermost_point

        idx, draw = (int(item[0]), int(item[1])) if isinstance(item, tuple) else (int(item), 0)
        for k in range(16):  # a clip with nothing big enough on frame 0 is replaced by the next seed
            seed = self.seed_start + (idx + k * self.length) % max(self.length, 1) if k else self.seed_start + idx
            exits = int(self.exits > 0 and np.random.default_rng([seed, 13, draw]).random() < self.exits)
            clip = make_clip(seed, self.frames, self.h, self.w, self.style, exits)
            cands = [i for i, m in clip.masklets.items() if m[0].sum() >= self.min_pixels]
            if cands:
                break
        else:
            raise RuntimeError(f"no instance visible on frame 0 in 16 clips from seed {self.seed_start + idx}")
        rng = np.random.default_rng([seed, 11, draw])
        leaver = min(clip.masklets) if exits else None  # with_exits moves the lowest instance id
        pick = leaver if leaver in cands else cands[int(rng.integers(len(cands)))]
        m = clip.masklets[pick]  # [T, H, W] bool
        t, h, w = m.shape
        share = m.reshape(t, h // STRIDE, STRIDE, w // STRIDE, STRIDE).mean(axis=(2, 4), dtype=np.float32)
        frames = np.stack(clip.frames).astype(np.float32).transpose(0, 3, 1, 2) / 255.0
        return {
            "frames": torch.from_numpy(frames),
            "target": torch.from_numpy(share),
            "visible": torch.from_numpy(m.reshape(t, -1).any(1)),
            "point0": torch.from_numpy(innermost_point(m[0])[None]),
        }


class TrackTrainModel(nn.Module):
    """The image model and the tracker memory unrolled over a clip (see the module docstring)."""

    def __init__(self, image: nn.Module, memory: nn.Module, train_image: bool = False) -> None:
        super().__init__()
        self.image, self.memory, self.train_image = image, memory, train_image
        if not train_image:
            for p in self.image.parameters():
                p.requires_grad_(False)

    def forward(self, batch: dict) -> dict[str, torch.Tensor]:
        """batch from ``TrackClipDataset`` (stacked) -> {"masks" [B, T-1, 4h, 4w] logits, "obj" [B, T-1]}."""
        from segcorr.segment.memory import MemoryEntry

        frames = batch["frames"]
        b, t = frames.shape[:2]
        with torch.set_grad_enabled(self.train_image and torch.is_grad_enabled()):
            feats = self.image.encode_image(frames.flatten(0, 1))
            feats["high_res"] = self.image.mask_decoder.project_high_res(*feats["inter"][:2])
        f16 = feats["inter"][2].view(b, t, *feats["inter"][2].shape[1:])
        s0, s1 = (f.view(b, t, *f.shape[1:]) for f in feats["high_res"])
        dev = frames.device
        first = torch.arange(b, device=dev) * t
        prompt = (batch["target"][:, :1] * 2 - 1) * PROMPT_SCALE
        out0 = self.image.predict_prompts(
            feats,
            first,
            batch["point0"],
            torch.ones(b, 1, dtype=torch.long, device=dev),
            prompt,
            torch.ones(b, dtype=torch.bool, device=dev),
        )
        given = (batch["target"][:, :1] > 0.5).to(f16.dtype) * 48 - 24  # the true mask is frame 0's answer
        mem0 = self.memory.encode(f16[:, 0], given, out0["object_score_logits"])
        ptr0 = self.memory.pointer(out0["sam_tokens"], out0["object_score_logits"])
        banks = [
            (MemoryEntry(mem0[i], ptr0[i], 0, cond=True), deque(maxlen=self.memory.num_maskmem - 1)) for i in range(b)
        ]
        masks, objs = [], []
        pad_c = torch.zeros(b, 1, 2, device=dev)
        pad_l = torch.full((b, 1), -1, dtype=torch.long, device=dev)
        has = torch.full((b,), self.memory.config.mask_prompt, dtype=torch.bool, device=dev)
        prev = prompt  # [B, 1, 4h, 4w]: the object's previous answer as mask-prompt logits
        for k in range(1, t):
            cond = torch.cat(
                [self.memory.condition(f16[i, k], feats["pos16"], [[c, *r]], k) for i, (c, r) in enumerate(banks)]
            )
            per = {
                "inter": [None, None, cond],
                "high_res": (s0[:, k], s1[:, k]),
                "pos16": feats["pos16"],
                "size": feats["size"],
            }
            out = self.image.predict_prompts(per, torch.arange(b, device=dev), pad_c, pad_l, prev, has)
            prev = ((out["masks"][:, :1].detach() > 0).to(prev.dtype) * 2 - 1) * PROMPT_SCALE
            masks.append(out["masks"][:, 0])
            objs.append(out["object_score_logits"][:, 0])
            mem = self.memory.encode(f16[:, k], out["masks"][:, :1], out["object_score_logits"])
            ptr = self.memory.pointer(out["sam_tokens"], out["object_score_logits"])
            for i, (_, recent) in enumerate(banks):
                recent.append(MemoryEntry(mem[i], ptr[i], k))
        return {"masks": torch.stack(masks, 1), "obj": torch.stack(objs, 1)}


def track_loss(out: dict, batch: dict) -> tuple[torch.Tensor, dict[str, float]]:
    """BCE + dice on visible frames 1..T-1, object-score BCE on all of them."""
    tgt = (batch["target"][:, 1:] > 0.5).float()
    vis = batch["visible"][:, 1:].float()
    logits = out["masks"]
    bce = F.binary_cross_entropy_with_logits(logits, tgt, reduction="none").flatten(2).mean(-1)
    p = logits.sigmoid().flatten(2)
    dice = 1 - (2 * (p * tgt.flatten(2)).sum(-1) + 1) / (p.sum(-1) + tgt.flatten(2).sum(-1) + 1)
    n = vis.sum().clamp(min=1)
    mask_loss = ((bce + dice) * vis).sum() / n
    obj_loss = F.binary_cross_entropy_with_logits(out["obj"], vis)
    total = mask_loss + obj_loss
    return total, {"loss_mask": float(mask_loss.detach()), "loss_obj": float(obj_loss.detach())}


NON_MEMORY_ARGS = ("image", "image_weights", "train_image", "memory_weights")  # model.args keys not of MemoryConfig


def memory_config(name: str, args: dict):
    """The ``MemoryConfig`` of a run: memory registry ``name`` with ``model.args`` less ``NON_MEMORY_ARGS``; ``d_model``
    defaults to the image model's width."""
    from segcorr.segment.memory import memory_config_for
    from segcorr.segment.model import config_for

    mem_args = {k: v for k, v in args.items() if k not in NON_MEMORY_ARGS}
    mem_args.setdefault("d_model", config_for(args.get("image", "sam3_tiny")).d_model)
    return memory_config_for(name, **mem_args)


def build_model(cfg: TrainConfig) -> nn.Module:
    from segcorr.io.weights import load_weights
    from segcorr.segment.memory import build_memory_from_config
    from segcorr.segment.model import build as build_image

    args = cfg.model.args
    image = build_image(args.get("image", "sam3_tiny"))
    if args.get("image_weights"):
        load_weights(image, args["image_weights"], strict=True)
    memory = build_memory_from_config(memory_config(cfg.model.name, args))
    if args.get("memory_weights"):
        load_weights(memory, args["memory_weights"], strict=True)
    return with_init_weights(TrackTrainModel(image, memory, bool(args.get("train_image", False))), cfg)


def _dataset(cfg: TrainConfig, val: bool) -> TrackClipDataset:
    src = cfg.val if val else cfg.data
    args = dict(src.args)
    unknown = sorted(set(args) - {"frames", "min_pixels", "exits"})
    if unknown:
        raise InputError(
            f"unknown key(s) {unknown} in {'val' if val else 'data'}.args; valid: frames, min_pixels, exits"
        )
    start, length = (cfg.val.seed_start, cfg.val.count) if val else (cfg.data.seed_start, cfg.data.length)
    return TrackClipDataset(start, length, src.height, src.width, src.style, **args)


def build_dataset(cfg: TrainConfig) -> Dataset:
    return _dataset(cfg, val=False)


def make_loss(cfg: TrainConfig):
    return outputs_loss(track_loss)


def val_batches(cfg: TrainConfig, device: torch.device) -> list:
    if validation_off(cfg):
        return []
    return batches_of(_dataset(cfg, val=True), cfg.batch_size, torch.utils.data.default_collate, device)


@torch.no_grad()
def validate(model: nn.Module, batches: list, cfg: TrainConfig) -> dict[str, float]:
    """Mean IoU of frames 1..T-1 where the object is visible, object-score accuracy, and the loss."""
    was = model.training
    model.eval()
    ious, acc, losses = [], [], []
    for b in batches:
        out = model(b)
        loss, _ = track_loss(out, b)
        losses.append(float(loss))
        vis = b["visible"][:, 1:]
        pred, tgt = out["masks"] > 0, b["target"][:, 1:] > 0.5
        inter = (pred & tgt).flatten(2).sum(-1).float()
        union = (pred | tgt).flatten(2).sum(-1).float().clamp(min=1)
        ious.append((inter / union)[vis])
        acc.append(((out["obj"] > 0) == vis).float().flatten())
    model.train(was)
    return {
        "val/track_miou": float(torch.cat(ious).mean()) if ious else float("nan"),
        "val/obj_acc": float(torch.cat(acc).mean()) if acc else float("nan"),
        "val/loss": float(np.mean(losses)) if losses else float("nan"),
    }


def export_track_memory(model_or_state, out_path, config) -> None:
    """Write the memory part of a ``TrackTrainModel`` (module or state dict) as a file ``load_memory`` reads;
    ``config``: the ``MemoryConfig`` it was built with."""
    import dataclasses
    import json

    from segcorr.io.weights import save_weights

    sd = model_or_state.state_dict() if hasattr(model_or_state, "state_dict") else model_or_state
    mem = {k[len("memory.") :]: v for k, v in sd.items() if k.startswith("memory.")}
    save_weights(mem, out_path, {"name": "track_tiny", "config": json.dumps(dataclasses.asdict(config))})


FAMILY = TaskFamily(
    build_model=build_model,
    build_dataset=build_dataset,
    make_loss=make_loss,
    val_batches=val_batches,
    validate=validate,
)
