"""Pictures for the concept model's card: answers on generated images the model never saw, good and bad.

    python scripts/concept_pictures.py --out docs/sam3 [--weights sam3_tiny]

Writes ``clicks.png`` (a click per part on a cel image: the model's mask vs the ground truth), ``phrases.png``
(phrases on a cel image and on a textured one), ``toon.png`` (the second generator: clicks and boxes) and
``failures.png`` (the worst click answers of the cel evaluation seeds 0..7, by IoU). Images come from evaluation
seeds only.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np


def _innermost(mask: np.ndarray) -> tuple[float, float]:
    d = cv2.distanceTransform(np.pad(mask, 1).astype(np.uint8), cv2.DIST_L2, 5)[1:-1, 1:-1]
    y, x = np.unravel_index(int(np.argmax(d)), d.shape)
    return float(x), float(y)


def _mark(img: np.ndarray, xy: tuple[float, float]) -> np.ndarray:
    out = img.copy()
    cv2.circle(out, (int(xy[0]), int(xy[1])), 6, (255, 255, 255), -1)
    cv2.circle(out, (int(xy[0]), int(xy[1])), 4, (230, 30, 30), -1)
    return out


def main(argv: list[str] | None = None) -> int:
    from segcorr.data.concepts import scene_queries
    from segcorr.data.synth import make_cel_pair
    from segcorr.data.toon_shapes import make_toon_image
    from segcorr.io.image import write_image
    from segcorr.segment.predictor import Sam3Predictor
    from segcorr.viz.overlay import overlay_masks
    from segcorr.viz.panel import side_by_side

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("docs/sam3"))
    ap.add_argument("--weights", default="sam3_tiny")
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    pred = Sam3Predictor.from_pretrained(args.weights)

    # phrases on a cel and a textured image
    tiles, titles = [], []
    for seed, style, phrases in ((0, "cel", ("character", "hair", "face")), (2, "textured", ("chair", "knob"))):
        p = make_cel_pair(seed, 384, 512, style)
        pred.set_image(p.img0)
        truth = scene_queries(p.seg0, p.inst0, p.concepts, p.instance_concepts)
        for ph in phrases:
            r = pred.predict_text(ph)
            tiles.append(overlay_masks(p.img0, r.masks) if len(r.masks) else p.img0)
            n = truth[ph].shape[0] if ph in truth else 0
            titles.append(f"'{ph}' ({style}): {len(r.masks)} found / {n} true, presence {r.presence:.2f}")
    write_image(args.out / "phrases.png", side_by_side(tiles[:3], titles[:3]))
    write_image(args.out / "phrases_textured.png", side_by_side(tiles[3:], titles[3:]))

    # clicks on parts of evaluation seeds; keep the worst answers
    results = []
    for seed in range(8):
        p = make_cel_pair(seed, 384, 512, "cel")
        pred.set_image(p.img0)
        for sid in np.unique(p.seg0):
            gt = p.seg0 == sid
            if gt.sum() < 64:
                continue
            xy = _innermost(gt)
            m = pred.predict(np.array([xy], np.float32), np.array([1]))[0][0]
            iou = float((m & gt).sum() / max((m | gt).sum(), 1))
            results.append((iou, seed, int(sid), xy, m, gt, p.img0))
    results.sort(key=lambda r: r[0])
    tiles, titles = [], []
    for iou, seed, sid, xy, m, gt, img in results[:4]:
        tiles += [overlay_masks(_mark(img, xy), m), overlay_masks(img, gt)]
        titles += [f"seed {seed} segment {sid}: IoU {iou:.2f}", "ground truth"]
    write_image(args.out / "failures.png", side_by_side(tiles[:4], titles[:4]))
    write_image(args.out / "failures2.png", side_by_side(tiles[4:], titles[4:]))
    mid = results[len(results) // 2]
    best = results[-1]
    tiles = [overlay_masks(_mark(r[6], r[3]), r[4]) for r in (best, mid)]
    write_image(
        args.out / "clicks.png",
        side_by_side(tiles, [f"best click: IoU {best[0]:.2f}", f"median click: IoU {mid[0]:.2f}"]),
    )

    # the second generator
    img, seg = make_toon_image(1)
    pred.set_image(img)
    tiles, titles = [], []
    for sid in np.unique(seg)[1:4]:
        gt = seg == sid
        xy = _innermost(gt)
        m = pred.predict(np.array([xy], np.float32), np.array([1]))[0][0]
        iou = float((m & gt).sum() / max((m | gt).sum(), 1))
        tiles.append(overlay_masks(_mark(img, xy), m))
        titles.append(f"toon seed 1, click: IoU {iou:.2f}")
    write_image(args.out / "toon.png", side_by_side(tiles, titles))
    print(f"wrote pictures to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
