"""A minimal image predictor over a SAM 2 model, for installs where `SAM2ImagePredictor` cannot load.

`sam2.sam2_image_predictor` imports torchvision only for its resize / normalise transforms. On a
CPU-only torch whose torchvision is missing or broken (PyPI's torchvision wheels are built for CUDA
torch), that import fails although the model itself works. This class calls the same model methods in
the same order as the official predictor (encode the image, prepare the backbone features, embed the
prompts, decode, upsample the logits) with the transforms written in plain torch; the tests check that
both predictors give the same masks.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

_MEAN = (0.485, 0.456, 0.406)
_STD = (0.229, 0.224, 0.225)


def feature_sizes(image_size: int) -> list[tuple[int, int]]:
    """Backbone feature sizes of SAM 2 (strides 4, 8, 16) for a square input of `image_size`."""
    return [(image_size // s, image_size // s) for s in (4, 8, 16)]


class TorchSam2Predictor:
    """set_image(image) once, then predict(...) per prompt. Holds one image's features (reset by set_image)."""

    def __init__(self, model: torch.nn.Module, mask_threshold: float = 0.0) -> None:
        self.model = model
        self.mask_threshold = mask_threshold
        self._features: dict | None = None
        self._orig_hw: tuple[int, int] | None = None

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def reset_predictor(self) -> None:
        self._features = None
        self._orig_hw = None

    @torch.no_grad()
    def set_image(self, image: np.ndarray) -> None:
        """image: uint8 [H, W, 3] RGB."""
        self.reset_predictor()
        res = int(self.model.image_size)
        x = torch.from_numpy(np.ascontiguousarray(image)).to(self.device).permute(2, 0, 1)[None].float() / 255.0
        x = F.interpolate(x, size=(res, res), mode="bilinear", align_corners=False, antialias=True)
        mean = torch.tensor(_MEAN, device=x.device).view(1, 3, 1, 1)
        std = torch.tensor(_STD, device=x.device).view(1, 3, 1, 1)
        x = (x - mean) / std
        backbone_out = self.model.forward_image(x)
        _, vision_feats, _, _ = self.model._prepare_backbone_features(backbone_out)
        if self.model.directly_add_no_mem_embed:
            vision_feats[-1] = vision_feats[-1] + self.model.no_mem_embed
        feats = [f.permute(1, 2, 0).reshape(1, -1, *hw) for f, hw in zip(vision_feats[::-1], feature_sizes(res)[::-1])][
            ::-1
        ]
        self._features = {"image_embed": feats[-1], "high_res_feats": feats[:-1]}
        self._orig_hw = tuple(image.shape[:2])

    @torch.no_grad()
    def predict(
        self,
        point_coords: np.ndarray | None = None,
        point_labels: np.ndarray | None = None,
        box: np.ndarray | None = None,
        multimask_output: bool = True,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Prompts in image pixels: point_coords [B, P, 2] or [P, 2] (x, y), point_labels [B, P] or [P],
        box [B, 4] or [4]. Returns masks bool [(B,) C, H, W], scores [(B,) C], low-res logits.
        """
        if self._features is None or self._orig_hw is None:
            raise RuntimeError("set_image must be called before predict")
        h, w = self._orig_hw
        res = float(self.model.image_size)
        scale = torch.tensor([res / w, res / h], device=self.device)
        coords = labels = None
        if point_coords is not None:
            coords = torch.as_tensor(point_coords, dtype=torch.float, device=self.device) * scale
            labels = torch.as_tensor(point_labels, dtype=torch.int, device=self.device)
            if coords.ndim == 2:
                coords, labels = coords[None], labels[None]
        if box is not None:
            b = torch.as_tensor(box, dtype=torch.float, device=self.device).reshape(-1, 2, 2) * scale
            blab = torch.tensor([[2, 3]], dtype=torch.int, device=self.device).repeat(b.shape[0], 1)
            # The model takes a box as its two corners, given first among the points.
            coords = b if coords is None else torch.cat([b, coords], dim=1)
            labels = blab if labels is None else torch.cat([blab, labels], dim=1)
        points = None if coords is None else (coords, labels)
        sparse, dense = self.model.sam_prompt_encoder(points=points, boxes=None, masks=None)
        batched = points is not None and points[0].shape[0] > 1
        low_res, iou, _, _ = self.model.sam_mask_decoder(
            image_embeddings=self._features["image_embed"],
            image_pe=self.model.sam_prompt_encoder.get_dense_pe(),
            sparse_prompt_embeddings=sparse,
            dense_prompt_embeddings=dense,
            multimask_output=multimask_output,
            repeat_image=batched,
            high_res_features=self._features["high_res_feats"],
        )
        logits = F.interpolate(low_res.float(), (h, w), mode="bilinear", align_corners=False)
        masks = logits > self.mask_threshold
        out = (masks.cpu().numpy(), iou.float().cpu().numpy(), torch.clamp(low_res, -32.0, 32.0).float().cpu().numpy())
        return tuple(a[0] if a.shape[0] == 1 else a for a in out)  # type: ignore[return-value]
