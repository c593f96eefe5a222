"""Synthetic worlds with exact ground truth: cel pairs and clips (this file), manga pages (``manga``)."""

from segcorr.data.synth.cels import CelPair, make_cel_pair, write_cels
from segcorr.data.synth.clips import Clip, make_clip, write_clips
from segcorr.data.synth.manga import make_manga_page, write_manga

__all__ = [
    "CelPair",
    "Clip",
    "make_cel_pair",
    "make_clip",
    "make_manga_page",
    "write_cels",
    "write_clips",
    "write_manga",
]
