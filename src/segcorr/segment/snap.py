"""Snapping masks to the flat-colour regions of one image.

``snap_to_regions`` is the plain snap: each region takes the majority decision of its pixels. ``ImageRegions`` holds
one image's regions, line art and region chroma (each computed once, on first use) and snaps ``Sam3Predictor``'s
answers: ``snap`` plainly (text answers, ``finish``), ``snap_prompt`` with the click and box options of
``segment.prompt_snap.PromptSnap``.
"""

from __future__ import annotations

import numpy as np

from segcorr.segment.prompt_snap import PromptSnap, claim_lines, click_shares, line_thickness, region_chroma


def snap_to_regions(
    prob: np.ndarray,
    labels: np.ndarray,
    positive: np.ndarray | None = None,
    negative: np.ndarray | None = None,
    box: np.ndarray | None = None,
    share: float | np.ndarray = 0.5,
    vote: str = "pixels",
    box_share: float = 0.5,
    box_ok: np.ndarray | None = None,
) -> np.ndarray:
    """prob float [H, W] in 0..1, labels int [H, W] (0 = no region, e.g. line art) -> bool mask: each region
    takes the majority decision of its pixels (in when more than ``share`` of them are); label-0 pixels keep
    their own; with ``vote="mean"`` a region is in when its mean probability is above ``share`` instead (``share``:
    one number, or float [S + 1], one per label id). The
    regions under ``positive`` clicks ([P, 2] x, y) are in and those under ``negative`` clicks
    out, whatever the mask says: a click on a flat-colour region says which region is meant. With a ``box``
    prompt (x0, y0, x1, y1) the object lies in the box: regions with less than ``box_share`` of their pixels
    inside it, and label-0 pixels outside it, are out (``box_ok``, bool per label id, gives that test's outcome
    when the arrays are a crop of the image whose regions reach beyond it)."""
    raw = prob > 0.5
    h, w = labels.shape
    in_box = None
    if box is not None:
        x0, y0, x1, y1 = np.asarray(box, np.float64).reshape(4)
        ys, xs = np.arange(h)[:, None] + 0.5, np.arange(w)[None, :] + 0.5
        in_box = (xs >= x0) & (xs <= x1) & (ys >= y0) & (ys <= y1)
    lab = labels.ravel()
    n = int(lab.max()) + 1
    if n <= 1:
        return raw if in_box is None else raw & in_box
    votes = prob.ravel() if vote == "mean" else raw.ravel()
    inside = np.bincount(lab, weights=votes.astype(np.float64), minlength=n)
    total = np.bincount(lab, minlength=n).astype(np.float64)
    keep = inside > share * np.maximum(total, 1)
    if in_box is not None:  # the vote above used the unclipped mask; then regions mostly outside the box go
        if box_ok is None:
            share = np.bincount(lab, weights=in_box.ravel().astype(np.float64), minlength=n)
            keep &= share >= box_share * np.maximum(total, 1)
        else:
            keep &= box_ok[:n]
        raw &= in_box
    for pts, value in ((positive, True), (negative, False)):
        if pts is None:
            continue
        for x, y in np.asarray(pts).reshape(-1, 2):
            r = int(labels[min(h - 1, max(0, int(y))), min(w - 1, max(0, int(x)))])
            if r > 0:
                keep[r] = value
    out = keep[lab].reshape(labels.shape)
    return np.where(labels > 0, out, raw)


