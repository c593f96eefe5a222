"""`segcorr demo`: every capability on built-in samples, gathered in one HTML report.

Samples are generated from evaluation seeds (0..499 999), so nothing here was seen in training.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

# Flow grid: a 280 px label column and two framed 440 px pictures per row, within segcorr.viz.panel.FIGURE_WIDTH.
_FLOW_TILE = 440


def _cel_samples(count: int, height: int, width: int) -> list:
    from segcorr.data.synth import make_cel_pair

    return [make_cel_pair(seed, height=height, width=width) for seed in range(count)]


def _flow_intro(report, p, mag: float) -> None:
    """The world's description and the sample pair's figure (frames, GT flow, segments, occlusion)."""
    from segcorr.viz.flow_color import flow_to_color
    from segcorr.viz.overlay import overlay_masks
    from segcorr.viz.panel import page_panel

    report.section(
        "Synthetic cel world",
        "Flat-colour characters with cel shading and line art, layered depth, per-layer affine motion with "
        "articulation, background pan and occlusions. Ground truth is exact: forward/backward flow, "
        "occlusion, segments of both frames.",
    )
    report.image(
        "cel_pair",
        page_panel(
            [
                p.img0,
                p.img1,
                flow_to_color(p.flow_fw, max_mag=mag),
                overlay_masks(p.img0, p.seg0),
                (p.occ0.astype(np.uint8) * 255),
            ],
            ["frame 0", "frame 1", "GT flow", "GT segments", "GT occlusion"],
            cols=3,
        ),
        "Sample pair (seed 0).",
    )


def _flow_samples(pairs: list) -> list:
    """The cel pairs as `FlowSample`s named by index."""
    from segcorr.data.flowsets import FlowSample

    return [
        FlowSample(
            name=f"{i:05d}",
            img0=q.img0,
            img1=q.img1,
            flow=q.flow_fw,
            occ=q.occ0,
            line=q.line0,
            seg0=q.seg0,
            seg1=q.seg1,
        )
        for i, q in enumerate(pairs)
    ]


def _evaluate_method(samples: list, method: str, refine: str, name: str) -> tuple[dict, np.ndarray]:
    """Evaluate one method on every sample. Returns (metrics, its flow [2, H, W] on the first sample)."""
    from segcorr.flow.evaluate import evaluate_flow
    from segcorr.flow.methods import get_method

    fn, first = get_method(method, refine=refine), []

    def keep_first(a, b, sample, fn=fn, first=first):
        f = fn(a, b, sample)
        if not first:
            first.append(f)
        return f

    r = evaluate_flow(samples, keep_first, name, progress=False)
    return r, first[0]


_FLOW_KEYS = ("epe", "epe_noc", "epe_occ", "epe_line", "epe_mb", "epe_flat", "px1", "px3", "ms_per_item")


def _flow_methods(samples: list, methods: list[tuple[str, str, str]], mag: float, progress) -> tuple:
    """Run every method. Returns (table rows, grid of pictures, grid labels): one grid row for the ground truth,
    then one per method (flow colour, error map of the first pair)."""
    from segcorr.metrics.flow import flow_metrics
    from segcorr.viz.error import error_map
    from segcorr.viz.flow_color import flow_to_color

    s0 = samples[0]
    rows = []
    grid = [[flow_to_color(s0.flow, max_mag=mag), s0.img0]]
    labels = [["ground truth", "left: GT flow, right: frame 0", f"seed 0, {s0.img0.shape[1]}x{s0.img0.shape[0]}"]]
    task = progress.add_task("flow methods", total=len(methods))
    for name, method, refine in methods:
        r, first = _evaluate_method(samples, method, refine, name)
        grid.append([flow_to_color(first, max_mag=mag), error_map(first, s0.flow, 10.0, scale_bar=False)])
        pair_epe = flow_metrics(first, s0.flow, s0.valid, s0.occ, s0.line)["epe"]
        labels.append([name, f"EPE this pair: {pair_epe:.2f} px", f"EPE, {len(samples)} pairs: {r['epe']:.2f} px"])
        rows.append({"method": name, **{k: r.get(k) for k in _FLOW_KEYS}})
        progress.advance(task)
    return rows, grid, labels


def _flow_results(report, n_pairs: int, rows: list[dict], grid: list, labels: list) -> None:
    """The flow section's text, metrics table and per-method figure."""
    from segcorr.viz.error import error_legend
    from segcorr.viz.flow_color import flow_legend
    from segcorr.viz.grid import labelled_grid

    report.section(
        "Optical flow against ground truth",
        f"{n_pairs} generated cel pairs. EPE in pixels (lower is better); epe_mb: within 2 px of a "
        "motion boundary of the ground truth; px1, px3: share of pixels off by more than 1 px, 3 px. Flat anime "
        "regions have no texture, which defeats classical flow. The learned "
        "rows use the pairs' segments and, unless marked network only, the segment-level refinement "
        "(robust affine fits per segment, fused with DIS medium's in textured segments by photometric "
        "error, then a propagation pass that offers each segment its neighbours' motions and the dominant "
        "one, then a sub-pixel polish of each segment's motion by aligning the two frames). Its known "
        "failure is visible here: on periodic textures (the striped floors of seeds 1 "
        "and 2) a photometric cost cannot tell the true motion from one shifted by a stripe; see "
        "src/segcorr/weights/README.md for the figures on 200 pairs.",
    )
    report.table(rows, caption="Flow metrics on generated cel pairs")
    report.image(
        "flow_methods",
        labelled_grid(
            grid, labels, header=[flow_legend(_FLOW_TILE), error_legend(_FLOW_TILE, 10.0)], tile_width=_FLOW_TILE
        ),
        "Flow colours and error maps of seed 0, one row per method (error scale 0-10 px); EPE of this pair and "
        "over all pairs (the table's epe).",
    )


