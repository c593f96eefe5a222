"""Synthetic training and evaluation pairs for matching, with exact dense correspondence (no downloads).

- ``homography``: a source picture through two random homographies (perspective, rotation, scale);
- ``scene3d``: textured planes and boxes seen by two calibrated cameras (exact depth, pose, occlusion);
- ``photos``: scikit-image's shipped photos (training vs held-out evaluation lists) + procedural textures;
- ``dataset``: the training mix as tensors; ``write``: an evaluation set in the homography layout.
"""

from segcorr.data.matchsynth.dataset import MatchSynthDataset, make_pair, to_sample
from segcorr.data.matchsynth.homography import homography_pair
from segcorr.data.matchsynth.scene3d import render_scene_pair
from segcorr.data.matchsynth.write import write_homography_pairs, write_scene_pairs

__all__ = [
    "MatchSynthDataset",
    "homography_pair",
    "make_pair",
    "render_scene_pair",
    "to_sample",
    "write_homography_pairs",
    "write_scene_pairs",
]
