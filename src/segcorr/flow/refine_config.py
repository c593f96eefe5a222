"""Settings of the segment-level refinement (`segcorr.flow.refine`): one frozen dataclass, one default each."""

from __future__ import annotations

from dataclasses import dataclass

from segcorr.errors import InputError
from segcorr.flow.classical import METHODS

REFINE_MODES = ("none", "affine", "fuse")


@dataclass(frozen=True)
class RefineConfig:
    """Options of `refine_flow` and of the functions it is built from. How each default was chosen (validation
    figures) is in `src/segcorr/weights/README.md`, "Refinement settings".

    mode: "none" (network flow as is), "affine" (per-segment robust affine fit of it), "fuse" (per segment, the
        best by photometric error of: the fit of the network flow, the fit of `classical`'s flow, the network flow,
        `classical`'s flow itself (`own_penalty`);
        then a propagation pass, the polish and the variational refinement).
    classical: OpenCV method that supplies the second candidate in "fuse" mode.
    classical_init: the classical method starts from the network's flow instead of from zero, so its candidate is
        the network's motion corrected by image matching rather than an independent guess.
    tau: px, floor of the robust scale of the affine fits (Cauchy weights 1 / (1 + (r / c)^2),
        c = max(tau, scale_mult x mean residual of the segment)).
    scale_mult: see tau.
    iters: reweighting rounds of the affine fits.
    penalty: grey levels (0..255) added to the classical candidate's mean segment error (its own optimiser makes
        its photometric error look better than its flow is).
    raw_penalty: the same for the network's flow without the fit (a way out for segments whose motion is not
        affine: bending, deforming).
    own_penalty: "fuse" mode, grey levels added to a fourth candidate, the classical flow itself (not fitted):
        motion that no affine map follows and the network's coarse flow misses (smoke, hair, a turning figure).
        Offered only in segments with texture in their interior (`textured_segments` with no `min_interior`
        exemption: never lines or small parts, where a per-pixel match cannot be checked). inf: no such
        candidate. Chosen on validation seeds 500000.. of the "film" style (one and three time units apart), with
        "cel" and "shaded" as checks.
    own_max_dev: px; in that candidate (and in label-0 pixels), pixels where the classical flow differs from the
        network's by more than this in u or v keep the network's flow: so far from the network's motion a
        match is more often a repeated texture or a guess in an occlusion than a correction (inf: no bound).
        Chosen with own_penalty.
    trunc: grey levels, truncation of the per-pixel photometric error, so a segment's cost is close to its share
        of mismatched pixels and occluded parts cannot dominate it.
    flat_grad, textured_share, min_interior: the classical candidate is offered only in textured segments: more
        than `textured_share` of the segment's interior pixels (all four neighbours in the segment) have a gradient
        above `flat_grad` grey levels per px, or it has fewer than `min_interior` interior pixels (lines, small
        parts). In a flat cel region a classical flow is an interpolation from the borders that a photometric cost
        cannot check. textured_share < 0: everywhere.
    neighbours: "fuse" mode, candidates of the propagation pass (0: no pass): the frame's dominant motion and the
        affine motions of up to this many neighbouring segments (longest shared borders first). A flat region's
        own estimate is weak, and the right one is often next door.
    neighbour_penalty: grey levels added to a neighbour's candidate.
    dominant_step, dominant_tau, dominant_iters: the frame's dominant motion is one robust affine fit over every
        dominant_step-th pixel in x and y, with a tighter scale floor and more rounds than the segment fits.
    speed_margin, speed_quantile, speed_slack: a propagated candidate may not move any sample faster than
        speed_margin x the frame's speed_quantile-th percentile speed + speed_slack px: a neighbour's affine map
        extrapolated over a large segment can reach motions seen nowhere in the frame, and may still look cheap by
        sending the segment out of the frame.
    cost_stride: a segment's photometric cost is the mean over every cost_stride-th pixel in x and y; 1: every pixel.
    fit_stride: the affine fits use every fit_stride-th pixel in x and y.
    min_samples: a segment that those grids cover with fewer pixels (small ones, a 1-px line between grid rows)
        is sampled at every pixel (0: never).
    max_side: px; frames with a longer side are refined at this size and the flow is scaled back (memory and
        classical-flow time stay bounded).
    polish_iters: after the choices, each segment's affine map is polished by direct image alignment
        (`segcorr.flow.segment_polish`): this many Gauss-Newton steps per smoothing level (0: no polish).
    polish_sigmas: px, Gaussian smoothing of the frames for the polish, one level each, coarse to fine.
    polish_scale: px, robust scale of a pixel's misfit in the polish (its residual over its gradient).
    variational_iters: "fuse" mode, last step: fixed-point iterations of a variational refinement of the whole
        output flow (`segcorr.flow.variational`: brightness and gradient constancy plus smoothness, started from
        the flow; 0: off). Chosen on validation seeds 500000.. of the "film", "shaded" and "cel" styles.
    variational_alpha, variational_delta, variational_gamma: its smoothness, brightness-constancy and
        gradient-constancy weights (only their ratios matter much), chosen with it.
    variational_keep_jump: px; pixels on a segment border across which the fused flow changes by more than this
        (in u or v) keep the fused flow: the variational smoothness term would blur the motion boundary (inf: the
        variational flow everywhere). Chosen with it.
    """

    mode: str = "fuse"
    classical: str = "dis-medium"
    classical_init: bool = True
    tau: float = 2.0
    scale_mult: float = 1.5
    iters: int = 3
    penalty: float = 0.125
    raw_penalty: float = 0.25
    own_penalty: float = 0.5
    own_max_dev: float = 8.0
    trunc: float = 10.0
    flat_grad: float = 1.0
    textured_share: float = 0.3
    min_interior: int = 16
    neighbours: int = 3
    neighbour_penalty: float = 0.5
    dominant_step: int = 8
    dominant_tau: float = 1.0
    dominant_iters: int = 8
    speed_margin: float = 1.25
    speed_quantile: float = 99.0
    speed_slack: float = 4.0
    cost_stride: int = 3
    fit_stride: int = 3
    min_samples: int = 32
    max_side: int = 1024
    polish_iters: int = 3
    polish_sigmas: tuple[float, ...] = (1.5, 0.7)
    polish_scale: float = 1.0
    variational_iters: int = 5
    variational_alpha: float = 10.0
    variational_delta: float = 5.0
    variational_gamma: float = 10.0
    variational_keep_jump: float = 2.0

    def __post_init__(self) -> None:
        if self.mode not in REFINE_MODES:
            raise InputError(f"unknown refine mode {self.mode!r}; known: {', '.join(REFINE_MODES)}")
        if self.classical not in METHODS:
            raise InputError(f"unknown classical flow method {self.classical!r}; known: {', '.join(METHODS)}")
        for name in ("iters", "dominant_iters", "dominant_step", "cost_stride", "fit_stride", "max_side"):
            if int(getattr(self, name)) < 1:
                raise InputError(f"refine {name}: expected a positive integer, found {getattr(self, name)}")
        for name in ("neighbours", "min_samples", "min_interior", "polish_iters", "variational_iters"):
            if int(getattr(self, name)) < 0:
                raise InputError(f"refine {name}: expected 0 or more, found {getattr(self, name)}")
        if not float(self.own_penalty) >= 0 or not float(self.own_max_dev) >= 0:
            raise InputError(
                f"refine own_penalty, own_max_dev: expected 0 or more, found {self.own_penalty}, {self.own_max_dev}"
            )
        for name in ("variational_alpha", "variational_delta", "variational_gamma", "variational_keep_jump"):
            if not float(getattr(self, name)) >= 0:
                raise InputError(f"refine {name}: expected 0 or more, found {getattr(self, name)}")