def _flow_section(report, pairs: list, methods: list[tuple[str, str, str]], progress) -> None:
    """methods: (label, method name, refine mode) rows of the table."""
    p = pairs[0]
    mag = float(np.percentile(np.linalg.norm(p.flow_fw, axis=0), 99)) + 1e-6
    _flow_intro(report, p, mag)
    rows, grid, labels = _flow_methods(_flow_samples(pairs), methods, mag, progress)
    _flow_results(report, len(pairs), rows, grid, labels)


def _concept_phrases(truth: dict) -> list[str]:
    """Up to three phrases present in the image, then one absent hair colour (a hard negative)."""
    from segcorr.data.concepts import VOCABULARY

    hair = sorted(p for p in truth if p.endswith(" hair") and p != "hair" and not p.startswith("character"))
    phrases = [p for p in ("character", hair[0] if hair else "face", "hair") if p in truth][:3]
    absent = [v for v in VOCABULARY if v.endswith(" hair") and not v.startswith("character") and v not in truth]
    phrases.append(absent[0])
    return phrases


def _concept_phrase_rows(pred, pair, truth: dict, phrases: list[str], progress, task) -> tuple[list, list, list]:
    """Ask each phrase. Returns (table rows, overlay pictures, their titles)."""
    import time

    from segcorr.viz.overlay import overlay_masks

    rows, pictures, titles = [], [], []
    for phrase in phrases:
        t1 = time.perf_counter()
        r = pred.predict_text(phrase)
        ms = (time.perf_counter() - t1) * 1000
        n_true = int(truth[phrase].shape[0]) if phrase in truth else 0
        rows.append(
            {
                "phrase": phrase,
                "in image": "yes" if n_true else "no",
                "presence": round(r.presence, 3),
                "instances found": len(r.masks),
                "instances true": n_true,
                "best score": round(float(r.scores[0]), 3) if len(r.scores) else None,
                "ms": round(ms, 1),
            }
        )
        pictures.append(overlay_masks(pair.img0, r.masks) if len(r.masks) else pair.img0)
        titles.append(f"'{phrase}': {len(r.masks)} found, presence {r.presence:.2f}")
        progress.advance(task)
    return rows, pictures, titles


