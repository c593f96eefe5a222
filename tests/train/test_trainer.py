import json
import shutil

import pytest
import torch

from segcorr.train import export_weights, train
from segcorr.train.checkpoint import latest_checkpoint, list_checkpoints
from segcorr.train.logs import read_scalars
from segcorr.train.sampler import StepBatchSampler, lr_at


def test_sampler_is_a_function_of_the_step():
    full = list(StepBatchSampler(5, 2, 6, seed=3))
    resumed = list(StepBatchSampler(5, 2, 6, seed=3, start_step=4))
    assert resumed == full[4:]
    # ranks split each global batch without overlap
    r0, r1 = StepBatchSampler(5, 2, 6, 3, 0, 2), StepBatchSampler(5, 2, 6, 3, 1, 2)
    for s in range(6):
        assert {d for _, d in r0.batch_at(s)}.isdisjoint({d for _, d in r1.batch_at(s)})
    # every epoch visits every item once
    one = StepBatchSampler(4, 4, 1, seed=0).batch_at(0)
    assert sorted(i for i, _ in one) == [0, 1, 2, 3]


def test_onecycle_warms_up_then_anneals():
    lrs = [lr_at(s, 100, 1.0, "onecycle", warmup=0.1, final_frac=0.01) for s in range(100)]
    assert lrs[0] < lrs[5] < lrs[10] and abs(max(lrs) - 1.0) < 1e-6
    assert lrs[99] < 0.02 and lrs[50] > lrs[80]
    assert lr_at(0, 100, 1.0, "cosine") == 1.0


def test_a_few_steps_reduce_the_loss_and_write_logs(tmp_path, tiny):
    # one fixed batch (dataset of 2 items, no augmentation): the loss must fall when overfitting it
    run = train(
        None,
        tiny
        + [
            "name=fit",
            "steps=24",
            "data.length=2",
            "data.augment=false",
            "data.style=cel",
            "optim.lr=2e-3",
            "optim.schedule=constant",
            "log_every=1",
            "val.every=12",
            "ckpt_every=12",
            "loss.gamma=0.8",
        ],
    )
    loss = [v for _, v in read_scalars(run, "train/loss")]
    assert len(loss) == 24
    assert sum(loss[-4:]) / 4 < 0.8 * sum(loss[:4]) / 4
    assert [s for s, _ in read_scalars(run, "val/epe")] == [12, 24]
    assert (run / "tb").is_dir() and any((run / "tb").iterdir())
    assert [p.name for p in list_checkpoints(run)] == ["step_00000012", "step_00000024"]
    summary = json.loads((run / "summary.json").read_text())
    assert summary["steps"] == 24 and summary["world_size"] == 1


def _weights(ckpt):
    from safetensors.torch import load_file

    return load_file(str(ckpt / "model.safetensors"))


def test_resume_replays_the_uninterrupted_run(tmp_path, tiny):
    args = tiny + ["steps=6", "ckpt_every=3", "keep_ckpts=5", "log_every=1", "val.every=0", "data.length=50"]
    full = train(None, args + ["name=full"])
    # a crash after step 3: copy the run, drop everything after the step-3 checkpoint
    cut = tmp_path / "cut"
    shutil.copytree(full, cut)
    shutil.rmtree(cut / "checkpoints" / "step_00000006")
    lines = (cut / "metrics.csv").read_text().splitlines()
    (cut / "metrics.csv").write_text(
        "\n".join(ln for ln in lines if ln.split(",")[0] in ("step", "1", "2", "3")) + "\n"
    )
    resumed = train(None, args + ["name=cut"])
    assert json.loads((resumed / "summary.json").read_text())["resumed_from"] == 3
    assert dict(read_scalars(resumed, "train/loss")) == dict(read_scalars(full, "train/loss"))
    a, b = _weights(latest_checkpoint(full)), _weights(latest_checkpoint(resumed))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    oa = torch.load(latest_checkpoint(full) / "optim.pt", weights_only=True)["optimizer"]
    ob = torch.load(latest_checkpoint(resumed) / "optim.pt", weights_only=True)["optimizer"]
    assert all(torch.equal(oa["state"][k]["exp_avg"], ob["state"][k]["exp_avg"]) for k in oa["state"])


