"""Task family ``sam3_track``: clip samples, the unrolled memory forward, frozen image model, validation, export
to a file the tracker loads, and two steps through the one trainer with its export."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from segcorr.train.config import DataConfig, ModelConfig, TrainConfig, ValConfig
from segcorr.train.task_sam3_track import FAMILY, TrackClipDataset, export_track_memory

TINY = dict(
    task="sam3_track",
    model=ModelConfig(name="track-test", args={"image": "sam3-test"}),
    data=DataConfig(height=64, width=96, seed_start=1_000_000, length=4, num_workers=0, args={"frames": 3}),
    val=ValConfig(count=2, height=64, width=96, every=2, args={"frames": 3}),
    batch_size=2,
)


pytestmark = pytest.mark.usefixtures("one_thread")


def test_clip_sample_shapes_and_first_frame_visible():
    ds = TrackClipDataset(1_000_000, 2, 64, 96, frames=3, min_pixels=16)
    s = ds[(0, 1)]
    assert s["frames"].shape == (3, 3, 64, 96) and s["target"].shape == (3, 16, 24)
    assert s["visible"][0] and s["target"][0].sum() > 0 and s["point0"].shape == (1, 2)
    x, y = s["point0"][0].long().tolist()
    assert s["target"][0, y // 4, x // 4] > 0  # the click is on the object


def test_exits_track_the_instance_that_leaves_the_frame():
    from segcorr.errors import InputError

    leaving = TrackClipDataset(1_000_000, 3, 64, 96, frames=12, min_pixels=16, exits=1.0)
    hidden = [(~leaving[i]["visible"]).sum().item() for i in range(3)]
    assert all(leaving[i]["visible"][0] for i in range(3)) and min(hidden) >= 1  # out of the frame for a while
    staying = TrackClipDataset(1_000_000, 3, 64, 96, frames=12, min_pixels=16, exits=0.0)
    assert sum(bool(staying[i]["visible"].all()) for i in range(3)) >= 2  # without exits most stay in view
    with pytest.raises(InputError, match="exits"):
        TrackClipDataset(1_000_000, 2, 64, 96, exits=1.5)


def test_memory_weights_start_the_memory_from_a_file(tmp_path):
    cfg = TrainConfig(**TINY)
    first = FAMILY.build_model(cfg)
    path = tmp_path / "mem.safetensors"
    export_track_memory(first, path, first.memory.config)
    torch.manual_seed(123)
    args = {**TINY["model"].args, "memory_weights": str(path)}
    again = FAMILY.build_model(TrainConfig(**{**TINY, "model": ModelConfig(name="track-test", args=args)}))
    a, b = first.memory.state_dict(), again.memory.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_memory_learns_and_the_image_model_stays_frozen():
    torch.manual_seed(0)
    cfg = TrainConfig(**TINY)
    model = FAMILY.build_model(cfg)
    ds = FAMILY.build_dataset(cfg)
    batch = torch.utils.data.default_collate([ds[0], ds[1]])
    loss, parts = FAMILY.make_loss(cfg)(model, batch)
    loss.backward()
    assert torch.isfinite(loss) and set(parts) == {"loss_mask", "loss_obj"}
    assert all(p.grad is None for p in model.image.parameters())
    assert model.memory.encoder.out_proj.weight.grad.abs().sum() > 0
    assert model.memory.attention.layers[0].cross_attn.k_proj.weight.grad.abs().sum() > 0
    res = FAMILY.validate(model, FAMILY.val_batches(cfg, torch.device("cpu")), cfg)
    assert 0 <= res["val/track_miou"] <= 1 and 0 <= res["val/obj_acc"] <= 1 and np.isfinite(res["val/loss"])


def test_export_gives_memory_weights_the_tracker_runs_with(tmp_path):
    from segcorr.segment.predictor import Sam3Predictor
    from segcorr.segment.tracker import ObjectPrompt, Sam3Tracker, load_memory

    cfg = TrainConfig(**TINY)
    model = FAMILY.build_model(cfg)
    path = tmp_path / "mem.safetensors"
    export_track_memory(model, path, model.memory.config)
    mem = load_memory(str(path))
    assert all(torch.equal(a, b) for a, b in zip(mem.state_dict().values(), model.memory.state_dict().values()))
    tr = Sam3Tracker(Sam3Predictor(model.image, refine="none"), memory=mem)
    assert tr.mode == "memory"
    m = np.zeros((48, 64), bool)
    m[10:20, 10:20] = True
    tr.step(np.full((48, 64, 3), 200, np.uint8), [ObjectPrompt(mask=m)])
    assert tr.step(np.full((48, 64, 3), 200, np.uint8)).ids == [1]


def test_two_steps_through_the_trainer_and_the_export_the_tracker_loads(tmp_path):
    from segcorr.segment.tracker import load_memory
    from segcorr.train import train
    from segcorr.train.checkpoint import latest_checkpoint, load_state_dict_file
    from segcorr.train.export import export_weights
    from segcorr.train.logs import read_scalars

    run = train(
        None,
        [
            "task=sam3_track",
            "model.name=track-test",
            "model.args={image: sam3-test}",
            "batch_size=2",
            "data.height=64",
            "data.width=96",
            "data.num_workers=0",
            "data.args={frames: 3}",
            "val.count=2",
            "val.height=64",
            "val.width=96",
            "val.args={frames: 3}",
            "progress=false",
            "threads=1",
            f"out={tmp_path}",
            "name=t",
            "steps=2",
            "log_every=1",
            "val.every=2",
            "ckpt_every=2",
        ],
    )
    loss = [v for _, v in read_scalars(run, "train/loss")]
    assert len(loss) == 2 and all(np.isfinite(loss))
    ((step, value),) = read_scalars(run, "val/track_miou")
    assert step == 2 and 0 <= value <= 1
    # the trainer's export writes the memory part alone, with its config, as the tracker reads it
    path = export_weights(run, tmp_path / "mem.safetensors", dtype="float32")
    mem = load_memory(str(path))
    assert mem.config.d_model == 32 and mem.config.attn_ffn == 64
    card = json.loads(path.with_suffix(".json").read_text())
    assert card["task"] == "sam3_track" and card["data"].startswith("synthetic mixed clips of 3 frames")
    trained = load_state_dict_file(latest_checkpoint(run) / "model.safetensors")
    assert mem.state_dict().keys() == {k[len("memory.") :] for k in trained if k.startswith("memory.")}
    assert all(torch.equal(v, trained[f"memory.{k}"]) for k, v in mem.state_dict().items())


@pytest.mark.parametrize("mask_prompt", [False, True])
def test_unrolled_frames_get_the_previous_answer_as_mask_prompt_only_with_mask_prompt(monkeypatch, mask_prompt):
    cfg = TrainConfig(
        **{**TINY, "model": ModelConfig(name="track-test", args={"image": "sam3-test", "mask_prompt": mask_prompt})}
    )
    model = FAMILY.build_model(cfg)
    batch = torch.utils.data.default_collate([FAMILY.build_dataset(cfg)[0]])
    calls, predict = [], model.image.predict_prompts
    monkeypatch.setattr(
        model.image,
        "predict_prompts",
        lambda feats, idx, c, lab, m=None, has=None: calls.append((m, has)) or predict(feats, idx, c, lab, m, has),
    )
    with torch.no_grad():
        out = model(batch)
    (m1, has1), (m2, has2) = calls[1], calls[2]  # frames 1 and 2 (call 0 answers frame 0's true mask)
    assert bool(has1.all()) == bool(has2.all()) == mask_prompt
    assert torch.equal(m1, (batch["target"][:, :1] * 2 - 1) * 6.0)  # frame 1: the true first mask
    assert torch.equal(m2, ((out["masks"][:, :1] > 0).float() * 2 - 1) * 6.0)  # frame 2: frame 1's answer


def test_card_data_summary_says_when_clips_have_exits():
    from segcorr.train.export import _data_summary

    data = dict(kind="synth", style="mixed", seed_start=2_000_000, length=10, height=192, width=256)
    with_exits = _data_summary({**data, "args": {"frames": 12, "exits": 0.5}}, "sam3_track")
    assert "clips of 12 frames" in with_exits and "share 0.5" in with_exits and "leaves the frame" in with_exits
    assert "leaves" not in _data_summary({**data, "args": {"frames": 8}}, "sam3_track")
