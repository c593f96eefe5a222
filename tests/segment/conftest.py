"""Fixtures shared by the segment tests."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch

from segcorr.io.weights import save_weights
from segcorr.segment.model import build


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    """A tiny random-weight concept model ("sam3-test", seed 0) saved like shipped weights, with its config."""
    torch.manual_seed(0)
    m = build("sam3-test")
    path = tmp_path_factory.mktemp("w") / "tiny.safetensors"
    save_weights(m, path, {"name": "sam3-test", "config": json.dumps(dataclasses.asdict(m.config))})
    return path
