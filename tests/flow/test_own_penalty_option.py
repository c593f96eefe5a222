"""`--own-penalty` / get_method(own_penalty=): the classical-flow candidate's penalty reaches the refinement."""

from __future__ import annotations

import math

import pytest

from segcorr.cli import main
from segcorr.flow import methods
from segcorr.flow.refine_config import RefineConfig


@pytest.mark.parametrize("given, want", [(None, RefineConfig().own_penalty), (float("inf"), math.inf), (1.25, 1.25)])
def test_get_method_passes_own_penalty_to_the_refinement(monkeypatch, given, want):
    seen = {}

    def fake_from_weights(path, refine, work_side, **kw):
        seen["cfg"] = refine
        return object()

    monkeypatch.setattr("segcorr.flow.predictor.FlowPredictor.from_weights", staticmethod(fake_from_weights))
    monkeypatch.setattr(methods, "predictor_method", lambda predictor, masks: predictor)
    methods.get_method("aniflowformer-v3", own_penalty=given)
    assert seen["cfg"].own_penalty == want


def test_cli_rejects_a_negative_own_penalty(tmp_path):
    with pytest.raises(SystemExit) as e:
        main(["eval", "flow", "--data", str(tmp_path), "--method", "zero", "--own-penalty", "-1"])
    assert e.value.code == 2
