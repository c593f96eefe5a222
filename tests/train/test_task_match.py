"""Task family ``match``: the trainer runs AS-Mamba (tiny registry variant) on synthetic pairs."""

from __future__ import annotations

import json

import pytest
import torch

from segcorr.errors import InputError
from segcorr.train import train
from segcorr.train.config import load_config
from segcorr.train.logs import read_scalars
from segcorr.train.task_match import FAMILY, match_scores

MATCH_TINY = [
    "task=match",
    "model.name=as_mamba-test",
    "model.args={}",
    "batch_size=2",
    "data.height=64",
    "data.width=96",
    "data.num_workers=0",
    "val.count=2",
    "val.height=64",
    "val.width=96",
    "progress=false",
    "threads=1",
]


def test_two_steps_train_validate_and_checkpoint(tmp_path):
    run = train(
        None, MATCH_TINY + [f"out={tmp_path}", "name=m", "steps=2", "log_every=1", "val.every=2", "ckpt_every=2"]
    )
    loss = [v for _, v in read_scalars(run, "train/loss")]
    assert len(loss) == 2 and all(torch.isfinite(torch.tensor(loss)))
    for key in ("val/precision", "val/coarse_recall", "val/matches", "val/loss", "val/loss_coarse"):
        ((step, value),) = read_scalars(run, key)
        assert step == 2 and value >= 0 and (key in ("val/matches", "val/loss", "val/loss_coarse") or value <= 1)
    assert json.loads((run / "summary.json").read_text())["steps"] == 2
    # shippable weights carry the full model config: load_pretrained rebuilds the tiny model from the file
    from segcorr.io.weights import read_model_card
    from segcorr.matching import build, load_pretrained
    from segcorr.train.task_match import export_match_weights

    path = export_match_weights(str(run), str(tmp_path / "m.safetensors"))
    model = load_pretrained(str(path))
    assert model.config == build("as_mamba-test").config
    card = read_model_card(path)
    assert card["config"]["c_enc"] == model.config.c_enc and card["steps"] == 2 and card["task"] == "match"


def test_packaged_config_is_a_match_config():
    cfg = load_config("train_as_mamba_synth")
    assert cfg.task == "match" and cfg.model.name == "as_mamba_tiny"
    assert cfg.data.height % 32 == 0 and cfg.data.width % 32 == 0 and cfg.data.seed_start >= 1_000_000


@pytest.mark.parametrize(
    "override, needle",
    [
        ("data.args={bogus: 1}", "bogus"),
        ("data.height=70", "multiples of 32"),
        ("data.seed_start=10", "1_000_000"),
    ],
)
def test_bad_config_is_input_error(tmp_path, override, needle):
    cfg = load_config(None, MATCH_TINY + [override])
    with pytest.raises(InputError, match=needle):
        FAMILY.build_dataset(cfg)


def test_match_scores_count_correct_matches():
    corr = torch.zeros(1, 2, 16, 16)
    ys, xs = torch.meshgrid(torch.arange(16.0), torch.arange(16.0), indexing="ij")
    corr[0, 0], corr[0, 1] = xs + 2, ys  # shift by 2 px
    valid = torch.ones(1, 16, 16, dtype=torch.bool)
    valid[0, :, 12:] = False
    p0 = torch.tensor([[1.0, 1.0], [5.0, 5.0], [13.0, 2.0]])
    p1 = torch.tensor([[3.0, 1.0], [12.0, 5.0], [15.0, 2.0]])  # right, 5 px off, partner not valid
    out = {"m_bids": torch.zeros(3, dtype=torch.long), "mkpts0_f": p0, "mkpts1_f": p1, "mkpts0_c": p0, "mkpts1_c": p1}
    s = match_scores(out, {"corr01": corr, "valid01": valid})
    assert s["correct"] == 1 and s["matches"] == 3 and s["coarse_correct"] == 2
    assert s["valid_cells"] == 2 * 1  # 8-px grid points at x in (4, 12), y in (4, 12): x=12 invalid
