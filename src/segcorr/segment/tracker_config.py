"""``TrackerConfig``: the settings of ``Sam3Tracker`` (frozen, checked when made), and the tracker's limits."""

from __future__ import annotations

from dataclasses import dataclass

from segcorr.errors import InputError

MODES = ("auto", "reprompt", "memory")
MOTIONS = ("regions", "flow", "velocity", "none")
PRESENCES = ("model", "flow")
REENTRIES = ("regions", "none")
MAX_ID = 65535  # label maps are 16-bit


@dataclass(frozen=True)
class TrackerConfig:
    """mode: see ``segcorr.segment.tracker``. num_maskmem: memory frames per object (1 conditioning + FIFO of the
    rest). detect_every: text detection period K (frames). assoc_iou: least mask IoU to match a detection to a
    masklet. det_threshold: least detection score kept (0.1: chosen on validation clips, seeds 500000-500005, for the
    shipped image model; 0.5 started no masklet). max_objects: masklets at most. reprompt_inputs: what the
    reprompt mode sends ("mask", "point", "box"). motion: how objects follow the frames: "regions" (default, below;
    J&F 0.7342 against 0.6606 for "flow" on 24 validation clips of 32 frames, seeds 500000..), "flow" (the last mask
    warped along DIS flow between the frames at the model's working size), "velocity" (shifted by its last
    displacement) or "none". flow_gate: with "flow", when the model's mask overlaps the flow-warped last mask with
    IoU below this, the warped mask stands (the model lost the object; 0 disables the check). "regions": the last
    full-size mask warped along full-size DIS flow and decided per flat region with the object's prompted colours
    as evidence (``tracker_regions``: a region of a palette colour, within ``palette_tol`` CIELAB, joins when more
    than ``palette_share_in`` of it is covered, any other when more than ``palette_share_out`` is); the model's
    reprompt answer then only decides presence (``presence="model"``: object score > 0) or not at all
    (``"flow"``: present while the propagated mask is not empty); absent objects come back through the model as in
    "flow". min_pixels: smaller
    masks count as absent. recover_area_ratio / max_overlap: a reprompted absent object comes back only with an
    area within this factor of its last good one and at most this share of it under other objects; with motion
    "regions" also at least ``recover_colour`` of its region pixels in the object's palette colours.
    reentry (motion "regions"): "regions" (default) also looks for each absent object anywhere in the frame by its
    own colours (``tracker_reentry``: at least ``reentry_distinct`` of a component's region pixels in colours that
    neither the rest of its prompted frame nor any other object has; an area from ``reentry_min_area`` to
    ``recover_area_ratio`` times its expected one; with ``reentry_model``, the default, only where the model's
    reprompt score is positive), and grows a present object's mask while it is under ``reentry_grow`` times its
    prompted area by the components of its own colours that the mask touches, within ``reentry_band`` pixels of it
    (not beyond ``reentry_grow`` times that area; 0 disables); "none" only reprompts near the last position
    (thresholds chosen on validation clips; figures in docs/tracking.md). exit_distinct (motion "regions"): a
    propagated or recovered mask with less than this share of its region pixels in the object's own colours is
    absent, for an object with at least ``exit_own`` of its prompted region pixels in them (0 disables).
    line_fill (motion "regions"): each present object's answer also takes the line-art pixels within this many pixels
    of its region pixels that no other object has (``tracker_regions.fill_lines``: its outline, which the warped
    decision keeps only in part); the output only, the propagated state stays as it was (0 disables).
    reentry_region_cap: a flat region larger than this many times the object's expected area is no candidate of
    a re-entry, growth or refind (a floor of the object's colour joined the object to itself; 0 disables).
    refind_below: a present object whose mask has shrunk below this share of its prompted area is looked for as an
    absent one (``tracker_reentry``: by its own colours anywhere in the frame), and a larger component found joins
    its mask (0 disables). edge_motion (motion "regions"): where DIS points out of the frame, the warp uses the
    object's own last median flow instead (``tracker_regions.edge_flow``: DIS loses a leaving object's last slivers;
    False disables). exit_edge_band: a present object's mask with more than half of its pixels within this many
    pixels of the frame edge that has shrunk below ``exit_edge_shrink`` of its previous mask is leaving the frame:
    the exit check spares it (the colours of the last slivers blend into their neighbours) and its last good state
    stays that of its last full view; and an absent object's answer that is such a sliver may be any smaller than
    its last good area (it is coming back into view; 0 disables both). exit_edge_touch: a shrinking mask (as above)
    with at least this many pixels on the frame's outermost rows and columns is leaving the frame too, however far
    it reaches inside (an object cut by the frame edge whose own colours are already out of view; 0 disables).
    edge_entering (motion "regions"): pixels whose warped value comes from outside the previous frame are left out
    of the region vote's shares (``tracker_regions.palette_vote``'s ``unknown``): a region entering the frame is
    decided by its part that was in view (False: they count as not covered). occlusion (motion "regions"): pixels
    within ``occlusion_band`` pixels of another object's last mask that fail a forward-backward check of DIS flow
    (``tracker_regions.disoccluded``, tolerance in pixels) are left out of the vote's shares the same way: pixels
    revealed where one object hid another are not given to the one that hid them (0 disables; costs a second flow
    on frames with two or more objects). reentry_edge_shared (motion "regions", reentry "regions"): a present
    object's mask coming into view through a frame edge (moving inwards, not shrinking) also grows by the colours it
    shares with others: the pieces that reach that edge, less those within this many pixels of another object's mask
    (``tracker_reentry``; a character returning head first gets its body back; 0, the default, disables: 16 gained
    on re-entry validation clips and lost on others, docs/tracking.md "Session 23"). Defaults chosen on validation
    clips (seeds 500000..; figures in docs/tracking.md)."""

    mode: str = "auto"
    num_maskmem: int = 7
    detect_every: int = 8
    assoc_iou: float = 0.3
    det_threshold: float = 0.1
    max_objects: int = 64
    reprompt_inputs: tuple[str, ...] = ("mask", "point")
    mask_logit_scale: float = 6.0
    motion: str = "regions"
    palette_tol: float = 12.0
    palette_share_in: float = 0.3
    palette_share_out: float = 0.8
    presence: str = "model"
    flow_gate: float = 0.85
    flow_fuse: str = "gate"
    min_pixels: int = 8
    recover_area_ratio: float = 3.0
    max_overlap: float = 0.5
    recover_colour: float = 0.6
    reentry: str = "regions"
    reentry_distinct: float = 0.3
    reentry_min_area: float = 0.05
    reentry_model: bool = True
    exit_distinct: float = 0.05
    exit_own: float = 0.25
    reentry_grow: float = 3.0
    reentry_band: int = 12
    line_fill: int = 3
    reentry_region_cap: float = 1.0
    refind_below: float = 0.7
    edge_motion: bool = True
    exit_edge_band: int = 8
    exit_edge_shrink: float = 0.9
    exit_edge_touch: int = 16
    edge_entering: bool = True
    occlusion: float = 3.0
    occlusion_band: int = 24
    reentry_edge_shared: int = 0

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise InputError(f"unknown tracker mode {self.mode!r}; expected one of {', '.join(MODES)}")
        if self.num_maskmem < 1 or self.detect_every < 1:
            raise InputError("num_maskmem and detect_every must be >= 1")
        if self.motion not in MOTIONS:
            raise InputError(f"unknown motion {self.motion!r}; expected one of {', '.join(MOTIONS)}")
        if self.reentry not in REENTRIES:
            raise InputError(f"unknown reentry {self.reentry!r}; expected one of {', '.join(REENTRIES)}")
        if self.presence not in PRESENCES:
            raise InputError(f"unknown presence {self.presence!r}; expected one of {', '.join(PRESENCES)}")
        if min(self.line_fill, self.reentry_region_cap, self.refind_below) < 0:
            raise InputError("line_fill, reentry_region_cap and refind_below must be >= 0")
        if min(self.exit_edge_touch, self.occlusion, self.occlusion_band, self.reentry_edge_shared) < 0:
            raise InputError("exit_edge_touch, occlusion, occlusion_band and reentry_edge_shared must be >= 0")
        bad = sorted(set(self.reprompt_inputs) - {"mask", "point", "box"})
        if bad or not self.reprompt_inputs:
            raise InputError(f"reprompt_inputs must be some of mask, point, box; found {list(self.reprompt_inputs)}")
