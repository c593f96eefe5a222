"""Geometry shared by matching methods and their evaluation: homographies, relative pose, warping."""

from segcorr.geometry.essential import (
    essential_from_pose,
    estimate_pose,
    normalize_points,
    pose_error,
    rotation_angle,
    symmetric_epipolar_distance,
)
from segcorr.geometry.homography import corner_error, estimate_homography, transfer_error, warp_grid, warp_points
from segcorr.geometry.resize import resize_longer_side, scale_intrinsics

__all__ = [
    "corner_error",
    "essential_from_pose",
    "estimate_homography",
    "estimate_pose",
    "normalize_points",
    "pose_error",
    "resize_longer_side",
    "rotation_angle",
    "scale_intrinsics",
    "symmetric_epipolar_distance",
    "transfer_error",
    "warp_grid",
    "warp_points",
]
