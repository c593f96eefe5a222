"""Task family ``sam3``: the concept model (``segcorr.segment.model``) on the synthetic world.

Config: ``model.name`` a registry name (``sam3_tiny``, ``sam3-test``) with ``model.args`` overrides of
``Sam3Config``; ``data.height/width/style/seed_start/length`` and ``data.args`` (fields of ``Sam3DataConfig``:
n_prompts, n_pos, n_neg, ...); ``loss.args`` (fields of ``Sam3LossWeights``); ``val.count`` images from
``val.seed_start``.
"""

from __future__ import annotations

import torch

from segcorr.train.config import TrainConfig
from segcorr.train.tasks import TaskFamily, batches_of, known_args, outputs_loss, validation_off, with_init_weights


def _data_config(cfg: TrainConfig, val: bool = False):
    from segcorr.data.sam3_synth import Sam3DataConfig
    from segcorr.segment.model import config_for

    src = cfg.val if val else cfg.data
    args = known_args(Sam3DataConfig, src.args, "val.args" if val else "data.args")
    args.setdefault("context_length", config_for(cfg.model.name, **cfg.model.args).context_length)
    return Sam3DataConfig(height=src.height, width=src.width, style=src.style, **args)


def build_model(cfg: TrainConfig) -> torch.nn.Module:
    from segcorr.segment.model import build

    return with_init_weights(build(cfg.model.name, **cfg.model.args), cfg)


def build_dataset(cfg: TrainConfig):
    from segcorr.data.sam3_synth import Sam3SynthDataset

    return Sam3SynthDataset(
        cfg.data.seed_start, cfg.data.length, _data_config(cfg), split="train", augment=cfg.data.augment
    )


def make_loss(cfg: TrainConfig):
    from segcorr.segment.model.loss import Sam3Loss, Sam3LossWeights

    return outputs_loss(Sam3Loss(Sam3LossWeights(**known_args(Sam3LossWeights, cfg.loss.args, "loss.args"))))


def val_batches(cfg: TrainConfig, device: torch.device) -> list:
    from segcorr.data.sam3_synth import Sam3SynthDataset, collate

    if validation_off(cfg):
        return []
    ds = Sam3SynthDataset(cfg.val.seed_start, cfg.val.count, _data_config(cfg, val=True), split="val", augment=False)
    return batches_of(ds, cfg.batch_size, collate, device)


@torch.no_grad()
def validate(model: torch.nn.Module, batches: list, cfg: TrainConfig) -> dict[str, float]:
    """Mean IoU of the prompted masks as inference picks them (multimask samples: the output with the highest
    predicted IoU; others: the stability-checked single output), presence accuracy and the concept loss."""
    from segcorr.segment.model.loss import Sam3Loss

    was = model.training
    model.eval()
    loss = Sam3Loss()
    ious, pres, find = [], [], []
    for b in batches:
        feats = model.encode_image(b["images"])
        multi = b["p_multimask"]
        for mm in (True, False):
            sel = multi == mm
            if not sel.any():
                continue
            out = model.predict_prompts(
                feats,
                b["p_bidx"][sel],
                b["p_coords"][sel],
                b["p_labels"][sel],
                b["p_mask_in"][sel],
                b["p_has_mask"][sel],
                multimask_output=mm,
            )
            masks, iou = out["masks"], out["iou_pred"]
            pick = masks[torch.arange(len(masks)), iou.argmax(1)] > 0
            tgt = b["p_target"][sel] > 0.5
            inter = (pick & tgt).flatten(1).sum(1).float()
            union = (pick | tgt).flatten(1).sum(1).float().clamp(min=1)
            ious.append(inter / union)
        if b["c_bidx"].numel():
            out = model.predict_concept(feats, b["c_bidx"], b["c_tokens"])
            pres.append(((out["presence_logit"] > 0) == b["c_positive"]).float())
            find.append(loss.concept_loss(out, b)[0].reshape(1))
    model.train(was)
    res = {"val/prompt_miou": float(torch.cat(ious).mean()) if ious else float("nan")}
    if pres:
        res["val/presence_acc"] = float(torch.cat(pres).mean())
        res["val/find_loss"] = float(torch.cat(find).mean())
    return res


def _collate(items):
    from segcorr.data.sam3_synth import collate

    return collate(items)


FAMILY = TaskFamily(
    build_model=build_model,
    build_dataset=build_dataset,
    make_loss=make_loss,
    val_batches=val_batches,
    validate=validate,
    collate=_collate,
)
