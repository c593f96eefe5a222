"""Flow losses: supervised sequence loss and the unsupervised (segment-aware V3) loss, as pure functions."""

from segcorr.flow.losses.photometric import census_distance, census_transform, fb_occlusion, warp
from segcorr.flow.losses.segment import (
    cross_segment_discontinuity_loss,
    segment_affine_loss,
    segment_consistency_loss,
    weighted_affine_fields,
)
from segcorr.flow.losses.smoothness import boundary_sharpness, edge_aware_smoothness
from segcorr.flow.losses.supervised import sequence_loss
from segcorr.flow.losses.unsupervised import UnsupervisedFlowLoss, UnsupLossConfig

__all__ = [
    "UnsupLossConfig",
    "UnsupervisedFlowLoss",
    "boundary_sharpness",
    "census_distance",
    "census_transform",
    "cross_segment_discontinuity_loss",
    "edge_aware_smoothness",
    "fb_occlusion",
    "segment_affine_loss",
    "segment_consistency_loss",
    "sequence_loss",
    "warp",
    "weighted_affine_fields",
]
