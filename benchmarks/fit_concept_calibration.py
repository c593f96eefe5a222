"""Fit the builtin segmenter's phrase scores (``segment.concept_refine.ConceptConfig``) on validation images.

    python benchmarks/fit_concept_calibration.py --data VAL_DIR [--data VAL_DIR2 ...] [--weights sam3_tiny]
        [--limit N] [--nms-iou 0.5] [--scales 4] [--biases 3,3.5,...] [--colour-weights 0,4,...] [--no-colour]
        [--fit-base] [--json OUT]

Only validation images (synthetic seeds 500 000..999 999, e.g. ``segcorr synth cels --seed 500000``) belong here.
Each image's phrases are those of the evaluation protocol (``segment.evaluate.text_queries``). The detector runs
once per phrase; every one of its queries is finished as the predictor finishes answers (``Sam3Predictor.finish``)
and its IoU with every true instance kept (``segment.concept_fit.PhraseRecord``), so each configuration is replayed
without the network. Then:

1. presence: ``fit_presence``: unless ``--no-colour``, the colour fields by a logistic regression of "the phrase is
   present" on the colour evidence of the colour phrases (``segment.concept_colour``; the query calibration of the
   current defaults weights the colour shares); with ``--fit-base`` also the presence scale and bias of all phrases
   (without it they stay those of the current defaults);
2. queries: ``fit_queries`` grids query scale x bias x colour weight for the best instance F1 at score 0.5.

Prints JSON: the fitted fields, the replayed cF1 / IL-MCC of the current ``ConceptConfig()`` defaults, of the fit and
of ``ConceptConfig.identity()``, per folder and in all, and the counts.
"""

from __future__ import annotations

import argparse


def records(pred, dataset, limit: int | None) -> list:
    """``PhraseRecord`` of every protocol phrase of the first ``limit`` images of ``dataset``."""
    import torch

    from segcorr.data.concepts import normalize_phrase
    from segcorr.metrics.masks import pairwise_iou
    from segcorr.segment.concept_fit import PhraseRecord
    from segcorr.segment.concept_refine import phrase_shares
    from segcorr.segment.evaluate import EvalProtocol, text_queries
    from segcorr.segment.tokenizer import CLIPTokenizer

    tok = CLIPTokenizer(pred.context_length)
    out_recs = []
    for i in range(len(dataset) if limit is None else min(limit, len(dataset))):
        sample = dataset[i]
        pred.set_image(sample.image)
        for q in text_queries(sample, i, EvalProtocol()):
            tokens = tok([normalize_phrase(q.text)], context_length=pred.context_length)
            with torch.no_grad():
                out = pred.model.predict_concept(pred.features, torch.zeros(1, dtype=torch.long), tokens)
            logits = out["pred_masks"][0]
            masks = pred.finish(pred.to_image(logits))
            shares = phrase_shares(pred, out, q.text)
            out_recs.append(
                PhraseRecord(
                    query_logits=out["pred_logits"][0].float().numpy(),
                    presence_logit=float(out["presence_logit"][0]),
                    small_masks=(logits > 0).numpy(),
                    shares=shares,
                    iou=pairwise_iou(masks, q.masks),
                    empty=~masks.reshape(len(masks), -1).any(1),
                )
            )
    return out_recs


def _floats(text: str) -> list[float]:
    return [float(v) for v in text.split(",")]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", action="append", required=True, help="a validation folder (repeatable)")
    ap.add_argument("--weights", default="sam3_tiny")
    ap.add_argument("--limit", type=int, default=None, help="images per folder")
    ap.add_argument("--nms-iou", type=float, default=0.5)
    ap.add_argument("--scales", default="4", help="comma-separated query scales of the grid")
    ap.add_argument("--biases", default="3,3.5,4,4.5,5,5.5,6,6.5", help="comma-separated query biases of the grid")
    ap.add_argument("--colour-weights", default="0,4,8,12,16", help="comma-separated colour query weights of the grid")
    ap.add_argument("--no-colour", action="store_true", help="fit without the colour check")
    ap.add_argument("--fit-base", action="store_true", help="also refit presence_scale and presence_bias")
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)

    import dataclasses

    from segcorr.io.atomic import print_json
    from segcorr.segment.concept_fit import fit_presence, fit_queries, replay
    from segcorr.segment.concept_refine import ConceptConfig
    from segcorr.segment.evalset import SegmentSet
    from segcorr.segment.predictor import Sam3Predictor

    pred = Sam3Predictor.from_pretrained(args.weights)
    per = {folder: records(pred, SegmentSet(folder), args.limit) for folder in args.data}
    recs = [r for rs in per.values() for r in rs]
    now = ConceptConfig()
    start = dataclasses.replace(
        now, nms_iou=args.nms_iou, colour_presence_weight=0.0, colour_presence_bias=0.0, colour_query_weight=0.0
    )
    fitted = fit_presence(recs, start, colour=not args.no_colour, base=args.fit_base)
    weights = [0.0] if args.no_colour else _floats(args.colour_weights)
    fitted, f1 = fit_queries(recs, fitted, _floats(args.scales), _floats(args.biases), weights)
    configs = {"default": now, "fit": fitted, "identity": ConceptConfig.identity()}
    out = {
        "fit": dataclasses.asdict(fitted),
        "fit_f1_at_0.5": f1,
        "replay": {
            name: {folder: replay(rs, cfg) for folder, rs in {**per, "all": recs}.items()}
            for name, cfg in configs.items()
        },
        "phrases": len(recs),
        "present": sum(r.positive for r in recs),
        "instances": sum(r.iou.shape[1] for r in recs),
        "data": args.data,
        "weights": args.weights,
    }
    print_json(out, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
