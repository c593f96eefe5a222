"""Flow methods by name: one calling convention for classical and learned flow (evaluation, demo, CLI).

A method is `fn(img0, img1, sample=None) -> flow float32 [2, H, W]` where img0/img1 are uint8 [H, W, 3] RGB and
`sample` is a `FlowSample` or a mapping that may carry label maps `seg0`/`seg1` ([H, W] int). Learned methods are
a `FlowPredictor` (`segcorr.flow.predictor`) with the flat segmenter for frames without label maps.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from segcorr.errors import InputError
from segcorr.flow import SHIPPED
from segcorr.flow.classical import METHODS as CLASSICAL
from segcorr.flow.refine_config import RefineConfig

FlowFn = Callable[..., np.ndarray]

# CLI name -> shipped weights stem, from the one table of names
LEARNED = {m.cli: m.weights for m in SHIPPED}
MASK_SOURCES = ("given", "segmenter")


def available_methods() -> list[str]:
    return list(CLASSICAL) + list(LEARNED)


def _check_masks(masks: str) -> None:
    if masks not in MASK_SOURCES:
        raise InputError(f"unknown mask source {masks!r}; known: {', '.join(MASK_SOURCES)}")


def sample_labels(sample: Any) -> tuple[np.ndarray | None, np.ndarray | None]:
    """(seg0, seg1) of a `FlowSample`, a mapping or None; missing maps are None."""
    if sample is None:
        return None, None
    if isinstance(sample, dict):
        return sample.get("seg0"), sample.get("seg1")
    return getattr(sample, "seg0", None), getattr(sample, "seg1", None)


def predictor_method(predictor: Callable[..., np.ndarray], masks: str = "given") -> FlowFn:
    """A `FlowPredictor` as a method. masks: "given" passes the sample's label maps (the segmenter answers for
    the missing ones); "segmenter" ignores them (what a user without label maps gets)."""
    _check_masks(masks)

    def fn(img0: np.ndarray, img1: np.ndarray, sample: Any = None) -> np.ndarray:
        seg0, seg1 = sample_labels(sample) if masks == "given" else (None, None)
        return predictor(img0, img1, seg0, seg1)

    return fn


def get_method(
    name: str,
    masks: str = "given",
    work_side: int | str | None = "auto",
    refine: str = "fuse",
    polish_iters: int | None = None,
    deblock_radius: int | None = None,
    variational_iters: int | None = None,
    own_penalty: float | None = None,
) -> FlowFn:
    """Resolve a method name (see `available_methods`) or a path to a .safetensors checkpoint.

    masks: see `predictor_method`; work_side: the predictor's working side ("auto": the training frame size from
    the model card; None: full resolution); refine: `RefineConfig.mode`; polish_iters: `RefineConfig.polish_iters`
    (None: its default); deblock_radius: `FlowPredictor`'s (None: its default); variational_iters:
    `RefineConfig.variational_iters` (None: its default); own_penalty: `RefineConfig.own_penalty` (None: its default;
    inf: no classical-flow candidate). Classical methods ignore all seven.
    """
    given = {"polish_iters": polish_iters, "variational_iters": variational_iters, "own_penalty": own_penalty}
    cfg = RefineConfig(mode=refine, **{k: v for k, v in given.items() if v is not None})
    _check_masks(masks)
    if name in CLASSICAL:
        from segcorr.flow.evaluate import classical_method

        return classical_method(name)
    if name in LEARNED or name.endswith(".safetensors"):
        from segcorr.flow.predictor import FlowPredictor

        extra = {} if deblock_radius is None else {"deblock_radius": deblock_radius}
        predictor = FlowPredictor.from_weights(LEARNED.get(name, name), refine=cfg, work_side=work_side, **extra)
        return predictor_method(predictor, masks)
    raise InputError(f"unknown flow method {name!r}; known: {', '.join(available_methods())} or a .safetensors path")
