"""The tracker's side of the image model: user prompts checked into decoder inputs (``check_prompt``), masks moved
into the predictor's working frame, and one batched decoder call for many objects (``PromptCoder``)."""

from __future__ import annotations

import numpy as np
import torch

from segcorr.errors import InputError
from segcorr.segment.predictor import Sam3Predictor
from segcorr.segment.tracker_state import ObjectPrompt


def check_prompt(pr: ObjectPrompt, obj_id: int, hw: tuple[int, int], t: int) -> tuple[np.ndarray, np.ndarray]:
    """One object's prompt on frame ``t`` (size ``hw``) -> (coords [N, 2] original pixels, labels [N]: 1 on,
    0 not on, 2/3 box corners). InputError names the object and the frame."""
    h, w = hw
    coords, labels = [np.zeros((0, 2), np.float32)], [np.zeros(0, np.int64)]
    if pr.points is not None:
        pts = np.asarray(pr.points, np.float32).reshape(-1, 2)
        lab = np.ones(len(pts), np.int64) if pr.labels is None else np.asarray(pr.labels, np.int64).reshape(-1)
        if len(lab) != len(pts) or not np.isin(lab, (0, 1)).all():
            raise InputError(f"object {obj_id}: expected one label 0 or 1 per point")
        coords.append(pts)
        labels.append(lab)
    if pr.box is not None:
        b = np.asarray(pr.box, np.float32).reshape(-1)
        if b.shape != (4,) or b[2] <= b[0] or b[3] <= b[1]:
            raise InputError(f"object {obj_id}: expected a box x0, y0, x1, y1 with x1 > x0, y1 > y0")
        coords.append(b.reshape(2, 2))
        labels.append(np.array([2, 3], np.int64))
    c = np.concatenate(coords)
    if len(c) and (not np.isfinite(c).all() or (c < 0).any() or (c[:, 0] > w).any() or (c[:, 1] > h).any()):
        raise InputError(f"object {obj_id}: prompt {c.tolist()} lies outside the {w}x{h} frame {t}")
    if pr.mask is not None and np.shape(pr.mask) != (h, w):
        raise InputError(f"object {obj_id}: mask prompt is {np.shape(pr.mask)}, frame {t} is {(h, w)}")
    if not len(c) and pr.mask is None:
        raise InputError(f"object {obj_id}: expected points, a box or a mask on frame {t}")
    return c, np.concatenate(labels)


class PromptCoder:
    """Masks to and from the frame of ``predictor``'s current image, and batched decoder calls. Holds no state of
    its own: everything is read from the predictor's current image. mask_logit_scale: a mask prompt's cell
    shares (0..1) become logits (share * 2 - 1) * scale, as in training."""

    def __init__(self, predictor: Sam3Predictor, mask_logit_scale: float) -> None:
        self.predictor = predictor
        self.mask_logit_scale = mask_logit_scale

    def device(self) -> torch.device:
        return next(self.predictor.model.parameters()).device

    def small(self, m: np.ndarray) -> np.ndarray:
        """bool [H, W] -> float32 [sh, sw]: the mask at the model's working size (area shares)."""
        import cv2

        sh, sw = self.predictor.scaled_hw
        return cv2.resize(m.astype(np.float32), (sw, sh), interpolation=cv2.INTER_AREA)

    def prompt_from_small(self, small: np.ndarray) -> np.ndarray:
        """float [sh, sw] in 0..1 -> [h4, w4] mask-prompt logits (cell share * 2 - 1, scaled), as in training."""
        sh, sw = small.shape
        h4, w4 = self.predictor.features["inter"][0].shape[-2:]
        grid = np.zeros((h4 * 4, w4 * 4), np.float32)
        grid[:sh, :sw] = small
        soft = grid.reshape(h4, 4, w4, 4).mean(axis=(1, 3))
        return (soft * 2 - 1) * self.mask_logit_scale

    def mask_prompt(self, m: np.ndarray) -> np.ndarray:
        """bool [H, W] -> [h4, w4] mask-prompt logits in the predictor's frame."""
        return self.prompt_from_small(self.small(m))

    def decode(
        self,
        feats: dict,
        bidx: torch.Tensor,
        coords: list[np.ndarray],
        labels: list[np.ndarray],
        mask_in: list[np.ndarray | None],
    ) -> dict[str, torch.Tensor]:
        """One decoder call for P objects; coords are original pixels, padded to one length with label -1.
        feats: the image features (or per-object conditioned ones); bidx [P]: each object's row of them."""
        dev = self.device()
        n = max(1, max(len(c) for c in coords))
        cc = np.zeros((len(coords), n, 2), np.float32)
        ll = np.full((len(coords), n), -1, np.int64)
        for k, (c, lab) in enumerate(zip(coords, labels)):
            cc[k, : len(c)], ll[k, : len(c)] = c, lab
        h4, w4 = self.predictor.features["inter"][0].shape[-2:]
        mi = np.zeros((len(coords), 1, h4, w4), np.float32)
        has = np.array([m is not None for m in mask_in])
        for k, m in enumerate(mask_in):
            if m is not None:
                mi[k, 0] = m
        ct = torch.from_numpy(cc * self.predictor.scale).to(dev)
        return self.predictor.model.predict_prompts(
            feats, bidx, ct, torch.from_numpy(ll).to(dev), torch.from_numpy(mi).to(dev), torch.from_numpy(has).to(dev)
        )

    def decode_image(
        self, coords: list[np.ndarray], labels: list[np.ndarray], mask_in: list[np.ndarray | None]
    ) -> dict[str, torch.Tensor]:
        """``decode`` on the current image's features, every object on its one row."""
        bidx = torch.zeros(len(coords), dtype=torch.long, device=self.device())
        return self.decode(self.predictor.features, bidx, coords, labels, mask_in)

    def answers(self, out: dict[str, torch.Tensor]) -> tuple[np.ndarray, np.ndarray]:
        """Decoder output -> (probabilities float32 [P, H, W] at the original size, object scores [P])."""
        probs = self.predictor.to_image(out["masks"][:, 0])
        return probs, out["object_score_logits"][:, 0].cpu().numpy()
