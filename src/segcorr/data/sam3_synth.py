"""Training samples for the concept model, generated on the fly from the synthetic world (nothing on disk).

Each item is one rendered frame of a random scene (``segcorr.data.synth.world``) with
- prompted samples, SAM-style: one object per sample, asked by a click somewhere inside it (multimask, as SAM
  trains single clicks), a noisy box, a click plus corrective clicks (a negative one on a neighbour inside the
  box, a second positive one), or a degraded mask of it; the target is a part (hair, sleeve, sky...) or, for a
  share of boxes and clicks, a whole character or object;
- ``FindQuery`` samples (``segcorr.data.concepts``): phrases present with all their instances, and absent
  phrases (half of them hard: a present noun with another colour).
Targets are soft masks at stride 4 of the model input (the share of each 4x4 cell inside the object).
Seeds: training >= 1_000_000, validation 500_000..999_999 (``split`` checks it).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from segcorr.data.concepts import find_queries
from segcorr.data.synth.render import render
from segcorr.data.synth.world import build_scene

STRIDE = 4


@dataclass(frozen=True)
class Sam3DataConfig:
    """height/width: frame size (multiples of 32); n_prompts: prompted samples per image; n_pos / n_neg: phrases
    per image; context_length: token length; min_pixels: smallest target; hflip: flip probability."""

    height: int = 288
    width: int = 384
    style: str = "mixed"
    n_prompts: int = 8
    n_pos: int = 3
    n_neg: int = 3
    context_length: int = 32
    min_pixels: int = 24
    max_points: int = 3
    hflip: float = 0.5
    jitter: float = 0.1


def _soft(mask: np.ndarray) -> np.ndarray:
    """bool [H, W] -> float32 [H/4, W/4]: the share of each 4x4 cell inside the mask."""
    h, w = mask.shape
    return mask.reshape(h // STRIDE, STRIDE, w // STRIDE, STRIDE).mean(axis=(1, 3), dtype=np.float32)


def _box(mask: np.ndarray) -> np.ndarray:
    ys, xs = np.nonzero(mask)
    return np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], np.float32)


def _interior_point(rng: np.random.Generator, mask: np.ndarray) -> np.ndarray:
    """A click inside ``mask``: half the time near its innermost pixels, else anywhere inside."""
    dist = cv2.distanceTransform(np.pad(mask, 1).astype(np.uint8), cv2.DIST_L2, 3)[1:-1, 1:-1]
    if rng.random() < 0.5:
        cand = np.argwhere(dist >= 0.6 * dist.max())
    else:
        cand = np.argwhere(mask)
    y, x = cand[int(rng.integers(len(cand)))]
    return np.array([x, y], np.float32)


def _prompt_sample(rng: np.random.Generator, target: np.ndarray, seg: np.ndarray, max_points: int):
    """(coords [max_points + 2, 2], labels, multimask, mask_in [H/4, W/4] or None) for one target."""
    h, w = target.shape
    coords = np.zeros((max_points + 2, 2), np.float32)
    labels = np.full(max_points + 2, -1, np.int64)
    kind = rng.choice(["point", "box", "corrective", "mask"], p=[0.4, 0.3, 0.2, 0.1])
    mask_in = None
    multimask = False
    if kind in ("point", "corrective", "mask"):
        coords[0] = _interior_point(rng, target)
        labels[0] = 1
        multimask = kind == "point"
    if kind == "corrective":
        k = 1
        x0, y0, x1, y1 = _box(target).astype(int)
        pad = max(4, int(0.2 * max(x1 - x0, y1 - y0)))
        ring = np.zeros_like(target)
        ring[max(0, y0 - pad) : y1 + pad, max(0, x0 - pad) : x1 + pad] = True
        ring &= ~target
        if ring.any():
            cand = np.argwhere(ring)
            y, x = cand[int(rng.integers(len(cand)))]
            coords[k], labels[k] = (x, y), 0
            k += 1
        if k < max_points:
            coords[k], labels[k] = _interior_point(rng, target), 1
    if kind == "box":
        b = _box(target)
        side = np.array([b[2] - b[0], b[3] - b[1], b[2] - b[0], b[3] - b[1]], np.float32)
        noise = rng.normal(0, 0.07, 4) * side
        b = b + np.clip(noise, -20, 20)
        b = np.clip(b, 0, [w, h, w, h])
        if b[2] - b[0] < 2 or b[3] - b[1] < 2:
            b = _box(target)
        coords[max_points:], labels[max_points:] = b.reshape(2, 2), (2, 3)
    if kind == "mask":
        m = target.astype(np.uint8)
        r = int(rng.integers(1, 6))
        op = cv2.erode if rng.random() < 0.5 else cv2.dilate
        m = op(m, np.ones((2 * r + 1, 2 * r + 1), np.uint8))
        soft = _soft(m.astype(bool)) if m.any() else _soft(target)
        mask_in = (soft * 2 - 1) * float(rng.uniform(2, 8))
    return coords, labels, multimask, mask_in


class Sam3SynthDataset(Dataset):
    """Item i renders the scene of seed ``seed_start + i``; see the module docstring for its content."""

    def __init__(
        self,
        seed_start: int,
        length: int,
        cfg: Sam3DataConfig = Sam3DataConfig(),
        split: str = "train",
        augment: bool = True,
    ) -> None:
        if split == "train" and seed_start < 1_000_000:
            raise ValueError(f"training seeds start at 1_000_000, got {seed_start}")
        if split == "val" and not 500_000 <= seed_start < 1_000_000:
            raise ValueError(f"validation seeds are 500_000..999_999, got {seed_start}")
        if cfg.height % 32 or cfg.width % 32:
            raise ValueError(f"frame size must be multiples of 32, got {cfg.height}x{cfg.width}")
        from segcorr.segment.tokenizer import CLIPTokenizer

        self.seed_start, self.length, self.cfg, self.augment = seed_start, length, cfg, augment
        self.tokenizer = CLIPTokenizer(cfg.context_length)

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, item: int | tuple[int, int]) -> dict:
        """item: an index, or (index, draw) as the trainer's sampler gives (a later pass draws new prompts)."""
        idx, draw = (int(item[0]), int(item[1])) if isinstance(item, tuple) else (int(item), 0)
        if not 0 <= idx < self.length:
            raise IndexError(idx)
        cfg = self.cfg
        seed = self.seed_start + idx
        scene = build_scene(np.random.default_rng(seed), cfg.height, cfg.width, cfg.style)
        # One generator for everything below, drawn in this order: time, flip, jitter, prompts, queries.
        rng = np.random.default_rng([seed, 7, draw])
        img, seg, inst = self._frame(scene, rng)
        _, _, concepts = scene.surface_tables()
        inst_concepts = {la.instance: la.concept for la in scene.layers if la.instance}  # 0: background planes
        prompted = self._prompted(rng, seg, inst)
        queries = find_queries(seg, inst, concepts, inst_concepts, rng, cfg.n_pos, cfg.n_neg, min_pixels=cfg.min_pixels)
        c_masks, c_boxes = self._query_targets(queries)
        return {
            "image": img,
            **prompted,
            "c_tokens": self.tokenizer([q.text for q in queries])
            if queries
            else torch.zeros(0, cfg.context_length, dtype=torch.long),
            "c_positive": torch.tensor([q.positive for q in queries], dtype=torch.bool),
            "c_exhaustive": torch.tensor([q.is_exhaustive for q in queries], dtype=torch.bool),
            "c_masks": c_masks,
            "c_boxes": c_boxes,
        }

    def _frame(self, scene, rng: np.random.Generator) -> tuple[torch.Tensor, np.ndarray, np.ndarray]:
        """Render the scene at a random time, flip and jitter it: (image float [3, H, W] in 0..1, seg, inst)."""
        cfg = self.cfg
        t = float(rng.uniform(0, 1))
        frame = render(scene, t, scene.surface_matrices(t))
        image, seg, inst = frame.image, frame.seg, frame.inst
        if self.augment and rng.random() < cfg.hflip:
            image, seg, inst = image[:, ::-1], seg[:, ::-1], inst[:, ::-1]
        img = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1).float() / 255.0
        if self.augment and cfg.jitter > 0:  # brightness/contrast only: hue shifts would rename colours
            a = 1 + float(rng.uniform(-cfg.jitter, cfg.jitter))
            b = float(rng.uniform(-cfg.jitter, cfg.jitter)) / 2
            img = ((img - 0.5) * a + 0.5 + b).clamp(0, 1)
        return img, seg, inst

    def _prompted(self, rng: np.random.Generator, seg: np.ndarray, inst: np.ndarray) -> dict:
        """``n_prompts`` targets (a quarter whole layers, the rest parts) and a prompt for each: the p_* tensors."""
        cfg = self.cfg
        targets = []
        ids, counts = np.unique(seg, return_counts=True)
        parts = [int(s) for s, c in zip(ids, counts) if s > 0 and c >= cfg.min_pixels]
        layers = [int(s) for s in np.unique(inst) if s > 0 and (inst == s).sum() >= cfg.min_pixels]
        for _ in range(cfg.n_prompts):
            if layers and rng.random() < 0.25:
                targets.append(inst == layers[int(rng.integers(len(layers)))])
            elif parts:
                targets.append(seg == parts[int(rng.integers(len(parts)))])
        h4, w4 = cfg.height // STRIDE, cfg.width // STRIDE
        n = len(targets)
        p_coords = np.zeros((n, cfg.max_points + 2, 2), np.float32)
        p_labels = np.full((n, cfg.max_points + 2), -1, np.int64)
        p_multi = np.zeros(n, bool)
        p_mask_in = np.zeros((n, 1, h4, w4), np.float32)
        p_has_mask = np.zeros(n, bool)
        p_target = np.zeros((n, h4, w4), np.float32)
        for k, tgt in enumerate(targets):
            c, lab, multi, mask_in = _prompt_sample(rng, tgt, seg, cfg.max_points)
            p_coords[k], p_labels[k], p_multi[k] = c, lab, multi
            if mask_in is not None:
                p_mask_in[k, 0], p_has_mask[k] = mask_in, True
            p_target[k] = _soft(tgt)
        return {
            "p_coords": torch.from_numpy(p_coords),
            "p_labels": torch.from_numpy(p_labels),
            "p_multimask": torch.from_numpy(p_multi),
            "p_mask_in": torch.from_numpy(p_mask_in),
            "p_has_mask": torch.from_numpy(p_has_mask),
            "p_target": torch.from_numpy(p_target),
        }

    def _query_targets(self, queries: list) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """Per query: soft instance masks [N, H/4, W/4] and boxes [N, 4] (cx, cy, w, h as shares of the frame)."""
        cfg = self.cfg
        h4, w4 = cfg.height // STRIDE, cfg.width // STRIDE
        c_masks, c_boxes = [], []
        for q in queries:
            c_masks.append(
                torch.from_numpy(
                    np.stack([_soft(m) for m in q.masks]) if q.positive else np.zeros((0, h4, w4), np.float32)
                )
            )
            if q.positive:
                bx = np.stack([_box(m) for m in q.masks])
                cxcywh = np.stack(
                    [
                        (bx[:, 0] + bx[:, 2]) / 2 / cfg.width,
                        (bx[:, 1] + bx[:, 3]) / 2 / cfg.height,
                        (bx[:, 2] - bx[:, 0]) / cfg.width,
                        (bx[:, 3] - bx[:, 1]) / cfg.height,
                    ],
                    1,
                )
                c_boxes.append(torch.from_numpy(cxcywh.astype(np.float32)))
            else:
                c_boxes.append(torch.zeros(0, 4))
        return c_masks, c_boxes


def collate(items: list[dict]) -> dict:
    """Images stacked; prompted samples and phrases concatenated with the index of their image (p_bidx, c_bidx);
    per-phrase instance targets kept as lists (c_masks [N_t, h, w], c_boxes [N_t, 4])."""
    out = {"images": torch.stack([it["image"] for it in items])}
    for key in (
        "p_coords",
        "p_labels",
        "p_multimask",
        "p_mask_in",
        "p_has_mask",
        "p_target",
        "c_tokens",
        "c_positive",
        "c_exhaustive",
    ):
        out[key] = torch.cat([it[key] for it in items])
    out["p_bidx"] = torch.cat([torch.full((len(it["p_labels"]),), i, dtype=torch.long) for i, it in enumerate(items)])
    out["c_bidx"] = torch.cat([torch.full((len(it["c_tokens"]),), i, dtype=torch.long) for i, it in enumerate(items)])
    out["c_masks"] = [m for it in items for m in it["c_masks"]]
    out["c_boxes"] = [b for it in items for b in it["c_boxes"]]
    return out
