"""The evaluation loops' shared parts: item count, progress bar, head of the metrics dict."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from segcorr.metrics.loop import item_count, progress_bar, result_head


def test_item_count_takes_all_or_the_first_limit():
    data = list(range(5))
    assert item_count(data, None) == 5
    assert item_count(data, 3) == 3
    assert item_count(data, 9) == 5
    assert item_count(data, 0) == 0


def test_result_head_names_the_data_and_the_mean_time():
    ds = SimpleNamespace(root="some/dir")
    assert result_head("m", None, ds, 4, 0.002) == {"method": "m", "data": "some/dir", "count": 4, "ms_per_item": 0.5}
    assert result_head("m", "named", ds, 4, 0.002)["data"] == "named"
    assert result_head("m", None, [], 0, 0.0) == {"method": "m", "data": "", "count": 0, "ms_per_item": None}


@pytest.mark.parametrize("eta", [False, True])
def test_progress_bar_lets_errors_through(eta):
    with pytest.raises(ValueError, match="boom"), progress_bar("x", 3, enabled=False, eta=eta) as advance:
        advance()
        raise ValueError("boom")
