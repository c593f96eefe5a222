"""Fit the builtin segmenter's phrase-score calibration (``segment.concept_refine.ConceptConfig``) on validation images.

    python benchmarks/fit_concept_calibration.py --data VAL_DIR [--data VAL_DIR2 ...] [--weights sam3_tiny]
        [--limit N] [--nms-iou 0.5] [--scales 1,1.5,2,3,4] [--json OUT] [--candidates OUT.npz]

Only validation images (synthetic seeds 500 000..999 999, e.g. ``segcorr synth cels --seed 500000``) belong here.
Each image's phrases are those of the evaluation protocol (``segment.evaluate.text_queries``); every query of the
uncalibrated model that survives the mask suppression becomes a candidate with its query logit, its phrase's
presence logit and whether it matches a true instance (IoU >= 0.5, one-to-one); ``fit_query_calibration`` then
grids (query_scale, query_bias) for the best instance F1 at score 0.5 (``--scales``: the scale grid; biases -1..6 in
steps of 0.25, or ``--biases``). Prints JSON with the fit, the F1 of the current ``ConceptConfig()`` defaults on the
same candidates, and the counts; ``--candidates`` also saves the candidates (``ql``, ``pl``, ``match``, ``instances``).
"""

from __future__ import annotations

import argparse


def candidates(pred, dataset, limit: int | None) -> tuple[list[float], list[float], list[bool], int]:
    """(query logits, presence logits, matched flags, number of true instances) over the validation phrases."""
    import numpy as np

    from segcorr.metrics.masks import match_instances, pairwise_iou
    from segcorr.segment.evaluate import EvalProtocol, text_queries

    ql, pl, match, n_inst = [], [], [], 0
    for i in range(len(dataset) if limit is None else min(limit, len(dataset))):
        sample = dataset[i]
        pred.set_image(sample.image)
        for q in text_queries(sample, i, EvalProtocol()):
            r = pred.predict_text(q.text, threshold=0.0)
            n_inst += len(q.masks)
            hit = np.zeros(len(r.masks), bool)
            for row, _ in match_instances(pairwise_iou(r.masks, q.masks), 0.5):
                hit[row] = True
            p = np.clip(r.scores.astype(np.float64) / max(r.presence, 1e-12), 1e-7, 1 - 1e-7)  # identity: sig(ql)
            ql += np.log(p / (1 - p)).tolist()
            pl += [float(np.log(r.presence / max(1 - r.presence, 1e-12)))] * len(p)
            match += hit.tolist()
    return ql, pl, match, n_inst


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", action="append", required=True, help="a validation folder (repeatable)")
    ap.add_argument("--weights", default="sam3_tiny")
    ap.add_argument("--limit", type=int, default=None, help="images per folder")
    ap.add_argument("--nms-iou", type=float, default=0.5)
    ap.add_argument("--scales", default="1,1.5,2,3,4", help="comma-separated query scales of the grid")
    ap.add_argument("--biases", default=None, help="comma-separated query biases (default -1..6 step 0.25)")
    ap.add_argument("--json", default=None)
    ap.add_argument("--candidates", default=None, help="save the candidates here (.npz)")
    args = ap.parse_args(argv)

    import dataclasses

    from segcorr.segment.concept_refine import ConceptConfig, fit_query_calibration
    from segcorr.segment.evalset import SegmentSet
    from segcorr.segment.predictor import Sam3Predictor

    identity = dataclasses.replace(ConceptConfig.identity(), nms_iou=args.nms_iou)
    pred = Sam3Predictor.from_pretrained(args.weights, concept=identity)
    ql, pl, match, n_inst = [], [], [], 0
    for folder in args.data:
        a, b, c, n = candidates(pred, SegmentSet(folder), args.limit)
        ql, pl, match, n_inst = ql + a, pl + b, match + c, n_inst + n
    grid = {"scales": [float(v) for v in args.scales.split(",")]}
    if args.biases:
        grid["biases"] = [float(v) for v in args.biases.split(",")]
    scale, bias, f1 = fit_query_calibration(ql, pl, match, n_inst, **grid)
    now = ConceptConfig()
    _, _, f1_now = fit_query_calibration(ql, pl, match, n_inst, scales=[now.query_scale], biases=[now.query_bias])
    if args.candidates:
        import numpy as np

        np.savez(args.candidates, ql=ql, pl=pl, match=match, instances=n_inst)
    out = {
        "query_scale": scale,
        "query_bias": bias,
        "f1_at_0.5": f1,
        "default": [now.query_scale, now.query_bias],
        "default_f1_at_0.5": f1_now,
        "nms_iou": args.nms_iou,
        "candidates": len(ql),
        "matched": int(sum(match)),
        "instances": n_inst,
        "data": args.data,
        "weights": args.weights,
    }
    from segcorr.io.atomic import print_json

    print_json(out, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
