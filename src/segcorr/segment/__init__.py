"""Segmenters behind one protocol (`segment.base.Segmenter`) and a registry.

`build("builtin")` (our SAM 3-style concept model, shipped weights), `build("flat")`,
`build("labelmap", source=DIR_OR_PNG_OR_CACHE)`, `build("sam2", checkpoint=PATH)`.
Backends are imported when built, so the optional `sam2` package is only needed by the `sam2` backend.
"""

from __future__ import annotations

import numpy as np

from segcorr.errors import InputError
from segcorr.segment.base import Masks, Prompts, Segmenter


def _flat(**kw):
    from segcorr.segment.flat import FlatSegmenter

    return FlatSegmenter(**kw)


def _check_options(cls, kw: dict) -> None:
    import inspect

    params = inspect.signature(cls).parameters
    unknown = sorted(set(kw) - set(params))
    if unknown:
        raise InputError(f"unknown option(s) {unknown} for segmenter {cls.name!r}; expected some of {sorted(params)}")


def _labelmap(**kw):
    from segcorr.segment.labelmap import LabelMapSegmenter

    _check_options(LabelMapSegmenter, kw)
    if "source" not in kw:
        raise InputError("the labelmap segmenter needs source=<label-map PNG, folder of PNGs or RLE cache .json>")
    return LabelMapSegmenter(**kw)


def _sam2(**kw):
    from segcorr.segment.sam2_backend import Sam2Segmenter

    _check_options(Sam2Segmenter, kw)
    if "checkpoint" not in kw:
        raise InputError("the sam2 segmenter needs checkpoint=<path to a SAM 2.1 .pt file>")
    return Sam2Segmenter(**kw)


def _builtin(**kw):
    from segcorr.segment.builtin import BuiltinSegmenter

    _check_options(BuiltinSegmenter, kw)
    return BuiltinSegmenter(**kw)


_REGISTRY = {"builtin": _builtin, "flat": _flat, "labelmap": _labelmap, "sam2": _sam2}
NAMES = tuple(_REGISTRY)


def build(name: str, **kwargs) -> Segmenter:
    """A segmenter by name: `builtin`, `flat`, `labelmap` (source=...), `sam2` (checkpoint=...). kwargs go to its
    constructor."""
    if name not in _REGISTRY:
        raise InputError(f"unknown segmenter {name!r}; expected one of {', '.join(NAMES)}")
    return _REGISTRY[name](**kwargs)


def segment_image(image: np.ndarray, prompts: Prompts, segmenter: Segmenter | str = "flat", **kwargs) -> Masks:
    """Masks for the prompted objects of one image (the `segcorr segment` command).

    image: uint8 [H, W, 3] or [H, W]; segmenter: an instance or a registry name (kwargs build it).
    """
    seg = build(segmenter, **kwargs) if isinstance(segmenter, str) else segmenter
    return seg.segment(image, prompts)


__all__ = ["NAMES", "Masks", "Prompts", "Segmenter", "build", "segment_image"]
