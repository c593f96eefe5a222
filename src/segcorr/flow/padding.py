"""The one place that makes input sizes fit the 1/8 feature grid (and undoes it)."""

from __future__ import annotations

import torch
import torch.nn.functional as F


class Padder:
    """Pads [B, C, H, W] images and [B, H, W] label maps at the bottom/right to a multiple of ``multiple``.

    Padding only at the bottom/right keeps pixel coordinates, hence flow values, unchanged; ``unpad``
    crops back. Images are padded by replicating the border (no artificial edge to match), label maps
    with 0 (= no segment).
    """

    def __init__(self, height: int, width: int, multiple: int = 8) -> None:
        self.height, self.width = height, width
        self.pad_h = (-height) % multiple
        self.pad_w = (-width) % multiple

    def pad_image(self, x: torch.Tensor) -> torch.Tensor:
        """x: [B, C, H, W] -> [B, C, H + pad_h, W + pad_w]."""
        if not (self.pad_h or self.pad_w):
            return x
        return F.pad(x, (0, self.pad_w, 0, self.pad_h), mode="replicate")

    def pad_labels(self, seg: torch.Tensor | None) -> torch.Tensor | None:
        """seg: [B, H, W] long -> [B, H + pad_h, W + pad_w], padded with 0."""
        if seg is None or not (self.pad_h or self.pad_w):
            return seg
        return F.pad(seg, (0, self.pad_w, 0, self.pad_h), value=0)

    def unpad(self, x: torch.Tensor) -> torch.Tensor:
        """x: [..., H + pad_h, W + pad_w] -> [..., H, W]."""
        return x[..., : self.height, : self.width]
