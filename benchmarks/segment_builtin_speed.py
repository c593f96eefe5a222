"""Speed and memory of the builtin concept model at 512x384 on the CPU.

    python benchmarks/segment_builtin_speed.py [--weights sam3_tiny] [--threads 2] [--runs 7] [--refine snap]
        [--zoom KEY=VALUE ...]

``--zoom`` replaces fields of the predictor's ``ZoomConfig`` (e.g. ``--zoom box_source=crop --zoom window_overlap=1``).

Times (medians over ``--runs`` after one warm-up): the image embedding (``set_image``, which includes the resize,
the backbone and the neck), a click, a box, a click that reuses the previous answer's low-res logits, and a text
phrase; the flat segmentation for snapping (once per image, on the first snapped answer) is timed separately.
The first box of an image is timed apart (with ``ZoomConfig.box_source="crop"`` it also embeds the image at
``crop_zoom`` x the model's input size, once). The click and box above are one prompt each; ``ms_click_protocol`` /
``ms_box_protocol`` are the means over the prompts ``segcorr eval segment`` sends for the same image (a click at the
innermost pixel and the tight box of every ground-truth segment of at least 64 px), each prompt once, after the
timed ones (so the image is set and snapped): zoom windows depend on the object, so one prompt alone can be far
from the mean.
Prints JSON with the figures, the parameter count and the peak resident memory of the process.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import time


def _median_ms(fn, runs: int) -> float:
    fn()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def _zoom_config(cfg, items: list[str]):
    """``cfg`` (a ZoomConfig) with the fields of ``items`` ("KEY=VALUE", the value read as the field's type)."""
    import dataclasses

    for item in items:
        key, _, value = item.partition("=")
        old = getattr(cfg, key)
        if isinstance(old, bool):
            new = value.lower() in ("1", "true", "yes")
        elif isinstance(old, (int, float)) and not isinstance(old, bool):
            new = type(old)(value)
        else:
            new = None if value == "None" else value
        cfg = dataclasses.replace(cfg, **{key: new})
    return cfg


def _mean_ms(fns: list) -> float:
    """Mean wall time of calling each of ``fns`` once (ms)."""
    total = 0.0
    for fn in fns:
        t = time.perf_counter()
        fn()
        total += time.perf_counter() - t
    return total * 1000 / max(len(fns), 1)


def _protocol_prompts(seg):
    """The evaluation protocol's prompts for label map int [H, W] ``seg``: (clicks [1, 2] each, boxes [4] each)."""
    import numpy as np

    from segcorr.segment.evaluate import EvalProtocol, innermost_point, prompt_segments, tight_box

    segments = prompt_segments(seg, EvalProtocol().min_area)
    return [np.array([innermost_point(m)], np.float32) for m in segments], [tight_box(m) for m in segments]


def main(argv: list[str] | None = None) -> int:
    import numpy as np
    import torch

    from segcorr.data.synth import make_cel_pair
    from segcorr.segment.predictor import Sam3Predictor

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--weights", default="sam3_tiny")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--refine", default="snap", choices=["snap", "none"])
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--zoom", action="append", default=[], metavar="KEY=VALUE", help="a ZoomConfig field")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    pair = make_cel_pair(args.seed, 384, 512)
    img = pair.img0
    pred = Sam3Predictor.from_pretrained(args.weights, refine=args.refine)
    pred.zoom = _zoom_config(pred.zoom, args.zoom)
    embed = _median_ms(lambda: pred.set_image(img), args.runs)
    t = time.perf_counter()
    pred.predict(np.array([[256.0, 192.0]]), np.array([1]))
    first_ms = (time.perf_counter() - t) * 1000  # includes the flat segmentation when snapping
    click = _median_ms(lambda: pred.predict(np.array([[256.0, 192.0]]), np.array([1])), args.runs)
    box = _median_ms(lambda: pred.predict(box=np.array([100.0, 80.0, 300.0, 300.0])), args.runs)
    _, _, low, _ = pred.predict(np.array([[256.0, 192.0]]), np.array([1]))
    refine_ms = _median_ms(
        lambda: pred.predict(np.array([[256.0, 192.0], [120.0, 60.0]]), np.array([1, 0]), mask_input=low[0]), args.runs
    )
    text = _median_ms(lambda: pred.predict_text("red hair"), args.runs)
    pred.set_image(img)
    pred.predict(np.array([[256.0, 192.0]]), np.array([1]))  # the flat segmentation for snapping, untimed
    t = time.perf_counter()
    pred.predict(box=np.array([100.0, 80.0, 300.0, 300.0]))
    first_box_ms = (time.perf_counter() - t) * 1000  # includes the finer embedding with ZoomConfig.box_source="crop"
    clicks, boxes = _protocol_prompts(pair.seg0)
    click_protocol = _mean_ms([lambda c=c: pred.predict(c, np.array([1])) for c in clicks])
    box_protocol = _mean_ms([lambda b=b: pred.predict(box=b) for b in boxes])
    params = sum(p.numel() for p in pred.model.parameters())
    out = {
        "size": "512x384",
        "threads": args.threads,
        "refine": args.refine,
        "zoom": args.zoom,
        "params": params,
        "ms_embed": round(embed, 1),
        "ms_first_prompt_with_snap_segmentation": round(first_ms, 1),
        "ms_click": round(click, 1),
        "ms_box": round(box, 1),
        "ms_first_box_of_an_image": round(first_box_ms, 1),
        "ms_click_with_mask_input": round(refine_ms, 1),
        "ms_text": round(text, 1),
        "prompts_protocol": len(clicks),
        "ms_click_protocol": round(click_protocol, 1),
        "ms_box_protocol": round(box_protocol, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
