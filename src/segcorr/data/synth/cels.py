"""Cel pairs: two frames of a synthetic scene with exact flow, occlusion, segments and line art."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from segcorr.data.synth.render import flow_between, occlusion, render
from segcorr.data.synth.world import GENERATOR_VERSION, build_scene


@dataclass(frozen=True)
class CelPair:
    """A frame pair with exact ground truth (all maps [H, W] unless stated).

    img0, img1: uint8 [H, W, 3] RGB; flow_fw (0 -> 1), flow_bw (1 -> 0): float32 [2, H, W];
    occ0 / occ1: bool, True where a pixel of that frame is not visible in the other one;
    seg0 / seg1: int32 segment ids (same part -> same id in both frames; 0 never used);
    inst0 / inst1: int32 instance ids (0 = background); line0 / line1: bool line-art masks;
    depth: instance ids front to back; concepts: segment id -> name ("red hair", "sky");
    instance_concepts: instance id -> name; style: the resolved style ("mixed" never); seed: the seed it came from.
    """

    img0: np.ndarray
    img1: np.ndarray
    flow_fw: np.ndarray
    flow_bw: np.ndarray
    occ0: np.ndarray
    occ1: np.ndarray
    seg0: np.ndarray
    seg1: np.ndarray
    inst0: np.ndarray
    inst1: np.ndarray
    line0: np.ndarray
    line1: np.ndarray
    depth: list[int]
    concepts: dict[int, str]
    instance_concepts: dict[int, str]
    style: str
    seed: int


def make_cel_pair(
    seed: int, height: int = 384, width: int = 512, style: str = "cel", degrade: bool = True, span: float = 1.0
) -> CelPair:
    """Generate the pair for ``seed`` (deterministic: the seed is the only source of randomness).

    ``style``: "cel" (flat colours, cel shadows, line art), "textured" (rich textures, chair- and
    blob-like objects, few outlines), "mixed" (one of the two, chosen by the seed) or "shaded" (a second cel
    look: other palettes, thin to thick lines, gradient and textured fills, small motions and slow pans;
    ``segcorr.data.synth.cel_shaded``) or "film" (painted parallax backgrounds, a camera that pans and zooms,
    soft-shaded characters, then grade, blur, grain and JPEG on both frames; ``segcorr.data.synth.cel_film``).
    ``degrade``: False leaves the "film" frames as rendered (to check the exact ground truth); other styles are
    never degraded. ``span``: the time between the two frames in the scene's time unit (1: the usual pair; 2: two
    frame steps apart, as when animation on twos is sampled every other frame): every motion, the camera's and the
    limbs' swings included, grows with it; 1 gives the same pair as before the option.
    """
    if not span > 0:
        raise ValueError(f"span must be > 0, got {span}")
    if height < 8 or width < 8:
        raise ValueError(f"height and width must be >= 8, got {height}x{width}")
    scene = build_scene(np.random.default_rng(seed), height, width, style)
    m0, m1 = scene.surface_matrices(0.0), scene.surface_matrices(float(span))
    f0, f1 = render(scene, 0.0, m0), render(scene, float(span), m1)
    fw = flow_between(f0.sid, m0, m1)
    bw = flow_between(f1.sid, m1, m0)
    _, _, concepts = scene.surface_tables()
    img0, img1 = f0.image, f1.image
    if scene.style == "film" and degrade:
        from segcorr.data.synth.degrade import degrade_pair

        img0, img1 = degrade_pair(np.random.default_rng([seed, 1]), img0, img1)
    return CelPair(
        img0=img0,
        img1=img1,
        flow_fw=fw,
        flow_bw=bw,
        occ0=occlusion(fw, f0.sid, f1.sid),
        occ1=occlusion(bw, f1.sid, f0.sid),
        seg0=f0.seg,
        seg1=f1.seg,
        inst0=f0.inst,
        inst1=f1.inst,
        line0=f0.line,
        line1=f1.line,
        depth=scene.depth(),
        concepts=concepts,
        instance_concepts=scene.instance_concepts(),
        style=scene.style,
        seed=seed,
    )


def start_writing(out_dir: str | Path, count: int, what: str, progress: bool):
    """The shared start of the synth writers: check ``count``, create ``out_dir``, open a rich progress bar
    (silent when ``progress`` is False). Returns (out Path, progress bar, its task)."""
    from rich.progress import Progress

    if count < 0:
        raise ValueError(f"count must be >= 0, got {count}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    prog = Progress(disable=not progress, transient=False)
    return out, prog, prog.add_task(what, total=count)


def _write_pair(out: Path, stem: str, p: CelPair) -> dict:
    """Write the files ``<stem>_*`` of pair ``p`` into ``out`` (layout of ``write_cels``); returns its entry of
    ``meta.json``."""
    from segcorr.io.flo import write_flo
    from segcorr.io.image import write_image
    from segcorr.io.labelmap import write_labelmap

    write_image(out / f"{stem}_img0.png", p.img0)
    write_image(out / f"{stem}_img1.png", p.img1)
    write_flo(out / f"{stem}_flow.flo", p.flow_fw)
    write_image(out / f"{stem}_occ.png", p.occ0.astype(np.uint8) * 255)
    write_labelmap(out / f"{stem}_seg0.png", p.seg0)
    write_labelmap(out / f"{stem}_seg1.png", p.seg1)
    write_labelmap(out / f"{stem}_inst0.png", p.inst0)
    write_image(out / f"{stem}_line0.png", p.line0.astype(np.uint8) * 255)
    return {
        "name": stem,
        "seed": p.seed,
        "style": p.style,
        "depth": p.depth,
        "concepts": {str(k): v for k, v in sorted(p.concepts.items())},
        "instance_concepts": {str(k): v for k, v in sorted(p.instance_concepts.items())},
    }


def write_cels(
    out_dir: str | Path,
    count: int,
    seed: int = 0,
    height: int = 384,
    width: int = 512,
    progress: bool = True,
    style: str = "cel",
    span: float = 1.0,
) -> Path:
    """Write ``count`` pairs (pair i uses seed ``seed + i``) in the pairs layout; returns ``out_dir``.
    ``span``: time between the frames (`make_cel_pair`); written to ``meta.json`` when it is not 1.

    Files per pair: ``NNNNN_img0.png``, ``_img1.png``, ``_flow.flo``, ``_occ.png`` (255 = occluded in
    frame 0), ``_seg0.png``, ``_seg1.png`` (16-bit), ``_inst0.png`` (16-bit instance ids of frame 0, 0 =
    background; with the concept names of ``meta.json`` they give the text-prompt ground truth),
    ``_line0.png`` (255 = line); plus ``meta.json``.
    Every file is written atomically.
    """
    from segcorr.io.atomic import atomic_write_text

    out, prog, task = start_writing(out_dir, count, "cel pairs", progress)
    pairs = []
    with prog:
        for i in range(count):
            pairs.append(_write_pair(out, f"{i:05d}", make_cel_pair(seed + i, height, width, style, span=span)))
            prog.advance(task)
    meta = {
        "generator": GENERATOR_VERSION,
        "kind": "cels",
        "count": count,
        "seed": seed,
        "height": height,
        "width": width,
        "style": style,
        "flow": "forward, frame0 -> frame1",
        "occ": "255 = pixel of frame0 not visible in frame1",
        "pairs": pairs,
    }
    if span != 1.0:
        meta["span"] = float(span)
    atomic_write_text(out / "meta.json", json.dumps(meta, indent=1))
    return out
