"""How ``Sam3Predictor.predict`` snaps click and box answers to flat-colour regions (``PromptSnap``).

The plain snap (``predictor.snap_to_regions``) lets each flat region take the majority decision of its pixels and
leaves line-art pixels to the nearest region (the flat segmentation fills them). For a click or a box the answer
is then changed in two ways, each an option:

- the vote of a region for a click answer is its mean probability (``click_vote="mean"``) above ``click_share``:
  a small neighbouring region the model covers half-heartedly (its stride-4 mask spilling over an edge) stays out;
  a box answer keeps the pixel vote and drops regions with less than ``box_inside`` of their pixels in the box;
- the answer's outline: line-art pixels of the answer are first dropped, then the line-art pixels touching the
  answer, up to ``outline_width`` px deep, join it (a drawn part owns the line around it, which the nearest-region
  fill would split with its neighbours); with a box, only those inside the box.

``PromptSnap.legacy()`` is the plain snap (what ``predict`` did before these options). Text answers and
``Sam3Predictor.finish`` always use the plain snap.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

VOTES = ("pixels", "mean")


@dataclass(frozen=True)
class PromptSnap:
    """Defaults chosen on validation images (seeds 500 000+, see the weights README, section sam3_tiny)."""

    click_vote: str = "mean"  # "pixels": share of pixels with probability > 0.5; "mean": mean probability
    click_share: float = 0.6  # a region joins a click answer when its vote is above this
    box_inside: float = 0.6  # a region stays in a box answer only with at least this share of its pixels in the box
    outline_width: int = 4  # line-art pixels touching the answer, up to this deep, join it (0: off)

    def __post_init__(self) -> None:
        if self.click_vote not in VOTES:
            raise ValueError(f"expected click_vote in {VOTES}, found {self.click_vote!r}")

    @classmethod
    def legacy(cls) -> PromptSnap:
        """The plain majority snap: pixel vote at 0.5, half of a region in the box, no outline."""
        return cls(click_vote="pixels", click_share=0.5, box_inside=0.5, outline_width=0)


def claim_lines(mask: np.ndarray, line: np.ndarray, width: int, box: np.ndarray | None = None) -> np.ndarray:
    """mask bool [H, W], line bool [H, W] (line art) -> bool [H, W]: the mask without its line-art pixels, plus the
    line-art pixels reachable from it through line art in at most ``width`` steps (4-neighbours); with a ``box``
    (x0, y0, x1, y1, pixel c covers [c, c + 1)) only line pixels whose centres lie in the box join."""
    from segcorr.segment.prompting import claim_outline

    if width <= 0:
        return mask
    line = np.asarray(line, bool)
    joinable = line
    if box is not None:
        h, w = line.shape
        x0, y0, x1, y1 = np.asarray(box, np.float64).reshape(4)
        ys, xs = np.arange(h)[:, None] + 0.5, np.arange(w)[None, :] + 0.5
        joinable = line & (xs >= x0) & (xs <= x1) & (ys >= y0) & (ys <= y1)
    return claim_outline(mask & ~line, joinable, width)
