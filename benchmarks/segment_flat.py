"""The `flat` segmenter on synthetic cels: speed of `segment_all` and box-prompt quality.

    OMP_NUM_THREADS=1 python benchmarks/segment_flat.py [--count 20] [--height 384 --width 512] [--threads 1]

Pairs come from evaluation seeds (0..499_999) of `segcorr.data.synth.make_cel_pair`. Reports per image:
ms for `segment_all` (median over the images, after one warm-up), the number of segments, the
area-weighted best-match IoU of ground-truth parts (`seg0`), and for each character the IoU of the
box-prompt answer (box = the character's visible bounding box) against its visible mask (`inst0`),
also with `merge_shading`.
"""

from __future__ import annotations

import argparse
import json
import time


def _best_match_iou(gt, pred) -> float:
    import numpy as np

    ious, areas = [], []
    for g in np.unique(gt):
        m = gt == g
        ids, counts = np.unique(pred[m], return_counts=True)
        p = pred == ids[np.argmax(counts)]
        ious.append((m & p).sum() / (m | p).sum())
        areas.append(m.sum())
    return float(np.average(ious, weights=areas))


def main(argv: list[str] | None = None) -> int:
    import cv2
    import numpy as np

    from segcorr.data.synth import make_cel_pair
    from segcorr.segment.base import Prompts
    from segcorr.segment.flat import FlatSegmenter

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=20)
    ap.add_argument("--seed", type=int, default=1000)
    ap.add_argument("--height", type=int, default=384)
    ap.add_argument("--width", type=int, default=512)
    ap.add_argument("--threads", type=int, default=1, help="OpenCV threads (the target is for one core)")
    args = ap.parse_args(argv)
    cv2.setNumThreads(args.threads)
    plain, shading = FlatSegmenter(), FlatSegmenter(merge_shading=True)
    ms, nseg, part_iou, box_iou, box_iou_shading = [], [], [], [], []
    plain.segment_all(make_cel_pair(args.seed, args.height, args.width).img0)  # warm-up (imports)
    for i in range(args.count):
        pair = make_cel_pair(args.seed + i, args.height, args.width)
        t = time.perf_counter()
        labels = plain.segment_all(pair.img0)
        ms.append(1000 * (time.perf_counter() - t))
        nseg.append(int(labels.max()))
        part_iou.append(_best_match_iou(pair.seg0, labels))
        for inst in np.unique(pair.inst0[pair.inst0 > 0]):
            m = pair.inst0 == inst
            ys, xs = np.nonzero(m)
            box = np.array([[xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]], np.float32)
            for seg, out in ((plain, box_iou), (shading, box_iou_shading)):
                a = seg.segment(pair.img0, Prompts(boxes=box)).masks[0]
                out.append(float((a & m).sum() / (a | m).sum()))
    result = {
        "images": args.count,
        "size": f"{args.width}x{args.height}",
        "threads": args.threads,
        "ms_segment_all_median": round(float(np.median(ms)), 1),
        "ms_segment_all_max": round(max(ms), 1),
        "segments_mean": round(float(np.mean(nseg)), 1),
        "part_iou_area_weighted": round(float(np.mean(part_iou)), 3),
        "characters": len(box_iou),
        "box_iou_mean": round(float(np.mean(box_iou)), 3),
        "box_iou_median": round(float(np.median(box_iou)), 3),
        "box_iou_mean_merge_shading": round(float(np.mean(box_iou_shading)), 3),
    }
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
