"""`make_cel_pair(span=...)`: frames further apart in time (two frame steps), same scene, exact ground truth."""

from __future__ import annotations

import json

import numpy as np
import pytest

from segcorr.data.synth import make_cel_pair, write_cels
from segcorr.data.synth.selfcheck import pair_checks

H, W = 96, 128


def test_span_one_is_the_usual_pair_and_a_longer_span_moves_further() -> None:
    p = make_cel_pair(500003, H, W, style="film")
    same = make_cel_pair(500003, H, W, style="film", span=1.0)
    assert np.array_equal(p.img0, same.img0) and np.array_equal(p.img1, same.img1)
    assert np.array_equal(p.flow_fw, same.flow_fw)
    far = make_cel_pair(500003, H, W, style="film", span=2.5, degrade=False)
    assert np.array_equal(far.seg0, p.seg0)  # frame 0 is the same scene at the same time
    speed = lambda q: float(np.hypot(*q.flow_fw).mean())  # noqa: E731
    assert speed(far) > 1.8 * speed(p)
    r = pair_checks(far)
    assert r["warp_err"] < 3.0 and r["fb_ok_nearest"] == 1.0


def test_span_must_be_positive_and_is_recorded(tmp_path) -> None:
    with pytest.raises(ValueError, match="span"):
        make_cel_pair(1, H, W, span=0.0)
    write_cels(tmp_path / "a", 1, seed=500000, height=H, width=W, style="film", span=2.0, progress=False)
    write_cels(tmp_path / "b", 1, seed=500000, height=H, width=W, style="film", progress=False)
    assert json.loads((tmp_path / "a" / "meta.json").read_text())["span"] == 2.0
    assert "span" not in json.loads((tmp_path / "b" / "meta.json").read_text())


def test_cli_span_reaches_the_pairs(tmp_path) -> None:
    from typer.testing import CliRunner

    from segcorr.cli import app

    args = ["synth", "cels", "--out", str(tmp_path / "c"), "--count", "1", "--seed", "500000", "--style", "film"]
    res = CliRunner().invoke(app, [*args, "--height", "96", "--width", "128", "--span", "2"])
    assert res.exit_code == 0, res.output
    assert json.loads((tmp_path / "c" / "meta.json").read_text())["span"] == 2.0
    assert CliRunner().invoke(app, [*args, "--span", "0"]).exit_code == 2  # a usage error
