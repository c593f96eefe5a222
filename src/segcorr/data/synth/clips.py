"""Clips: T frames of one synthetic scene, with flows between consecutive frames and masklets."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from segcorr.data.synth.render import flow_between, occlusion, render
from segcorr.data.synth.scene import Scene, translate
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


EXIT_PHASES = (0.15, 0.4, 0.55, 0.8)  # clip fractions: start leaving, fully out, start coming back, fully back


@dataclass(frozen=True)
class Excursion:
    """A layer's motion plus a horizontal detour: ``base.matrix(t)`` shifted by ``dx`` (interpolated over the
    scene times ``times``), which takes the layer out of the frame and back (``make_clip(exits=...)``)."""

    base: Any
    times: np.ndarray
    dx: np.ndarray

    def matrix(self, t: float) -> np.ndarray:
        return translate(float(np.interp(t, self.times, self.dx)), 0.0) @ self.base.matrix(t)


def _layer_x_extent(scene: Scene, layer: int, t: float) -> tuple[float, float]:
    """Leftmost and rightmost image x of layer ``layer``'s sprites (their corners) at time ``t``."""
    mats = scene.surface_matrices(t)
    xs = []
    for k, (li, pi) in enumerate(scene.draw_order(), start=1):
        if li == layer:
            h, w = scene.layers[li].parts[pi].sprite.code.shape
            xs.append(np.array([[0, 0, 1], [w, 0, 1], [0, h, 1], [w, h, 1]], np.float64) @ mats[k][0])
    xs = np.concatenate(xs)
    return float(xs.min()), float(xs.max())


def with_exits(scene: Scene, exits: int, num_frames: int) -> Scene:
    """The scene with its first ``exits`` instances (by id) leaving the frame through the nearer side edge and
    coming back: a smooth horizontal detour (``EXIT_PHASES`` of the clip) that keeps each wholly outside the
    frame (4 px clear) between the second and third phase."""
    times = np.arange(num_frames) * CLIP_STEP
    a, b, c, d = (p * times[-1] for p in EXIT_PHASES)
    ramp = np.clip(np.minimum((times - a) / (b - a), (d - times) / (d - c)), 0.0, 1.0)
    ramp = ramp * ramp * (3 - 2 * ramp)  # smoothstep
    chosen = sorted((la.instance, i) for i, la in enumerate(scene.layers) if la.instance)[:exits]
    layers = list(scene.layers)
    for _, li in chosen:
        ext = np.array([_layer_x_extent(scene, li, t) for t in times])  # [T, 2]
        mid = ext[num_frames // 2].mean()
        need = scene.width + 4 - ext[:, 0] if mid >= scene.width / 2 else -(ext[:, 1] + 4)
        layers[li] = replace(layers[li], motion=Excursion(layers[li].motion, times, ramp * need))
    return replace(scene, layers=tuple(layers))


def make_clip(
    seed: int, num_frames: int = 8, height: int = 256, width: int = 384, style: str = "cel", exits: int = 0
) -> Clip:
    """Generate the clip for ``seed`` (deterministic). Frame t is the scene at time ``t * CLIP_STEP``.
    ``exits``: how many instances (the lowest ids) leave the frame and come back (``with_exits``); 0 (the
    default) leaves the scene as drawn."""
    if num_frames < 2:
        raise ValueError(f"num_frames must be >= 2, got {num_frames}")
    if height < 8 or width < 8:
        raise ValueError(f"height and width must be >= 8, got {height}x{width}")
    scene = build_scene(np.random.default_rng(seed), height, width, style)
    if exits > 0:
        scene = with_exits(scene, exits, num_frames)
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
    exits: int = 0,
) -> Path:
    """Write ``count`` clips (clip i uses seed ``seed + i``); returns ``out_dir``.

    Layout: ``clip_NNNNN/frame_TTT.png``, ``seg_TTT.png`` and ``inst_TTT.png`` (16-bit),
    ``flow_TTT.flo`` (TTT -> TTT+1), ``masklets.json`` = {instance id: {"concept", "frames": {t: RLE}}}
    (frames where the instance is invisible are left out), ``meta.json`` per clip and at the top.
    ``exits`` > 0: that many instances per clip leave the frame and come back (``make_clip``; recorded in the top
    ``meta.json``).
    """
    from segcorr.data.synth.cels import start_writing
    from segcorr.io.atomic import atomic_write_text

    out, prog, task = start_writing(out_dir, count, "clips", progress)
    clips = []
    with prog:
        for i in range(count):
            c = make_clip(seed + i, num_frames, height, width, style, exits)
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
    if exits > 0:
        meta["exits"] = exits
    atomic_write_text(out / "meta.json", json.dumps(meta, indent=1))
    return out