def _concept_click_and_box(pred, pair) -> tuple[list, list]:
    """A click on the middle character pixel, then a box around that character. Returns (pictures, titles)."""
    from segcorr.viz.overlay import overlay_masks

    ys, xs = np.nonzero(pair.inst0 > 0)
    k = len(xs) // 2
    m, iou, _, _ = pred.predict(np.array([[xs[k], ys[k]]], np.float32), np.array([1]))
    pictures = [overlay_masks(pair.img0, m)]
    titles = [f"click at {xs[k]},{ys[k]}: IoU pred {iou[0]:.2f}"]
    inst = int(pair.inst0[ys[k], xs[k]])
    yy, xx = np.nonzero(pair.inst0 == inst)
    box = np.array([xx.min(), yy.min(), xx.max() + 1, yy.max() + 1], np.float32)
    m, iou, _, _ = pred.predict(box=box)
    pictures.append(overlay_masks(pair.img0, m))
    titles.append(f"box around character {inst}: IoU pred {iou[0]:.2f}")
    return pictures, titles


def _concept_results(report, t_embed: float, rows: list[dict], pictures: list, titles: list[str]) -> None:
    """The concept section's text, phrase table and the two figures (phrases; absent phrase, click, box)."""
    from segcorr.viz.panel import page_panel

    report.section(
        "Concept segmentation (builtin SAM 3-style model)",
        f"One image embedding ({t_embed:.0f} ms here), then phrases, a click and a box. A phrase returns "
        "every instance with a score; the presence probability says whether the phrase is in the image at "
        "all and multiplies every instance's score. The last phrase is absent on purpose (a hair colour "
        "nobody in the picture has). The model knows the synthetic world's vocabulary only "
        "(src/segcorr/weights/sam3_tiny.json).",
    )
    report.table(rows, caption="Phrases on a generated cel image (evaluation seed 0)")
    report.image("concepts", page_panel(pictures[:3], titles[:3], cols=3), "Masks of the first three phrases.")
    report.image(
        "concepts_prompts",
        page_panel(pictures[3:], titles[3:], cols=3),
        "The absent phrase (nothing should be painted), a click and a box.",
    )


def _concept_section(report, pair, progress) -> None:
    """Three phrases present in the image, one absent (a hard negative: a hair colour nobody has), a click and a
    box, answered by the builtin backend with its defaults from one image embedding."""
    import time

    from segcorr.data.concepts import scene_queries
    from segcorr.segment.builtin import BuiltinSegmenter

    truth = scene_queries(pair.seg0, pair.inst0, pair.concepts, pair.instance_concepts)
    phrases = _concept_phrases(truth)
    task = progress.add_task("concept segmentation", total=len(phrases) + 2)
    pred = BuiltinSegmenter().predictor  # the settings `segcorr segment` uses (calibrated phrase scores)
    t0 = time.perf_counter()
    pred.set_image(pair.img0)
    t_embed = (time.perf_counter() - t0) * 1000
    rows, pictures, titles = _concept_phrase_rows(pred, pair, truth, phrases, progress, task)
    more_pictures, more_titles = _concept_click_and_box(pred, pair)
    progress.advance(task, 2)
    _concept_results(report, t_embed, rows, pictures + more_pictures, titles + more_titles)


def _isolation_section(report, out: Path, quick: bool) -> None:
    from segcorr.layering.demo import demo_isolation

    demo_isolation(report, out, quick=quick)


def run_demo(out: Path, quick: bool = False) -> Path:
    """Generate samples, run every capability, write OUT/report.html. Returns the report path."""
    from rich.progress import Progress

    from segcorr.flow.methods import CLASSICAL, LEARNED
    from segcorr.io.weights import weights_path
    from segcorr.viz.report import Report

    out = Path(out)
    report = Report("segcorr demo")
    count, (h, w) = (2, (192, 256)) if quick else (6, (384, 512))
    methods = [(m, m, "none") for m in CLASSICAL]
    for m, stem in LEARNED.items():
        if weights_path(stem) is not None:
            methods += [(m, m, "fuse"), (f"{m} (network only)", m, "none")]
    with Progress(transient=True) as progress:
        task = progress.add_task("generating samples", total=None)
        pairs = _cel_samples(count, h, w)
        progress.remove_task(task)
        _flow_section(report, pairs, methods, progress)
        if weights_path("sam3_tiny") is not None:
            _concept_section(report, pairs[0], progress)
        _isolation_section(report, out, quick)
        if weights_path("sam3_tiny") is not None:
            from segcorr.segment.track_demo import demo_tracking

            demo_tracking(report, out, quick=quick, progress=progress)
        if weights_path("as_mamba_tiny") is not None:
            from segcorr.matching.demo import demo_matching

            demo_matching(report, out, quick=quick, progress=progress)
    return report.save(out)
