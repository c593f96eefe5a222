"""What ``segcorr track`` writes, frame by frame: ``labels_TTT.png`` (16-bit, value = object id),
``masklets.json`` (YTVIS results) and ``overlay.png`` (a contact sheet of sampled frames).

``masklets.json`` is a list of {"video_id", "category_id", "score", "segmentations": [COCO RLE or null per
frame]} plus "obj_id" and "query" (readers ignore keys they do not know). A category is one query: each text
phrase is one (all its masklets share it), each visually prompted object is one of its own. ``YTVISResults``
keeps the first answer to each (video_id, category_id) and drops repeats (a phrase given twice, a clip seen
twice), as the SAM 3 evaluation does.

Per object the writer keeps one RLE string per frame (the output itself) and a running score; frames are
written as they come, so an error on frame t leaves frames 0..t-1 written and ``close`` completes the JSON and
the contact sheet for them.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from segcorr.segment.tracker import FrameResult

SHEET_FRAMES = 12
SHEET_COLS = 4
SHEET_HEIGHT = 160


class YTVISResults:
    """YTVIS results list with (video_id, category_id) deduplication: ``add`` returns False for a repeat."""

    def __init__(self) -> None:
        self.entries: list[dict] = []
        self._seen: set[tuple] = set()

    def add(self, video_id, category_id: int, masklets: list[dict]) -> bool:
        key = (video_id, int(category_id))
        if key in self._seen:
            return False
        self._seen.add(key)
        for m in masklets:
            self.entries.append({"video_id": video_id, "category_id": int(category_id), **m})
        return True

    def to_json(self) -> str:
        return json.dumps(self.entries) + "\n"


def sheet_frames(count: int, n: int = SHEET_FRAMES) -> list[int]:
    """Up to ``n`` frame indices spread evenly over ``count`` frames, first and last included."""
    if count <= 0:
        return []
    if count <= n:
        return list(range(count))
    return sorted({int(round(i * (count - 1) / (n - 1))) for i in range(n)})


def sheet_tile(frame: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """A contact-sheet tile: the frame (at most ``SHEET_HEIGHT`` px high) with label map uint16 [H, W] painted over
    it and each object's id written at its centre."""
    import cv2

    from segcorr.viz.overlay import overlay_masks

    h, w = labels.shape
    k = SHEET_HEIGHT / h if h > SHEET_HEIGHT else 1.0
    size = (max(1, round(w * k)), max(1, round(h * k)))
    small = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
    lab = cv2.resize(labels.astype(np.uint16), size, interpolation=cv2.INTER_NEAREST)
    tile = overlay_masks(small, lab.astype(np.int64), alpha=0.55)
    for i in np.unique(lab[lab > 0]):  # the id at each object's centre, so a reader can follow it
        ys, xs = np.nonzero(lab == i)
        x, y = int(xs.mean()), int(ys.mean())
        cv2.putText(tile, str(int(i)), (x - 4, y + 4), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 2, cv2.LINE_AA)
        cv2.putText(tile, str(int(i)), (x - 4, y + 4), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 255), 1, cv2.LINE_AA)
    return tile


class TrackWriter:
    """out: output folder; count: frames expected (0 if unknown: every 10th of the first 120 is sampled);
    queries: obj id -> (category id, query text) for visually prompted objects; phrases: phrase -> category id."""

    def __init__(
        self, out: Path, count: int, queries: dict[int, tuple[int, str]], phrases: dict[str, int], video_id: int = 1
    ) -> None:
        self.out = Path(out)  # made on the first frame written: a run that fails its checks leaves nothing
        self.queries, self.phrases, self.video_id = queries, phrases, video_id
        self.sample = set(sheet_frames(count) if count else range(0, 120, 10))
        self.tiles: list[tuple[int, np.ndarray]] = []
        self.rles: dict[int, list] = {}
        self.score_sum: dict[int, float] = {}
        self.score_n: dict[int, int] = {}
        self.obj_phrase: dict[int, str | None] = {}
        self.frames = 0

    def add(self, frame: np.ndarray, r: FrameResult, phrases: dict[int, str | None]) -> None:
        from segcorr.io.labelmap import write_labelmap
        from segcorr.io.rle import encode_mask

        labels = r.labels()
        self.out.mkdir(parents=True, exist_ok=True)
        write_labelmap(self.out / f"labels_{r.t:03d}.png", labels)
        for k, i in enumerate(r.ids):
            seq = self.rles.setdefault(i, [None] * self.frames)
            self.obj_phrase.setdefault(i, phrases.get(i))
            if r.present[k]:
                seq.append(encode_mask(r.masks[k]))
                self.score_sum[i] = self.score_sum.get(i, 0.0) + 1.0 / (1.0 + np.exp(-min(float(r.scores[k]), 50)))
                self.score_n[i] = self.score_n.get(i, 0) + 1
            else:
                seq.append(None)
        self.frames += 1
        if r.t in self.sample:
            self.tiles.append((r.t, sheet_tile(frame, labels)))

    def close(self) -> Path:
        """Write masklets.json and overlay.png for the frames added so far. Returns the masklets path."""
        from segcorr.io.atomic import atomic_write_text
        from segcorr.io.image import write_image
        from segcorr.viz.panel import side_by_side

        results = YTVISResults()
        groups: dict[tuple[int, str], list[dict]] = {}
        for i, seq in sorted(self.rles.items()):
            seq = seq + [None] * (self.frames - len(seq))
            ph = self.obj_phrase.get(i)
            if ph is not None and ph in self.phrases:
                cat, query = self.phrases[ph], ph
            else:
                cat, query = self.queries.get(i, (10000 + i, "detected"))
            n = self.score_n.get(i, 0)
            groups.setdefault((cat, query), []).append(
                {
                    "score": self.score_sum.get(i, 0.0) / n if n else 0.0,
                    "segmentations": seq,
                    "obj_id": i,
                    "query": query,
                }
            )
        for (cat, _), masklets in sorted(groups.items()):
            results.add(self.video_id, cat, masklets)
        path = self.out / "masklets.json"
        atomic_write_text(path, results.to_json())
        if self.tiles:
            sheet = side_by_side([t for _, t in self.tiles], [f"frame {t}" for t, _ in self.tiles], max_cols=SHEET_COLS)
            write_image(self.out / "overlay.png", sheet)
        return path