@pytest.mark.parametrize("model", ["AniFlowFormerT-test", "AniFlowFormerTV3-test"])
def test_unsupervised_and_mixed_tasks_run(tmp_path, tiny, model):
    for task in ("flow_unsup", "flow_mixed"):
        run = train(
            None,
            tiny + [f"name={task}", f"task={task}", "steps=2", "val.every=0", "log_every=1", f"model.name={model}"],
        )
        assert len(read_scalars(run, "train/loss")) == 2
        assert any(k.startswith("unsup/") for k in json.loads((run / "summary.json").read_text())["metrics"])


def test_export_writes_weights_with_config_and_card(tmp_path, tiny):
    from segcorr.io.weights import read_model_card, read_weights_metadata

    run = train(None, tiny + ["name=exp", "steps=2", "val.every=0", "log_every=1"])
    out = export_weights(run, tmp_path / "w" / "tiny.safetensors", {"note": "test"})
    meta = read_weights_metadata(out)
    assert meta["name"] == "AniFlowFormerT-test" and isinstance(json.loads(meta["config"]), dict)
    card = read_model_card(out)
    assert card["steps"] == 2 and card["note"] == "test" and "segcorr train" in card["command"]
    assert {"data", "wall_time_s", "metrics", "git_commit", "config"} <= set(card)
    # the card names the commit the training started from (summary.json), not the HEAD at export time
    summary = json.loads((run / "summary.json").read_text())
    assert card["git_commit"] == summary["git_commit"]
    (run / "summary.json").write_text(json.dumps({**summary, "git_commit": "0" * 40}))
    assert read_model_card(export_weights(run, tmp_path / "w2" / "tiny.safetensors"))["git_commit"] == "0" * 40
    # the flow package rebuilds the model from the exported metadata alone
    from segcorr.flow import load_pretrained

    model = load_pretrained(out)
    ckpt = _weights(latest_checkpoint(run))
    assert all(torch.equal(v, ckpt[k]) for k, v in model.state_dict().items())


def test_time_budget_ends_the_run_early_with_a_final_checkpoint(tmp_path, tiny):
    # a budget of ~0 minutes: the first step already uses it up, so the run anneals and stops there
    run = train(None, tiny + ["name=budget", "steps=50", "max_minutes=1e-6", "val.every=0", "ckpt_every=100"])
    assert [p.name for p in list_checkpoints(run)] == ["step_00000001"]
    assert json.loads((run / "summary.json").read_text())["steps"] == 1


def test_bad_inputs_are_input_errors_and_partial_checkpoints_are_ignored(tmp_path, tiny):
    from segcorr.errors import InputError
    from segcorr.train.checkpoint import load_checkpoint
    from segcorr.train.config import load_config
    from segcorr.train.trainer import build_model

    with pytest.raises(InputError):
        export_weights(tmp_path / "empty", tmp_path / "x.safetensors")
    run = train(None, tiny + ["name=bad", "steps=2", "ckpt_every=1", "keep_ckpts=5", "val.every=0"])
    with pytest.raises(InputError, match="safetensors"):
        export_weights(run, tmp_path / "x.pt")
    # an interrupted write (no state.json) is not a checkpoint
    (run / "checkpoints" / "step_00000009").mkdir()
    assert latest_checkpoint(run).name == "step_00000002"
    # an optimizer file holding arbitrary pickled objects is refused, never unpickled
    import pickle

    ckpt = latest_checkpoint(run)
    (ckpt / "optim.pt").write_bytes(pickle.dumps({"optimizer": print}, protocol=2))
    model = build_model(load_config(None, tiny))
    opt = torch.optim.AdamW(model.parameters())
    with pytest.raises(InputError, match="optim"):
        load_checkpoint(ckpt, model, opt)
