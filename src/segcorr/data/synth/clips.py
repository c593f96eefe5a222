"""Clips: T frames of one synthetic scene, with flows between consecutive frames and masklets."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from segcorr.data.synth.render import flow_between, occlusion, render
from segcorr.data.synth.world import GENERATOR_VERSION, build_scene

CLIP_STEP = 0.35  # scene time per frame: about a third of a cel pair's motion between frames


@dataclass(frozen=True)
class Clip:
    """T frames of one scene (all maps [H, W]).

    frames: list of T uint8 [H, W, 3]; seg / inst: lists of T int32 label maps (ids stable over time);
    flows: list of T-1 float32 [2, H, W], flows[t] maps frame t -> t+1; occ: list of T-1 bool,
    occ[t] = pixels of frame t not visible in frame t+1; line: list of T bool line-art masks;
    masklets: instance id -> bool [T, H, W] visible mask per frame (may be empty in some frames);
    instance_concepts: instance id -> name; concepts: segment id -> name; depth: instance ids front to back.
    """

    frames: list[np.ndarray]
    seg: list[np.ndarray]
    inst: list[np.ndarray]
    flows: list[np.ndarray]
    occ: list[np.ndarray]
    line: list[np.ndarray]
    masklets: dict[int, np.ndarray]
    instance_concepts: dict[int, str]
    concepts: dict[int, str]
    depth: list[int]
    style: str
    seed: int


def make_clip(seed: int, num_frames: int = 8, height: int = 256, width: int = 384, style: str = "cel") -> Clip:
    """Generate the clip for ``seed`` (deterministic). Frame t is the scene at time ``t * CLIP_STEP``."""
    if num_frames < 2:
        raise ValueError(f"num_frames must be >= 2, got {num_frames}")
    if height < 8 or width < 8:
        raise ValueError(f"height and width must be >= 8, got {height}x{width}")
    scene = build_scene(np.random.default_rng(seed), height, width, style)
    mats = [scene.surface_matrices(t * CLIP_STEP) for t in range(num_frames)]
    frames = [render(scene, t * CLIP_STEP, mats[t]) for t in range(num_frames)]
    flows, occ = [], []
    for t in range(num_frames - 1):
        fw = flow_between(frames[t].sid, mats[t], mats[t + 1])
        flows.append(fw)
        occ.append(occlusion(fw, frames[t].sid, frames[t + 1].sid))
    inst = [f.inst for f in frames]
    masklets = {la.instance: np.stack([m == la.instance for m in inst]) for la in scene.layers if la.instance}
    _, _, concepts = scene.surface_tables()
    return Clip(
        frames=[f.image for f in frames],
        seg=[f.seg for f in frames],
        inst=inst,
        flows=flows,
        occ=occ,
        line=[f.line for f in frames],
        masklets=dict(sorted(masklets.items())),
        instance_concepts=scene.instance_concepts(),
        concepts=concepts,
        depth=scene.depth(),
        style=scene.style,
        seed=seed,
    )


def _encode(mask: np.ndarray) -> dict:
    """COCO RLE with ``counts`` as str; prefers the shared codec so every file agrees."""
    try:
        from segcorr.io.rle import encode_mask
    except ImportError:  # the io package may not ship rle yet; pycocotools gives the same format
        from pycocotools import mask as mask_utils

        rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
        return {"size": [int(s) for s in rle["size"]], "counts": rle["counts"].decode("ascii")}
    return encode_mask(mask)


def _write_clip(d: Path, c: Clip, num_frames: int, height: int, width: int) -> dict:
    """Write one clip's files into folder ``d`` (layout of ``write_clips``); returns its entry of the top meta."""
    from segcorr.io.atomic import atomic_write_text
    from segcorr.io.flo import write_flo
    from segcorr.io.image import write_image
    from segcorr.io.labelmap import write_labelmap

    for t in range(num_frames):
        write_image(d / f"frame_{t:03d}.png", c.frames[t])
        write_labelmap(d / f"seg_{t:03d}.png", c.seg[t])
        write_labelmap(d / f"inst_{t:03d}.png", c.inst[t])
        if t < num_frames - 1:
            write_flo(d / f"flow_{t:03d}.flo", c.flows[t])
    masklets = {
        str(k): {
            "concept": c.instance_concepts[k],
            "frames": {str(t): _encode(m[t]) for t in range(num_frames) if m[t].any()},
        }
        for k, m in c.masklets.items()
    }
    atomic_write_text(d / "masklets.json", json.dumps(masklets))
    info = {
        "name": d.name,
        "seed": c.seed,
        "style": c.style,
        "depth": c.depth,
        "concepts": {str(k): v for k, v in sorted(c.concepts.items())},
        "instance_concepts": {str(k): v for k, v in c.instance_concepts.items()},
    }
    meta = {"generator": GENERATOR_VERSION, "num_frames": num_frames, "height": height, "width": width, **info}
    atomic_write_text(d / "meta.json", json.dumps(meta, indent=1))
    return info


def write_clips(
    out_dir: str | Path,
    count: int,
    seed: int = 0,
    num_frames: int = 8,
    height: int = 256,
    width: int = 384,
    progress: bool = True,
    style: str = "cel",
) -> Path:
    """Write ``count`` clips (clip i uses seed ``seed + i``); returns ``out_dir``.

    Layout: ``clip_NNNNN/frame_TTT.png``, ``seg_TTT.png`` and ``inst_TTT.png`` (16-bit),
    ``flow_TTT.flo`` (TTT -> TTT+1), ``masklets.json`` = {instance id: {"concept", "frames": {t: RLE}}}
    (frames where the instance is invisible are left out), ``meta.json`` per clip and at the top.
    """
    from segcorr.data.synth.cels import start_writing
    from segcorr.io.atomic import atomic_write_text

    out, prog, task = start_writing(out_dir, count, "clips", progress)
    clips = []
    with prog:
        for i in range(count):
            c = make_clip(seed + i, num_frames, height, width, style)
            clips.append(_write_clip(out / f"clip_{i:05d}", c, num_frames, height, width))
            prog.advance(task)
    meta = {
        "generator": GENERATOR_VERSION,
        "kind": "clips",
        "count": count,
        "seed": seed,
        "num_frames": num_frames,
        "height": height,
        "width": width,
        "style": style,
        "frame_step": CLIP_STEP,
        "clips": clips,
    }
    atomic_write_text(out / "meta.json", json.dumps(meta, indent=1))
    return out
