"""The `sam2` backend: official SAM 2.1 models through the `sam2` package (optional extra `segcorr[sam2]`).

The model is built from the package's own Hydra config (default: hiera tiny) and loaded from the
user's checkpoint by us: `torch.load(weights_only=True)` (no unpickling of arbitrary objects) of the
official format `{"model": state_dict}` (a `.safetensors` state dict is accepted too), strictly.
Prompts go through `SAM2ImagePredictor`; where it cannot be imported (it needs torchvision, which a
CPU-only torch may lack) an equivalent plain-torch predictor is used (`sam2_predictor.py`).

Device: CPU unless CUDA is present and the estimated memory (weights plus a working allowance that
scales with the input resolution) fits both the free GPU memory and `memory_budget_gb`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from segcorr.errors import InputError
from segcorr.segment.base import Masks, Prompts

log = logging.getLogger(__name__)

DEFAULT_CONFIG = "configs/sam2.1/sam2.1_hiera_t.yaml"
NOT_INSTALLED = "sam2 backend needs the optional extra: pip install 'segcorr[sam2]'"
# Working memory of one 1024x1024 forward pass beyond the weights (activations, features, masks), GB;
# a deliberately generous estimate, scaled by (image_size / 1024)^2.
WORK_GB_AT_1024 = 1.5


def _import_sam2():
    try:
        import sam2  # noqa: F401  (its import registers the packaged configs with Hydra)
        from hydra import compose
        from hydra.utils import instantiate
    except ImportError:
        raise InputError(NOT_INSTALLED) from None
    return compose, instantiate


def build_sam2_model(config: str = DEFAULT_CONFIG, image_size: int | None = None, overrides: Sequence[str] = ()):
    """An untrained SAM 2 model from the package's config (random weights, eval mode, on CPU).

    image_size: input side the model resizes to (1024 in the official configs; smaller is faster and
    is what the tests use). overrides: extra Hydra overrides ("++model.key=value").
    """
    compose, instantiate = _import_sam2()
    from omegaconf import OmegaConf

    ov = list(overrides) + [
        # the official builder's post-processing defaults: fall back to multi-mask output when unstable
        "++model.sam_mask_decoder_extra_args.dynamic_multimask_via_stability=true",
        "++model.sam_mask_decoder_extra_args.dynamic_multimask_stability_delta=0.05",
        "++model.sam_mask_decoder_extra_args.dynamic_multimask_stability_thresh=0.98",
    ]
    if image_size is not None:
        if image_size % 32 or image_size < 64:
            raise InputError(f"expected image_size a multiple of 32 and >= 64, found {image_size}")
        ov.append(f"++model.image_size={int(image_size)}")
    try:
        cfg = compose(config_name=config, overrides=ov)
    except Exception as e:  # hydra raises its own MissingConfigException / ConfigCompositionException
        raise InputError(
            f"cannot compose SAM 2 config {config!r} ({type(e).__name__}: {e}); expected a packaged "
            f"config such as {DEFAULT_CONFIG!r}"
        ) from None
    OmegaConf.resolve(cfg)
    return instantiate(cfg.model, _recursive_=True).eval()


def read_sam2_checkpoint(path: str | os.PathLike) -> dict:
    """The model state dict of an official SAM 2.1 checkpoint ({"model": state_dict}) or a safetensors file."""
    import torch

    path = Path(path)
    if not path.is_file():
        raise InputError("SAM 2.1 checkpoint not found", path)
    if path.suffix.lower() == ".safetensors":
        from safetensors.torch import load_file

        try:
            return load_file(str(path), device="cpu")
        except Exception as e:
            raise InputError(f"not a readable safetensors file ({type(e).__name__}: {e})", path) from None
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # truncated zip, foreign pickle, random bytes ...
        msg = str(e).strip().splitlines()[0] if str(e).strip() else ""
        raise InputError(
            f"not a readable PyTorch checkpoint with plain tensors ({type(e).__name__}: {msg[:200]})", path
        ) from None
    if not isinstance(ckpt, dict) or not isinstance(ckpt.get("model"), dict):
        found = sorted(ckpt)[:5] if isinstance(ckpt, dict) else type(ckpt).__name__
        raise InputError(f"expected the official SAM 2.1 format {{'model': state_dict}}, found {found}", path)
    return ckpt["model"]


def load_sam2_weights(model, state: dict, path: str | os.PathLike, config: str) -> None:
    """Strict load; InputError naming missing / unexpected / mis-shaped keys."""
    from segcorr.io.weights import key_diff

    problems = key_diff(model.state_dict(), state).describe()
    if problems:
        raise InputError(f"checkpoint does not fit config {config!r}: {problems}", path)
    model.load_state_dict(state, strict=True)


def choose_device(device: str | None, memory_budget_gb: float | None, n_params: int, image_size: int):
    """The torch device to run on: `device` if given, else CUDA when present and the estimate fits."""
    import torch

    if device is not None:
        return torch.device(device)
    if not torch.cuda.is_available():
        return torch.device("cpu")
    need = n_params * 4 / 2**30 + WORK_GB_AT_1024 * (image_size / 1024) ** 2
    free = torch.cuda.mem_get_info()[0] / 2**30
    allow = free if memory_budget_gb is None else min(free, memory_budget_gb)
    if need > allow:
        log.info("SAM 2 needs about %.1f GB, %.1f GB allowed on the GPU: running on CPU", need, allow)
        return torch.device("cpu")
    return torch.device("cuda")


def _make_predictor(model):
    try:
        from sam2.sam2_image_predictor import SAM2ImagePredictor
    except (ImportError, RuntimeError) as e:  # torchvision missing, or installed for another torch build
        from segcorr.segment.sam2_predictor import TorchSam2Predictor

        log.info("SAM2ImagePredictor unavailable (%s); using the plain-torch predictor", e)
        return TorchSam2Predictor(model)
    from segcorr.segment.sam2_predictor import feature_sizes

    pred = SAM2ImagePredictor(model)
    # The official predictor assumes 1024 px input; a smaller image_size has smaller feature maps.
    pred._bb_feat_sizes = feature_sizes(int(model.image_size))
    return pred


class Sam2Segmenter:
    """Box- (and point-) prompted SAM 2.1 from a user's checkpoint."""

    name = "sam2"

    def __init__(
        self,
        checkpoint: str | os.PathLike,
        config: str = DEFAULT_CONFIG,
        device: str | None = None,
        memory_budget_gb: float | None = None,
        image_size: int | None = None,
        points_per_side: int = 8,
        min_score: float = 0.5,
        min_area: int = 64,
    ) -> None:
        _import_sam2()
        state = read_sam2_checkpoint(checkpoint)
        model = build_sam2_model(config, image_size=image_size)
        load_sam2_weights(model, state, checkpoint, config)
        n_params = sum(p.numel() for p in model.parameters())
        self.device = choose_device(device, memory_budget_gb, n_params, int(model.image_size))
        self.model = model.to(self.device)
        self.predictor = _make_predictor(self.model)
        self.points_per_side = points_per_side
        self.min_score = min_score
        self.min_area = min_area

    def _set(self, image: np.ndarray) -> tuple[int, int]:
        img = np.asarray(image)
        if img.dtype != np.uint8 or not (img.ndim == 2 or (img.ndim == 3 and img.shape[2] in (3, 4))):
            raise InputError(f"expected an image uint8 [H, W] or [H, W, 3], found {img.dtype} {list(img.shape)}")
        rgb = np.repeat(img[:, :, None], 3, axis=2) if img.ndim == 2 else np.ascontiguousarray(img[:, :, :3])
        self.predictor.set_image(rgb)
        return rgb.shape[0], rgb.shape[1]

    def _one(self, **kw) -> tuple[np.ndarray, float]:
        masks, scores, _ = self.predictor.predict(**kw)
        masks = np.asarray(masks).reshape(-1, *np.asarray(masks).shape[-2:]) > 0.5
        scores = np.asarray(scores).reshape(-1)
        best = int(np.argmax(scores))
        return masks[best], float(np.clip(scores[best], 0.0, 1.0))

    def segment(self, image: np.ndarray, prompts: Prompts) -> Masks:
        """One mask per box (points inside a box refine it), per mask prompt (prompted by its bounding
        box), or one for the points when no box is given. Returns masks bool [N, H, W], scores [N]."""
        if prompts.text:
            raise InputError(f"the sam2 segmenter cannot answer text prompts ({prompts.text!r}); give boxes or points")
        h, w = self._set(image)
        pts = (
            None
            if prompts.points is None or not len(prompts.points)
            else np.asarray(prompts.points, np.float32).reshape(-1, 2)
        )
        plab = (
            None
            if pts is None
            else (
                np.ones(len(pts), np.int32)
                if prompts.point_labels is None
                else np.asarray(prompts.point_labels, np.int32).reshape(-1)
            )
        )
        boxes = [] if prompts.boxes is None else list(np.asarray(prompts.boxes, np.float32).reshape(-1, 4))
        if prompts.masks is not None:
            pm = np.asarray(prompts.masks).astype(bool)
            for m in pm[None] if pm.ndim == 2 else pm:
                ys, xs = np.nonzero(m)
                if ys.size:
                    boxes.append(np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], np.float32))
        out, scores = [], []
        for box in boxes:
            kw: dict = {"box": box, "multimask_output": False}
            if pts is not None:
                inb = (pts[:, 0] >= box[0]) & (pts[:, 0] <= box[2]) & (pts[:, 1] >= box[1]) & (pts[:, 1] <= box[3])
                if inb.any():
                    kw.update(point_coords=pts[inb], point_labels=plab[inb])
            m, s = self._one(**kw)
            out.append(m)
            scores.append(s)
        if pts is not None and not boxes:
            m, s = self._one(point_coords=pts, point_labels=plab, multimask_output=True)
            out.append(m)
            scores.append(s)
        if not out:
            return Masks(masks=np.zeros((0, h, w), bool), scores=np.zeros(0, np.float32))
        return Masks(masks=np.stack(out), scores=np.asarray(scores, np.float32))

    def segment_all(self, image: np.ndarray) -> np.ndarray:
        """A grid of `points_per_side`^2 single-point prompts; masks scoring >= min_score and covering
        >= min_area px are painted largest first, so smaller parts stay on top. Returns int32 [H, W]
        (0 where no mask landed)."""
        from segcorr.segment.regions import relabel_sequential

        h, w = self._set(image)
        n = self.points_per_side
        xs = (np.arange(n) + 0.5) * w / n
        ys = (np.arange(n) + 0.5) * h / n
        grid = np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 1, 2).astype(np.float32)
        found: list[np.ndarray] = []
        for i in range(0, len(grid), 16):  # chunks bound the [B, 3, H, W] mask memory
            chunk = grid[i : i + 16]
            masks, scores, _ = self.predictor.predict(
                point_coords=chunk, point_labels=np.ones((len(chunk), 1), np.int32), multimask_output=True
            )
            masks = np.asarray(masks).reshape(len(chunk), -1, h, w) > 0.5
            scores = np.asarray(scores).reshape(len(chunk), -1)
            best = scores.argmax(axis=1)
            for j in range(len(chunk)):
                m = masks[j, best[j]]
                if scores[j, best[j]] >= self.min_score and m.sum() >= self.min_area:
                    found.append(m)
        labels = np.zeros((h, w), np.int32)
        for k, m in enumerate(sorted(found, key=lambda m: -int(m.sum()))):
            labels[m] = k + 1
        return relabel_sequential(labels)