class ImageRegions:
    """The flat-colour regions of one image (uint8 [H, W, 3] RGB), segmented on first use at most at ``snap_side``
    pixels on the longer side and brought back to full size."""

    def __init__(self, image: np.ndarray, snap_side: int) -> None:
        self.image = image
        self.snap_side = snap_side
        self._labels: np.ndarray | None = None
        self._lines: np.ndarray | None = None
        self._chroma: np.ndarray | None = None
        self._thickness: dict[int, np.ndarray] = {}
        self._spans: tuple[np.ndarray, np.ndarray] | None = None

    def labels(self) -> np.ndarray:
        """int64 [H, W] region ids (0 = no region, e.g. line art)."""
        if self._labels is None:
            import cv2

            from segcorr.segment.flat import FlatSegmenter

            img = self.image
            h, w = img.shape[:2]
            f = min(1.0, self.snap_side / max(h, w))
            if f < 1.0:
                small = cv2.resize(img, (round(w * f), round(h * f)), interpolation=cv2.INTER_AREA)
                lab, line = FlatSegmenter().analyse(small)
                lab = cv2.resize(
                    lab.astype(np.int32).astype(np.float32), (w, h), interpolation=cv2.INTER_NEAREST
                ).astype(np.int64)
                line = cv2.resize(line.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST).astype(bool)
            else:
                lab, line = FlatSegmenter().analyse(img)
                lab = lab.astype(np.int64)
            self._labels, self._lines = lab, line
        return self._labels

    def lines(self) -> np.ndarray:
        """bool [H, W] line art found with ``labels`` (its pixels are filled into the regions there)."""
        self.labels()
        return self._lines

    def snap(self, prob: np.ndarray) -> np.ndarray:
        """Probabilities [K, H, W] -> bool masks [K, H, W] by the plain snap (no prompt)."""
        labels = self.labels()
        return np.stack([snap_to_regions(p, labels) for p in prob])

    def snap_prompt(
        self,
        prob: np.ndarray,
        cfg: PromptSnap,
        positive: np.ndarray | None,
        negative: np.ndarray | None,
        box: np.ndarray | None,
        crop: bool = True,
    ) -> np.ndarray:
        """A click or box answer's probabilities [K, H, W] -> bool masks, snapped with the options ``cfg``. A box
        answer is snapped in the smallest rectangle that holds every pixel it can keep (``_snap_box_cropped``; the
        same masks as ``crop=False``, faster for a small box)."""
        if box is not None and crop:
            return self._snap_box_cropped(prob, cfg, positive, negative, box)
        labels = self.labels()
        vote, share = ("pixels", 0.5) if box is not None else (cfg.click_vote, cfg.click_share)
        if box is None and positive is not None and len(positive) and cfg.other_hue_share != cfg.click_share:
            share = self._click_shares(cfg, positive)
        out = [snap_to_regions(p, labels, positive, negative, box, share, vote, cfg.box_inside) for p in prob]
        if cfg.outline_width > 0 or cfg.thick_line > 0:
            thick = self.thickness(cfg.thick_window) if cfg.thick_line > 0 else None
            w, keep = cfg.outline_width, cfg.outline_keep
            out = [claim_lines(m, self.lines(), w, box, keep, thick, cfg.thick_line) for m in out]
        if box is None and positive is not None and len(positive) and cfg.click_veto > 0:
            clicked = np.isin(labels, self._clicked_ids(positive))
            for k, p in enumerate(prob):
                own = p > 0.5
                if clicked.any() and own.any() and float(p[clicked].mean()) < cfg.click_veto:
                    out[k] = own  # the model's mask: the clicked region is not the object (see prompt_snap)
        return np.stack(out)

    def _snap_box_cropped(
        self,
        prob: np.ndarray,
        cfg: PromptSnap,
        positive: np.ndarray | None,
        negative: np.ndarray | None,
        box: np.ndarray,
    ) -> np.ndarray:
        """``snap_prompt`` for a box answer, computed in the rectangle that holds the box's pixels, the regions with
        at least ``box_inside`` of their pixels in the box and the regions under positive clicks: nothing outside
        it can be in the answer (a region mostly outside the box is out, label-0 pixels outside the box are out, line
        art joins only inside the box, and a negative click outside the rectangle lies on a region that is out)."""
        labels = self.labels()
        h, w = labels.shape
        x0, y0, x1, y1 = np.asarray(box, np.float64).reshape(4)
        # pixel c is in the box when c + 0.5 lies in [x0, x1] (as snap_to_regions)
        bx0, by0 = max(0, int(np.ceil(x0 - 0.5))), max(0, int(np.ceil(y0 - 0.5)))
        bx1, by1 = min(w, int(np.floor(x1 - 0.5)) + 1), min(h, int(np.floor(y1 - 0.5)) + 1)
        if bx1 <= bx0 or by1 <= by0:
            return self.snap_prompt(prob, cfg, positive, negative, box, crop=False)
        totals, spans = self._region_spans()
        n = len(totals)
        inside = np.bincount(labels[by0:by1, bx0:bx1].ravel(), minlength=n).astype(np.float64)
        ok = inside >= cfg.box_inside * np.maximum(totals, 1)
        wanted = ok.copy()
        if positive is not None and len(positive):
            wanted[self._clicked_ids(positive)] = True
        wanted[0] = False
        ids = np.flatnonzero(wanted)
        cy0, cx0 = min([by0, *spans[ids, 0]]), min([bx0, *spans[ids, 2]])
        cy1, cx1 = max([by1, *spans[ids, 1]]), max([bx1, *spans[ids, 3]])
        shift = np.array([cx0, cy0], np.float64)

        def local(pts):
            if pts is None:
                return None
            pts = np.asarray(pts, np.float64).reshape(-1, 2)
            inside_crop = (pts[:, 0] >= cx0) & (pts[:, 0] < cx1) & (pts[:, 1] >= cy0) & (pts[:, 1] < cy1)
            return pts[inside_crop] - shift

        lab = labels[cy0:cy1, cx0:cx1]
        cbox = np.array([x0 - cx0, y0 - cy0, x1 - cx0, y1 - cy0])
        pos, neg = local(positive), local(negative)
        out = [
            snap_to_regions(p[cy0:cy1, cx0:cx1], lab, pos, neg, cbox, 0.5, "pixels", cfg.box_inside, ok) for p in prob
        ]
        if cfg.outline_width > 0 or cfg.thick_line > 0:
            thick = self.thickness(cfg.thick_window)[cy0:cy1, cx0:cx1] if cfg.thick_line > 0 else None
            line = self.lines()[cy0:cy1, cx0:cx1]
            out = [claim_lines(m, line, cfg.outline_width, cbox, cfg.outline_keep, thick, cfg.thick_line) for m in out]
        full = np.zeros((len(prob), h, w), bool)
        full[:, cy0:cy1, cx0:cx1] = np.stack(out)
        return full

    def _region_spans(self) -> tuple[np.ndarray, np.ndarray]:
        """Per region id: pixel count float [S + 1] and bounding rows/cols int [S + 1, 4] (y0, y1, x0, x1,
        end-exclusive; an id without pixels gets an empty span at 0); computed once per image."""
        if self._spans is None:
            from scipy.ndimage import find_objects

            labels = self.labels()
            totals = np.bincount(labels.ravel()).astype(np.float64)
            spans = np.zeros((len(totals), 4), np.int64)
            for i, sl in enumerate(find_objects(labels.astype(np.int32)), start=1):
                if sl is not None:
                    spans[i] = sl[0].start, sl[0].stop, sl[1].start, sl[1].stop
            self._spans = totals, spans
        return self._spans

    def _clicked_ids(self, positive: np.ndarray) -> np.ndarray:
        """Region ids (> 0) under the clicks positive [P, 2] (x, y), int64 [<= P]."""
        labels = self.labels()
        h, w = labels.shape
        pts = np.asarray(positive).reshape(-1, 2)
        ids = labels[np.clip(pts[:, 1].astype(int), 0, h - 1), np.clip(pts[:, 0].astype(int), 0, w - 1)]
        return ids[ids > 0]

    def thickness(self, window: int) -> np.ndarray:
        """float32 [H, W] stroke thickness of the line art (``prompt_snap.line_thickness``), once per window."""
        if window not in self._thickness:
            self._thickness[window] = line_thickness(self.lines(), window)
        return self._thickness[window]

    def _click_shares(self, cfg: PromptSnap, positive: np.ndarray) -> np.ndarray:
        """Per-region vote thresholds [S + 1] for a click answer (``prompt_snap.click_shares``)."""
        if self._chroma is None:
            self._chroma = region_chroma(self.image, self.labels(), self.lines())
        return click_shares(cfg, self._chroma, self._clicked_ids(positive))
