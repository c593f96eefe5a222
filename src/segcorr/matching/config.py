"""Configuration of AS-Mamba: one frozen dataclass; the ablation options are fields on it."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from segcorr.errors import InputError
from segcorr.registry import check_positive

_CHOICES = {
    "scan_order": ("rowmajor", "hilbert"),
    "heads": ("multi", "single"),
    "flow_head": ("kan", "mlp"),
    "scan_backend": ("sequential", "parallel"),
}


@dataclass(frozen=True)
class ASMambaConfig:
    """AS-Mamba hyper-parameters.

    Widths: ``c_enc`` encoder output at 1/8, ``c_match`` matching features F_match, ``c_geom`` geometry features
    F_geom, ``c_fine`` fine features at 1/2. Encoder: ``enc_dims`` channels of its 1/2 and 1/4 stages,
    ``enc_depths`` ConvNeXt V2 blocks at 1/2, 1/4, 1/8, ``enc_mlp_ratio`` their expansion.
    Mamba: ``d_state`` state size and ``expand`` inner expansion of the JEGO mixers (initializer, global path),
    ``local_d_state`` and ``local_expand`` of the local path's multi-head mixer. Initializer: ``init_depth`` JEGO
    layers, ``glu_hidden`` width of its GLU aggregator, ``heads`` multi (separate matching and geometry heads) or
    single (ablation). Blocks: ``n_blocks`` AS-Mamba blocks,
    ``global_depth`` JEGO layers on the 1/32 pooled features, local path of ``c_local`` channels in
    ``local_heads`` heads over ``span_points`` x ``span_points`` samples in the adaptive span (``radius_scale``,
    ``max_span`` cells), ``merge_hidden`` width of the merge FFN, ``flow_head`` kan or mlp (equal parameter
    count) with ``flow_hidden`` hidden units and ``num_basis`` RBF bumps, ``geom_feedback``: F_geom and the
    encoded flow feed the F_match update (off: F_match sees only itself, global and local messages).
    Scans: ``scan_order`` rowmajor or hilbert inside each JEGO direction; ``scan_backend`` sequential
    (inference) or parallel (training, ONNX). Matching: ``temperature`` initial dual-softmax temperature
    (learned), ``match_threshold`` confidence threshold, ``max_dense_pairs`` largest N0*N1 matched with the dense
    matrix at inference (above it the chunked path, ``chunk_rows`` rows at a time), ``fine_window`` even window
    of fine pixels, ``max_train_fine`` GT pairs refined per batch in training (evenly subsampled).
    """

    c_enc: int = 128
    c_match: int = 128
    c_geom: int = 32
    c_fine: int = 64
    enc_dims: tuple[int, int] = (16, 48)
    enc_depths: tuple[int, int, int] = (1, 1, 1)
    enc_mlp_ratio: int = 2
    d_state: int = 16
    expand: int = 1
    local_d_state: int = 4
    local_expand: int = 1
    init_depth: int = 1
    glu_hidden: int = 64
    heads: str = "multi"
    n_blocks: int = 2
    global_depth: int = 1
    c_local: int = 32
    local_heads: int = 2
    span_points: int = 3
    radius_scale: float = 1.0
    max_span: float = 16.0
    merge_hidden: int = 96
    flow_head: str = "kan"
    flow_hidden: int = 12
    num_basis: int = 6
    geom_feedback: bool = True
    scan_order: str = "rowmajor"
    scan_backend: str = "sequential"
    temperature: float = 0.1
    match_threshold: float = 0.2
    max_dense_pairs: int = 4800 * 4800
    chunk_rows: int = 1024
    fine_window: int = 6
    max_train_fine: int = 1024

    def __post_init__(self) -> None:
        # YAML/JSON give lists; a frozen config keeps tuples so it stays hashable and comparable
        object.__setattr__(self, "enc_dims", tuple(int(d) for d in self.enc_dims))
        object.__setattr__(self, "enc_depths", tuple(int(d) for d in self.enc_depths))
        if len(self.enc_dims) != 2 or len(self.enc_depths) != 3:
            raise InputError(
                f"enc_dims needs 2 widths (1/2, 1/4) and enc_depths 3 depths (1/2, 1/4, 1/8), found "
                f"{list(self.enc_dims)} and {list(self.enc_depths)}"
            )
        for name, choices in _CHOICES.items():
            if getattr(self, name) not in choices:
                raise InputError(f"{name}: expected one of {', '.join(choices)}, found {getattr(self, name)!r}")
        check_positive(
            self,
            (
                "c_enc",
                "c_match",
                "c_geom",
                "c_fine",
                "d_state",
                "expand",
                "local_d_state",
                "local_expand",
                "init_depth",
                "glu_hidden",
                "global_depth",
                "c_local",
                "local_heads",
                "span_points",
                "merge_hidden",
                "flow_hidden",
                "num_basis",
                "chunk_rows",
                "max_train_fine",
            ),
        )
        if self.n_blocks < 0:
            raise InputError(f"n_blocks: expected 0 or more, found {self.n_blocks}")
        if self.c_local % self.local_heads:
            raise InputError(f"c_local {self.c_local} must be divisible by local_heads {self.local_heads}")
        if self.fine_window < 2 or self.fine_window % 2:
            raise InputError(f"fine_window: expected an even number >= 2, found {self.fine_window}")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def config_fields() -> list[str]:
    return [f.name for f in dataclasses.fields(ASMambaConfig)]


def make_config(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> ASMambaConfig:
    """``ASMambaConfig`` from registry fields ``base`` updated by ``overrides``; unknown keys are an InputError."""
    known = set(config_fields())
    unknown = sorted(set(base) - known) + sorted(set(overrides) - known)
    if unknown:
        raise InputError(f"unknown AS-Mamba option(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    return ASMambaConfig(**{**dict(base), **dict(overrides)})
