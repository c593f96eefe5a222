"""How ``Sam3Predictor.predict`` snaps click and box answers to flat-colour regions (``PromptSnap``).

The plain snap (``snap.snap_to_regions``) lets each flat region take the majority decision of its pixels and
leaves line-art pixels to the nearest region (the flat segmentation fills them). For a click or a box the answer
is then changed in two ways, each an option:

- the vote of a region for a click answer is its mean probability (``click_vote="mean"``) above ``click_share``
  for regions of about the clicked region's hue (chroma within ``hue_distance`` in OpenCV's 8-bit CIELAB a, b:
  the shadow and light tones of a cel part keep its hue), above ``other_hue_share`` for the others: a neighbouring
  part of another colour that the model's stride-4 mask spills over stays out unless the model is sure;
  a box answer keeps the pixel vote and drops regions with less than ``box_inside`` of their pixels in the box;
- the answer's outline (a drawn part owns the line around it, which the nearest-region fill splits with its
  neighbours): the answer keeps its own line-art pixels (those the nearest-region fill gave it; ``outline_keep``,
  else they are dropped first), then the line-art pixels touching it, up to ``outline_width`` px deep, join it;
  and where the line art is thick (``line_thickness`` at least ``thick_line`` px: 2 x the largest distance to a
  non-line pixel within ``thick_window`` px, e.g. the heavy outlines of toon renders), its pixels up to that
  thickness away from the answer join too, so a thick outline is owned across its whole width while a thin line
  is not followed along past the part. With a box, only line pixels inside the box join (or stay).

A click on a flat region the model says is not the object (its mean probability over the clicked regions below
``click_veto``) while the model's own mask (probability > 0.5) is not empty is answered with that mask, unsnapped:
there the flat segmentation has merged a small part into a large region around it (a thin stripe, a small spot),
and forcing the clicked region in would answer with the large region.

``PromptSnap.legacy()`` is the plain snap (what ``predict`` did before these options); the rule of 2026-12-01
(session 10) is ``PromptSnap(outline_width=4, outline_keep=False, thick_line=0.0)``. Text answers and
``Sam3Predictor.finish`` always use the plain snap.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

VOTES = ("pixels", "mean")


@dataclass(frozen=True)
class PromptSnap:
    """Defaults chosen on validation images (seeds 500 000+) for the shipped weights; the figures and the rules
    tried are in the weights README, section sam3_tiny."""

    click_vote: str = "mean"  # "pixels": share of pixels with probability > 0.5; "mean": mean probability
    click_share: float = 0.5  # a region of the clicked region's hue joins a click answer when its vote is above this
    other_hue_share: float = 0.9  # the same for regions of another hue
    hue_distance: float = 25.0  # chroma distance (OpenCV 8-bit Lab a, b) below which a region has the clicked hue
    box_inside: float = 0.7  # a region stays in a box answer only with at least this share of its pixels in the box
    outline_width: int = 2  # line-art pixels touching the answer, up to this deep, join it (0: off)
    outline_keep: bool = True  # the answer keeps its own line-art pixels (False: they are dropped before the claim)
    thick_line: float = 5.0  # line art at least this thick (px) joins up to its thickness away (0: off)
    thick_window: int = 3  # the thickness of a line pixel: 2 x the largest line depth within this many px
    click_veto: float = 0.1  # a click region with a mean probability below this is not forced in (0: off)

    def __post_init__(self) -> None:
        if self.click_vote not in VOTES:
            raise ValueError(f"expected click_vote in {VOTES}, found {self.click_vote!r}")

    @classmethod
    def legacy(cls) -> PromptSnap:
        """The plain majority snap: pixel vote at 0.5, half of a region in the box, no outline."""
        return cls(
            click_vote="pixels",
            click_share=0.5,
            other_hue_share=0.5,
            box_inside=0.5,
            outline_width=0,
            thick_line=0.0,
            click_veto=0.0,
        )


def line_thickness(line: np.ndarray, window: int) -> np.ndarray:
    """line bool [H, W] (line art) -> float32 [H, W]: 2 x the largest depth (distance to the nearest non-line
    pixel, OpenCV's 3x3 chamfer L2: 0.955 per step) within ``window`` px (a square of side 2 ``window`` + 1):
    about the width of the stroke a line pixel lies in (2 px: 1.91, 3-4 px: 3.82, 5-6 px: 5.73, 8 px: 7.64).
    Off the line art the value means nothing."""
    import cv2

    depth = cv2.distanceTransform(np.pad(np.asarray(line, np.uint8), 1), cv2.DIST_L2, 3)[1:-1, 1:-1]
    side = 2 * int(window) + 1
    return 2.0 * cv2.dilate(depth, np.ones((side, side), np.uint8))


def claim_lines(
    mask: np.ndarray,
    line: np.ndarray,
    width: int,
    box: np.ndarray | None = None,
    keep: bool = False,
    thickness: np.ndarray | None = None,
    thick_line: float = 0.0,
) -> np.ndarray:
    """mask bool [H, W], line bool [H, W] (line art) -> bool [H, W]: the mask without its line-art pixels (with
    ``keep``: with them), plus the line-art pixels reachable from it through line art in at most ``width`` steps
    (4-neighbours); with ``thickness`` (float [H, W], ``line_thickness``) and ``thick_line`` > 0 also the line
    pixels at least ``thick_line`` thick that lie at most their thickness from the mask's off-line pixels and
    connect to the answer through such pixels; with a ``box`` (x0, y0, x1, y1, pixel c covers [c, c + 1)) only
    line pixels whose centres lie in the box join (or, with ``keep``, stay)."""
    from segcorr.segment.prompting import claim_outline

    thick = thickness is not None and thick_line > 0
    if width <= 0 and not thick:
        return mask
    line = np.asarray(line, bool)
    joinable = line
    if box is not None:
        h, w = line.shape
        x0, y0, x1, y1 = np.asarray(box, np.float64).reshape(4)
        ys, xs = np.arange(h)[:, None] + 0.5, np.arange(w)[None, :] + 0.5
        joinable = line & (xs >= x0) & (xs <= x1) & (ys >= y0) & (ys <= y1)
    base = mask & (~line | joinable) if keep else mask & ~line
    out = claim_outline(base, joinable, width)
    core = mask & ~line
    if thick and core.any():
        import cv2

        near = cv2.distanceTransform((~core).astype(np.uint8), cv2.DIST_L2, 3)
        grow = (out | (joinable & (thickness >= thick_line) & (near <= thickness))).astype(np.uint8)
        _, comp = cv2.connectedComponents(grow, connectivity=4)
        out = out | np.isin(comp, np.unique(comp[out]))  # the components of the answer's own pixels (ids >= 1)
    return out


def region_chroma(image: np.ndarray, labels: np.ndarray, line: np.ndarray) -> np.ndarray:
    """Mean chroma of each region: image uint8 [H, W, 3] RGB, labels int [H, W] (ids 0..S), line bool [H, W]
    -> float [S + 1, 2] (OpenCV 8-bit Lab a, b over the region's pixels off the line art; all of them when every
    pixel is line art; 0 for an id with no pixels)."""
    import cv2

    lab = labels.ravel()
    n = int(lab.max()) + 1
    ab = cv2.cvtColor(image, cv2.COLOR_RGB2LAB).reshape(-1, 3)[:, 1:].astype(np.float64)
    off = (~np.asarray(line, bool)).ravel().astype(np.float64)
    cnt = np.bincount(lab, weights=off, minlength=n)
    w = np.where((cnt > 0)[lab], off, 1.0)
    cnt = np.bincount(lab, weights=w, minlength=n)
    sums = [np.bincount(lab, weights=ab[:, c] * w, minlength=n) for c in range(2)]
    return np.stack(sums, 1) / np.maximum(cnt, 1e-9)[:, None]


def click_shares(cfg: PromptSnap, chroma: np.ndarray, clicked: np.ndarray) -> np.ndarray:
    """Per-region vote threshold for a click answer: chroma float [S + 1, 2] (``region_chroma``), clicked int [C]
    (region ids under the positive clicks) -> float [S + 1]: ``click_share`` for regions within ``hue_distance``
    of a clicked region's chroma, ``other_hue_share`` for the rest."""
    shares = np.full(len(chroma), cfg.other_hue_share)
    clicked = np.asarray(clicked, np.int64).reshape(-1)
    clicked = clicked[(clicked > 0) & (clicked < len(chroma))]
    if len(clicked):
        d = np.linalg.norm(chroma[:, None, :] - chroma[clicked][None], axis=2).min(1)
        shares[d < cfg.hue_distance] = cfg.click_share
    else:
        shares[:] = cfg.click_share
    return shares
