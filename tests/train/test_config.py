import dataclasses
from pathlib import Path

import pytest

from segcorr.errors import InputError
from segcorr.train.config import TrainConfig, load_config

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


@pytest.mark.parametrize(
    "name", ["train_synth_sam_v3", "train_synth_noguide", "train_unsup_animerun_sam_v3", "finetune_unsup_frames"]
)
def test_shipped_configs_parse(name):
    cfg = load_config(CONFIGS / f"{name}.yaml")
    assert isinstance(cfg, TrainConfig)
    assert cfg.model.name.startswith("AniFlowFormerT")


def test_v3_and_ablation_differ_only_in_model_and_name():
    a = load_config(CONFIGS / "train_synth_sam_v3.yaml")
    b = load_config(CONFIGS / "train_synth_noguide.yaml")
    assert a.model.name == "AniFlowFormerTV3" and a.model.args == {"sam_version": 3, "use_sam": True}
    assert b.model.name == "AniFlowFormerT"
    assert (a.data, a.optim, a.loss, a.steps, a.batch_size, a.seed) == (
        b.data,
        b.optim,
        b.loss,
        b.steps,
        b.batch_size,
        b.seed,
    )


def test_overrides_apply_and_coerce():
    cfg = load_config(CONFIGS / "train_synth_sam_v3.yaml", ["steps=7", "optim.lr=1", "data.crop=[64,80]"])
    assert cfg.steps == 7 and cfg.optim.lr == 1.0 and isinstance(cfg.optim.lr, float)
    assert cfg.data.crop == [64, 80]


@pytest.mark.parametrize(
    "override, key", [("optim.lrr=1", "optim.lrr"), ("bogus=1", "bogus"), ("data.colour=2", "data.colour")]
)
def test_unknown_key_is_an_error_naming_it(override, key):
    with pytest.raises(InputError, match=key.replace(".", r"\.")):
        load_config(CONFIGS / "train_synth_sam_v3.yaml", [override])


def test_unknown_key_in_yaml_names_key_and_file(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("task: flow_sup\nmodel: {name: X, colour: red}\n")
    with pytest.raises(InputError, match=r"model\.colour") as e:
        load_config(p)
    assert str(p) in str(e.value)


@pytest.mark.parametrize("override", ["steps=abc", "task=flow_magic", "data.kind=tape", "optim.schedule=step", "steps"])
def test_bad_values_are_input_errors(override):
    with pytest.raises(InputError):
        load_config(CONFIGS / "train_synth_sam_v3.yaml", [override])


def test_missing_file_is_input_error(tmp_path):
    with pytest.raises(InputError, match="no file"):
        load_config(tmp_path / "nope.yaml")


def test_frames_data_needs_unsupervised_task():
    with pytest.raises(InputError, match="ground-truth"):
        load_config(CONFIGS / "finetune_unsup_frames.yaml", ["task=flow_sup"])


def test_config_is_frozen():
    cfg = load_config(None, [])
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.steps = 3


def test_packaged_default_config_matches_the_repo_copy():
    from segcorr.train.config import packaged_config

    assert packaged_config().read_text() == (CONFIGS / "train_synth_sam_v3.yaml").read_text()
    assert load_config("train_synth_sam_v3") == load_config(CONFIGS / "train_synth_sam_v3.yaml")
    with pytest.raises(InputError):
        load_config("no_such_config")
