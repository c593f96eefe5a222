"""``MatchPredictor``: AS-Mamba on two images of any size and format, matches in original pixels.

Resize plan (``segcorr.geometry.resize``, the matching protocol's): each image is converted to grey, resized so
its longer side is ``longer_side`` (area interpolation when shrinking), and padded right/bottom with zeros to a
multiple of 32; the padding is passed to the model as a mask, so padded cells never match. Matches on padding
are dropped, the ``max_matches`` most confident are kept, and their positions are mapped back to each image's
original pixels (pixel centres aligned).
"""

from __future__ import annotations

import os

import numpy as np
import torch

from segcorr.errors import InputError
from segcorr.geometry.resize import points_to_original, resize_longer_side
from segcorr.matching.orientation import OrientationSearch, view_image, view_points_back
from segcorr.matching.patch_refine import PatchRefine, refine_and_filter
from segcorr.matching.prealign import PreAlign, fit_prealignment, points_through, warp_onto

MIN_SIDE = 64
_MULTIPLE = 32
_FINE_MARGIN = 256  # coarse matches refined beyond max_matches (fine positions outside the image are dropped)


def to_grey_float(img: np.ndarray, name: str = "image") -> np.ndarray:
    """uint8 / uint16 [H, W], [H, W, 1], [H, W, 3] RGB or [H, W, 4] RGBA (alpha on white), or float in 0..1 ->
    float32 [H, W] in 0..1 (ITU-R 601 luma for colour)."""
    a = np.asarray(img)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (3, 4)):
        raise InputError(f"{name}: expected [H, W] grey, [H, W, 3] RGB or [H, W, 4] RGBA, found shape {a.shape}")
    if a.dtype == np.uint8:
        x = a.astype(np.float32) / 255.0
    elif a.dtype == np.uint16:
        x = a.astype(np.float32) / 65535.0
    elif a.dtype in (np.float32, np.float64):
        x = a.astype(np.float32)
        if not np.isfinite(x).all() or x.min() < 0.0 or x.max() > 1.0:
            raise InputError(
                f"{name}: float images must hold finite values in 0..1, found {np.nanmin(x):.3g}..{np.nanmax(x):.3g}"
            )
    else:
        raise InputError(f"{name}: expected uint8, uint16 or float pixels, found {a.dtype}")
    if x.ndim == 3:
        if x.shape[2] == 4:  # composite on white, as the image readers do (cels and pages are drawn on paper)
            alpha = x[:, :, 3:4]
            x = x[:, :, :3] * alpha + (1.0 - alpha)
        x = x[:, :, 0] * 0.299 + x[:, :, 1] * 0.587 + x[:, :, 2] * 0.114
    return np.ascontiguousarray(x, dtype=np.float32)


