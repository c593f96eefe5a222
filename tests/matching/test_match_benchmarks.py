"""The matching benchmark scripts' own logic: method options (weights paths keep their slashes), validation sets."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from segcorr.errors import InputError

_BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


def _script(name: str):
    spec = importlib.util.spec_from_file_location(name, _BENCH / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_method_options_split_names_paths_and_flags():
    parse = _script("match_compare").method_options
    assert parse("as-mamba") == ("as-mamba", set())
    assert parse("as-mamba/none+noturns") == ("as-mamba", {"none", "noturns"})
    assert parse("runs/st4/export/w.safetensors") == ("runs/st4/export/w.safetensors", set())
    assert parse("runs/st4/w.safetensors/noalign") == ("runs/st4/w.safetensors", {"noalign"})
    with pytest.raises(InputError, match="unknown method option"):
        parse("as-mamba/fast")


def test_valsets_refuses_split_photos_and_missing_files(tmp_path, capsys):
    main = _script("match_valsets").main
    assert main(["--photo", "chelsea.png", "--out", str(tmp_path)]) == 2
    assert "photos a split uses" in capsys.readouterr().err
    assert main(["--photo", str(tmp_path / "nope.jpg"), "--out", str(tmp_path)]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(["--sets", "vh", "--out", str(tmp_path)]) == 2  # photo sets need photos
    assert main(["--sets", "vh9", "--out", str(tmp_path)]) == 2
    assert not any(tmp_path.iterdir())


def test_valsets_writes_a_set_once(tmp_path, monkeypatch):
    mod = _script("match_valsets")
    monkeypatch.setitem(mod.SETS, "pval2", ("scenes", 1, 500_000, 1.0))
    assert mod.main(["--sets", "pval2", "--out", str(tmp_path)]) == 0
    listing = (tmp_path / "pval2" / "pairs_with_gt.txt").read_text()
    assert len(listing.splitlines()) == 1
    img = tmp_path / "pval2" / "images" / "00000_0.png"
    stamp = img.stat().st_mtime_ns
    assert mod.main(["--sets", "pval2", "--out", str(tmp_path)]) == 0  # kept, not rewritten
    assert img.stat().st_mtime_ns == stamp and np.isfinite(stamp)


def test_speed_benchmark_times_the_shipped_weights_at_their_threshold(tmp_path):
    """``--pretrained`` times what the predictor runs (shipped weights, their threshold 0.2: the one-pass coarse
    stage); without it the untrained model at threshold 0. Overrides need untrained weights."""
    import json

    main = _script("match_speed").main
    for flags, want in ((["--pretrained"], 0.2), ([], 0.0)):
        out = tmp_path / "s.json"
        assert main(["--size", "64x96", "--runs", "1", "--threads", "1", "--json", str(out), *flags]) == 0
        result = json.loads(out.read_text())
        assert result["pretrained"] == bool(flags) and result["threshold"] == pytest.approx(want)
        assert result["params"] > 0 and result["s_per_pair_median"] > 0
    with pytest.raises(SystemExit):
        main(["--pretrained", "--size", "64x96", "--runs", "1", "n_blocks=1"])
