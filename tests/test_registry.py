"""The shared registry helpers: name checks, building from an entry, weights files that carry their config."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import pytest
import torch
from torch import nn

from segcorr.errors import InputError
from segcorr.io.weights import save_weights
from segcorr.registry import (
    build_registered,
    check_fields,
    check_positive,
    load_pretrained,
    registry_entry,
    save_pretrained,
)


@dataclass(frozen=True)
class _Cfg:
    width: int = 2

    def to_dict(self) -> dict:
        return asdict(self)


class _Net(nn.Module):
    def __init__(self, cfg: _Cfg) -> None:
        super().__init__()
        self.config = cfg
        self.lin = nn.Linear(cfg.width, 1)


REG = {"small": {"width": 2}, "wide": {"width": 5}}


def _make(base, overrides):
    return _Net(_Cfg(**{**base, **overrides}))


def _build(name, **overrides):
    return build_registered(REG, name, overrides, _make, "toy")


def _from_config(config):
    if set(config) - {"width"}:
        raise InputError(f"unknown option(s) {sorted(set(config) - {'width'})}")
    return _Net(_Cfg(**config))


def test_unknown_name_lists_the_known_ones_sorted():
    assert registry_entry(REG, "wide", "toy") == {"width": 5}
    with pytest.raises(InputError, match=r"unknown toy model 'huge'; known: small, wide"):
        registry_entry({"wide": {}, "small": {}}, "huge", "toy")


def test_check_fields_names_the_unknown_keys_and_the_valid_fields():
    check_fields(_Cfg, {"width": 3}, "option", "for small")  # known fields pass
    with pytest.raises(InputError, match=r"^unknown key\(s\) \['a', 'z'\] in data.args; valid: width$"):
        check_fields(_Cfg, ["z", "width", "a"], "key", "in data.args")


def test_check_positive_names_the_first_field_below_one():
    check_positive(_Cfg(width=1), ["width"])
    with pytest.raises(InputError, match=r"^width: expected a positive integer, found 0.5$"):
        check_positive(_Cfg(width=0.5), ["width"])


def test_build_applies_the_entry_then_the_overrides():
    assert _build("wide").config.width == 5
    assert _build("wide", width=3).config.width == 3
    with pytest.raises(InputError, match="unknown toy model"):
        _build("nope")


def test_save_and_load_rebuild_from_the_stored_config(tmp_path):
    torch.manual_seed(0)
    model = _build("small", width=4)
    path = save_pretrained(model, tmp_path / "m.safetensors", "small", {"note": "x"})
    loaded = load_pretrained(path, _build, _from_config, "toy")
    assert loaded.config.width == 4 and not loaded.training
    assert torch.equal(loaded.lin.weight, model.lin.weight)


def test_load_by_name_when_the_file_has_no_config(tmp_path):
    model = _build("wide")
    path = save_weights(model, tmp_path / "n.safetensors", {"name": "wide"})
    assert torch.equal(load_pretrained(path, _build, _from_config, "toy").lin.bias, model.lin.bias)


@pytest.mark.parametrize(
    ("meta", "message"),
    [
        ({}, "expected 'config' or 'name' in the safetensors metadata of a toy model"),
        ({"config": "{not json"}, "expected JSON in the 'config' metadata"),
        ({"config": "[1, 2]"}, "expected a JSON object as model config, found list"),
        ({"config": '{"width": 2, "depth": 1}'}, "model config in the weights does not fit this version"),
        ({"name": "nope"}, "unknown toy model 'nope'"),
    ],
)
def test_bad_metadata_is_named(tmp_path, meta, message):
    path = save_weights(_build("small"), tmp_path / "b.safetensors", meta)
    with pytest.raises(InputError, match=message):
        load_pretrained(path, _build, _from_config, "toy")


def test_field_overrides_take_each_fields_type():
    import dataclasses

    import pytest

    from segcorr.errors import InputError
    from segcorr.registry import field_overrides

    @dataclasses.dataclass(frozen=True)
    class Cfg:
        flag: bool = True
        n: int = 3
        x: float = 0.5
        mode: str = "a"
        opt: float | None = None
        seq: tuple = ("mask",)

    got = field_overrides(Cfg, ["flag=false", "n=7", "x=2", "mode=none", "opt=0.25", "seq=box"], "for Cfg")
    assert got == {"flag": False, "n": 7, "x": 2.0, "mode": "none", "opt": 0.25, "seq": "box"}
    assert type(got["x"]) is float and got["flag"] is False
    assert field_overrides(Cfg, ["flag=YES", "opt=true", "opt=1"], "") == {"flag": True, "opt": 1}
    for bad, needle in (
        (["flag=maybe"], "flag"),
        (["n=2.5"], "n: expected int"),
        (["nope=1"], "nope"),
        (["n"], "name=value"),
    ):
        with pytest.raises(InputError, match=needle):
            field_overrides(Cfg, bad, "for Cfg")