class MatchPredictor:
    """Holds the model, its settings and the resize plan.

    Arguments:
        model: an ``ASMamba`` (put in eval mode here).
        longer_side: each image is resized so its longer side has this many pixels.
        max_matches: at most this many matches, highest confidence first.
        threshold: coarse confidence threshold (None = the model's ``match_threshold``).
        refine: sub-pixel refinement of image 1's points on the pictures (``segcorr.matching.patch_refine``;
            ``PatchRefine(enabled=False)`` keeps the network's fine positions).
        orientation: turns and crops of image 1 tried when the first try finds no consistent matches
            (``segcorr.matching.orientation``; it needs the refinement's consistency check).
        prealign: a small first pass whose homography warps image 1 onto image 0 before the full pass
            (``segcorr.matching.prealign``; ``PreAlign(enabled=False)`` matches the pair as given, and so does the
            full pass after a probe with ``plain_above`` or more consistent matches); a full pass
            that ends with fewer than ``recheck_below`` consistent matches after a probe that passed gets the
            orientation search's views after all.
    ``__call__(img0, img1) -> {"mkpts0": [M, 2] float32, "mkpts1": [M, 2] float32, "mconf": [M] float32}`` in
    each image's original pixel coordinates (x, y; pixel centres at integers). After a call, ``last_passes`` lists
    the longer side of every network pass it ran, in order (what a pair cost: the orientation search adds one pass
    per view).
    """

    def __init__(
        self,
        model: torch.nn.Module,
        longer_side: int = 640,
        max_matches: int = 2048,
        threshold: float | None = None,
        refine: PatchRefine | None = None,
        orientation: OrientationSearch | None = None,
        prealign: PreAlign | None = None,
    ) -> None:
        if longer_side < MIN_SIDE or longer_side % 2:
            raise InputError(f"longer_side: expected an even number >= {MIN_SIDE}, found {longer_side}")
        if max_matches < 1:
            raise InputError(f"max_matches: expected at least 1, found {max_matches}")
        self.model = model.eval()
        self.longer_side, self.max_matches, self.threshold = longer_side, max_matches, threshold
        self.refine = PatchRefine() if refine is None else refine
        self.orientation = OrientationSearch() if orientation is None else orientation
        self.prealign = PreAlign() if prealign is None else prealign
        self.last_passes: list[int] = []

    @classmethod
    def from_pretrained(cls, name_or_path: str | os.PathLike = "as_mamba_tiny", **kwargs) -> MatchPredictor:
        """Predictor around shipped weights (a name in ``segcorr/weights``) or a .safetensors path; a missing file
        is an InputError naming it."""
        from segcorr.matching import load_pretrained

        return cls(load_pretrained(name_or_path), **kwargs)

    def _prepare(self, img: np.ndarray, name: str, side: int | None = None):
        """-> (image [1, 1, Hp, Wp], mask [1, Hp, Wp] bool, (h, w) resized, sx, sy); ``side``: the longer side
        (default ``longer_side``)."""
        grey = to_grey_float(img, name)
        h0, w0 = grey.shape
        if min(h0, w0) < MIN_SIDE:
            raise InputError(f"{name}: image too small to match ({w0}x{h0} px); each side needs at least {MIN_SIDE} px")
        grey, sx, sy = resize_longer_side(grey, side or self.longer_side)
        h, w = grey.shape
        hp, wp = -(-h // _MULTIPLE) * _MULTIPLE, -(-w // _MULTIPLE) * _MULTIPLE
        padded = np.zeros((hp, wp), np.float32)
        padded[:h, :w] = grey
        mask = np.zeros((hp, wp), bool)
        mask[:h, :w] = True
        dev = next(self.model.parameters()).device
        return (torch.from_numpy(padded)[None, None].to(dev), torch.from_numpy(mask)[None].to(dev), (h, w), sx, sy)

    def __call__(self, img0: np.ndarray, img1: np.ndarray) -> dict[str, np.ndarray]:
        self.last_passes = []
        # grey once: every pass, view and warp below works on the float grey images the network reads
        img0, img1 = to_grey_float(img0, "img0"), to_grey_float(img1, "img1")
        # one grey level: nothing to match, and none of its views would find more (too small stays an error)
        if (_flat(img0) or _flat(img1)) and min(*img0.shape, *img1.shape) >= MIN_SIDE:
            empty = np.zeros((0, 2), np.float32)
            return {"mkpts0": empty, "mkpts1": empty.copy(), "mconf": np.zeros(0, np.float32)}
        if not self.prealign.enabled:
            best, support = self._match(img0, img1)
            view = self._best_view(img0, img1, support, full=True)
            return best if view is None else view[0]
        pre, search = self.prealign, self.orientation
        probe, support = self._match(img0, img1, pre.probe_side)
        searched = support < search.retry_below  # the views are tried (below) only then
        view = self._best_view(img0, img1, support, full=False)
        # a first probe matched well as given: the full pass matches the pair as given, no warp (module prealign);
        # not after a view of the search won (that view is turned or cropped: the pair as given is what failed)
        if view is None and pre.plain_above and support >= pre.plain_above:
            out, final = self._match(img0, img1)
        else:
            probe, support = (probe, support) if view is None else view
            out, final = self._aligned(img0, img1, probe, support)
        if pre.recheck_below and not searched and final < pre.recheck_below:
            # few consistent matches in the end although the probe looked fine (a repeated pattern matched at the
            # wrong turn, a scale change): the views get their chance, and the pass with more support wins
            view = self._best_view(img0, img1, support, full=False, below=support + 1)
            if view is not None:
                again, s = self._aligned(img0, img1, *view)
                if s > final:
                    return again
        return out

    def _aligned(
        self, img0: np.ndarray, img1: np.ndarray, probe: dict[str, np.ndarray], support: int
    ) -> tuple[dict[str, np.ndarray], int]:
        """The full pass after a probe with ``support`` consistent matches: image 1 warped onto image 0 by the
        probe's homography (or as given without a usable one), the fallback to the pair as given when the warp
        did not help -> (matches in original pixels, consistency support of the pass returned)."""
        pre = self.prealign
        px = max(img1.shape[:2]) / pre.probe_side  # image 1's pixels per probe pixel
        H = fit_prealignment(probe["mkpts0"], probe["mkpts1"], pre, px)
        warped, seen = (None, 0.0) if H is None else warp_onto(img1, H, img0.shape[:2])
        if warped is None or seen < pre.min_overlap:
            return self._match(img0, img1)
        out, aligned = self._match(img0, warped)
        out["mkpts1"] = points_through(H, out["mkpts1"])
        if pre.fallback and aligned < max(support, self.orientation.retry_below):  # the warp did not help
            plain, given = self._match(img0, img1)
            if given > aligned:
                return plain, given
        return out, aligned

    def _best_view(
        self, img0: np.ndarray, img1: np.ndarray, support: int, full: bool, below: int | None = None
    ) -> tuple[dict[str, np.ndarray], int] | None:
        """The orientation search, when a try with ``support`` consistent matches is short of ``retry_below``.
        ``full``: every view of image 1 is matched at the search's ``probe_side`` (all of them at full size without
        one), the best again at full size, and it must reach ``retry_below`` itself; else every view is matched at
        the pre-alignment's ``probe_side`` and the best one is the answer. A view must beat ``support``; the views
        are tried in order and the first with the search's ``enough`` consistent matches ends it. ``below``: the
        search runs when ``support`` is below it (default: the search's ``retry_below``). Returns
        (matches mapped back to image 1, support) or None when no view wins."""
        search, ref = self.orientation, self.refine
        below = search.retry_below if below is None else below
        if not (search.enabled and ref.enabled and ref.consistency_px > 0 and support < below):
            return None
        views = [v for v in search.views(img1.shape[:2]) if v[1] is None or _box_side(v[1]) >= MIN_SIDE]
        side = search.probe_side if full else self.prealign.probe_side
        need = search.retry_below if full else 0
        enough = search.enough if search.enough is not None else np.inf
        if views and side and (side < self.longer_side or not full):  # the best view at low cost
            tried = []
            for v in views:
                tried.append(self._match(img0, view_image(img1, v), side))
                if tried[-1][1] >= enough:
                    break
            k = int(np.argmax([s for _, s in tried]))
            views, tried = [views[k]], [tried[k]]
        best = None
        for i, view in enumerate(views):
            out, s = self._match(img0, view_image(img1, view)) if full else tried[i]
            if s > support and s >= need:
                out["mkpts1"] = view_points_back(out["mkpts1"], view, img1.shape[:2])
                best, support = (out, s), s
                if s >= enough:
                    break
        return best

    @torch.no_grad()
    def _match(self, img0: np.ndarray, img1: np.ndarray, side: int | None = None) -> tuple[dict[str, np.ndarray], int]:
        """One matching pass of the images as given, at longer side ``side`` (default ``longer_side``) ->
        (matches in original pixels, consistency support)."""
        t0, m0, hw0, sx0, sy0 = self._prepare(img0, "img0", side)
        t1, m1, hw1, sx1, sy1 = self._prepare(img1, "img1", side)
        self.last_passes.append(side or self.longer_side)
        # the fine stage only for the most confident coarse matches: those kept below, with a margin for the few
        # whose fine position leaves the image
        out = self.model(
            {"image0": t0, "image1": t1, "mask0": m0, "mask1": m1},
            threshold=self.threshold,
            max_matches=self.max_matches + _FINE_MARGIN,
        )
        k0 = out["mkpts0_f"].float().cpu().numpy()
        k1 = out["mkpts1_f"].float().cpu().numpy()
        conf = out["mconf"].float().cpu().numpy()
        # fine positions can leave the real image by up to the fine window's radius
        inside = (
            (k0[:, 0] > -0.5)
            & (k0[:, 0] < hw0[1] - 0.5)
            & (k0[:, 1] > -0.5)
            & (k0[:, 1] < hw0[0] - 0.5)
            & (k1[:, 0] > -0.5)
            & (k1[:, 0] < hw1[1] - 0.5)
            & (k1[:, 1] > -0.5)
            & (k1[:, 1] < hw1[0] - 0.5)
        )
        k0, k1, conf = k0[inside], k1[inside], conf[inside]
        order = np.argsort(-conf, kind="stable")[: self.max_matches]
        k0, k1 = k0[order], k1[order]
        g0, g1 = t0[0, 0].float().cpu().numpy(), t1[0, 0].float().cpu().numpy()
        k1, keep, support = refine_and_filter(g0, g1, k0, k1, self.refine, hw1)
        out = {
            "mkpts0": points_to_original(k0[keep], sx0, sy0),
            "mkpts1": points_to_original(k1, sx1, sy1),
            "mconf": conf[order][keep].astype(np.float32),
        }
        return out, support


def _flat(grey: np.ndarray) -> bool:
    """Whether a grey image [H, W] in 0..1 holds a single level (within half a uint8 step)."""
    return float(grey.max() - grey.min()) < 0.5 / 255


def _box_side(box: tuple[int, int, int, int]) -> int:
    """The shorter side of an (x0, y0, x1, y1) box."""
    return min(box[2] - box[0], box[3] - box[1])
