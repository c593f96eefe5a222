"""ONNX export of AS-Mamba's dense matching at a fixed input size (``ASMamba.forward_dense``).

The number of matches of ``forward`` depends on the data, so the exported graph is ``forward_dense``: every
coarse cell of image 0 with its best cell of image 1, refined; outputs ``conf_matrix [B, N0, N1]``,
``mconf [B, N0]`` (0 unless a mutual nearest neighbour), ``mkpts0 [B, N0, 2]``, ``mkpts1 [B, N0, 2]`` (input
pixels). Keep the matches with ``mconf > threshold``. The Mamba mixers switch to the parallel scan
backend (no Python loop over the sequence), which traces at a fixed size.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import torch
from torch import nn

from segcorr.errors import InputError


class DenseWrapper(nn.Module):
    """``forward(image0, image1) -> forward_dense(...)`` for ``torch.onnx.export``."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, image0: torch.Tensor, image1: torch.Tensor):
        return self.model.forward_dense(image0, image1)


def load_matching_model(weights: str | None = "as_mamba_tiny", model_name: str | None = None) -> nn.Module:
    """Shipped name / .safetensors path (``weights``), or a registry ``model_name`` (random init, seed 0)."""
    import segcorr.matching as matching

    if model_name is not None:
        torch.manual_seed(0)
        return matching.build(model_name).eval()
    if weights is None:
        raise InputError("expected weights or a model name to export")
    return matching.load_pretrained(weights)


def export_onnx(
    out: str | Path,
    weights: str | None = "as_mamba_tiny",
    model_name: str | None = None,
    height: int = 480,
    width: int = 640,
    opset: int = 17,
    model: nn.Module | None = None,
) -> Path:
    """Write ``out`` (.onnx, atomically) for grey inputs ``[1, 1, height, width]`` (sides multiples of 32)."""
    from segcorr.io.atomic import atomic_open
    from segcorr.matching.model import DENSE_OUTPUTS

    if height % 32 or width % 32:
        raise InputError(f"expected an input size in multiples of 32, found {height}x{width}")
    model = model if model is not None else load_matching_model(weights, model_name)
    model = model.eval()
    model.set_scan_backend("parallel")
    g = torch.Generator().manual_seed(0)
    dummy = (torch.rand(1, 1, height, width, generator=g), torch.rand(1, 1, height, width, generator=g))
    out = Path(out)
    with atomic_open(out, "wb") as f, torch.no_grad(), warnings.catch_warnings():
        # the graph is traced at one fixed input size, so the shapes the tracer sees as constants are constants
        # (the export's test checks the ONNX run against PyTorch): its warnings about that say nothing new
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        warnings.filterwarnings("ignore", category=UserWarning, module=r"torch\.onnx")  # its constant-folding notes
        torch.onnx.export(
            DenseWrapper(model),
            dummy,
            f,
            dynamo=False,
            opset_version=opset,
            input_names=["image0", "image1"],
            output_names=list(DENSE_OUTPUTS),
        )
    return out
