"""safetensors weights: round trip with metadata, strict loading that names keys, no unpickling."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch import nn

import segcorr.io.weights as wmod
from segcorr.errors import InputError
from segcorr.io.weights import (
    KeyDiff,
    key_diff,
    load_weights,
    read_model_card,
    read_weights_metadata,
    save_weights,
    weights_path,
    write_model_card,
)


def _net(seed: int, hidden: int = 4) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(3, hidden), nn.ReLU(), nn.Linear(hidden, 2))


def test_round_trip_with_metadata(tmp_path):
    src = _net(0)
    save_weights(src, tmp_path / "w.safetensors", {"steps": 12, "note": "tiny"})
    dst = load_weights(_net(1), tmp_path / "w.safetensors")
    for a, b in zip(src.state_dict().values(), dst.state_dict().values()):
        assert torch.equal(a, b)
    assert read_weights_metadata(tmp_path / "w.safetensors") == {"steps": "12", "note": "tiny"}


def test_name_resolves_in_package_folder(tmp_path, monkeypatch):
    monkeypatch.setattr(wmod, "weights_dir", lambda: tmp_path)
    save_weights(_net(0).state_dict(), tmp_path / "tiny.safetensors")
    assert weights_path("tiny") == tmp_path / "tiny.safetensors"
    assert weights_path("other") is None
    load_weights(_net(1), "tiny")
    with pytest.raises(InputError, match="no shipped weights named 'other'.*tiny"):
        load_weights(_net(1), "other")


def test_strict_errors_name_the_keys(tmp_path):
    path = tmp_path / "w.safetensors"
    sd = _net(0).state_dict()
    sd["extra.weight"] = torch.zeros(1)
    del sd["2.bias"]
    save_weights(sd, path)
    with pytest.raises(InputError, match=r"missing keys: 2\.bias.*unexpected keys: extra\.weight"):
        load_weights(_net(1), path)
    model = load_weights(_net(1), path, strict=False)
    assert torch.equal(model.state_dict()["0.weight"], sd["0.weight"])


def test_key_diff_sorts_and_describes_every_kind():
    model = {"b": np.zeros(2), "a": np.zeros(2), "w": np.zeros((2, 3))}
    loaded = {"w": np.zeros((3, 2)), "z": np.zeros(1), "y": np.zeros(1)}
    diff = key_diff(model, loaded)
    assert diff == KeyDiff(missing=("a", "b"), unexpected=("y", "z"), mis_shaped=("w (file (3, 2), model (2, 3))",))
    assert diff.describe() == "shape mismatch: w (file (3, 2), model (2, 3)); missing keys: a, b; unexpected keys: y, z"
    assert diff.describe(strict=False) == "shape mismatch: w (file (3, 2), model (2, 3))"
    assert key_diff(model, model).describe() == ""
    many = key_diff({f"k{i:02d}": np.zeros(1) for i in range(10)}, {})
    assert many.describe() == "missing keys: " + ", ".join(f"k{i:02d}" for i in range(8)) + " ... (10 in all)"


def test_shape_mismatch_is_named_even_when_not_strict(tmp_path):
    path = tmp_path / "w.safetensors"
    save_weights(_net(0, hidden=5), path)
    with pytest.raises(InputError, match=r"shape mismatch: 0\.bias \(file \(5,\), model \(4,\)\)"):
        load_weights(_net(1, hidden=4), path, strict=False)


def test_pickle_and_corrupt_files_refused(tmp_path):
    torch.save(_net(0).state_dict(), tmp_path / "w.pt")
    with pytest.raises(InputError, match="safetensors"):
        load_weights(_net(1), tmp_path / "w.pt")
    good = tmp_path / "w.safetensors"
    save_weights(_net(0), good)
    data = good.read_bytes()
    rng = np.random.default_rng(0)
    for i, blob in enumerate([data[:5], data[:40], data[:-3], rng.bytes(200), b"\x10" + b"\0" * 7 + b"{]" * 8]):
        p = tmp_path / f"bad{i}.safetensors"
        p.write_bytes(blob)
        with pytest.raises(InputError):
            load_weights(_net(1), p)
    with pytest.raises(InputError, match="not found"):
        load_weights(_net(1), tmp_path / "absent.safetensors")


def test_model_card(tmp_path):
    w = tmp_path / "m.safetensors"
    assert read_model_card(w) is None
    write_model_card(w, {"steps": 3, "command": "segcorr train x.yaml"})
    assert read_model_card(w) == {"steps": 3, "command": "segcorr train x.yaml"}
    (tmp_path / "m.json").write_text("{broken")
    with pytest.raises(InputError, match="model card"):
        read_model_card(w)
    (tmp_path / "m.json").write_text(json.dumps([1, 2]))
    with pytest.raises(InputError, match="JSON object"):
        read_model_card(w)
