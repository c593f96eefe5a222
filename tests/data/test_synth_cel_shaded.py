"""The "shaded" cel style: exact ground truth, determinism, and the ways it differs from "cel" (palettes, line
widths, fills, slow motion)."""

from __future__ import annotations

import colorsys

import numpy as np
import pytest

from segcorr.cli import main
from segcorr.data.synth import make_cel_pair
from segcorr.data.synth.cel_shaded import PALETTES, colour, fill, line_style
from segcorr.data.synth.selfcheck import pair_checks

H, W = 96, 128


@pytest.mark.parametrize("seed", [2, 500001])
def test_shaded_ground_truth_is_exact(seed: int) -> None:
    p = make_cel_pair(seed, H, W, style="shaded")
    r = pair_checks(p)
    assert p.style == "shaded"
    assert r["warp_err"] < 3.0 and r["fb_ok_nearest"] == 1.0 and r["seg_consistency"] >= 0.99
    assert p.seg0.min() > 0 and len(p.concepts) >= len(np.unique(p.seg0))


def test_shaded_is_deterministic_and_not_the_cel_style() -> None:
    a, b = make_cel_pair(7, H, W, style="shaded"), make_cel_pair(7, H, W, style="shaded")
    assert np.array_equal(a.img0, b.img0) and np.array_equal(a.flow_fw, b.flow_fw)
    assert not np.array_equal(a.img0, make_cel_pair(7, H, W, style="cel").img0)
    assert not np.array_equal(a.img0, make_cel_pair(8, H, W, style="shaded").img0)


def test_shaded_motion_is_mostly_slow_with_sub_pixel_layers() -> None:
    speeds = [np.hypot(*make_cel_pair(s, H, W, style="shaded").flow_fw) for s in range(6)]
    allpx = np.concatenate([s.ravel() for s in speeds])
    assert (allpx <= 10).mean() > 0.8  # at 512x384 cel-style layers move up to about 40 px
    assert (allpx < 1).mean() > 0.1  # sub-pixel motion is common
    assert allpx.max() > 1


def test_palettes_line_widths_and_fills_vary() -> None:
    rng = np.random.default_rng(0)
    widths = {line_style(rng, np.array([200, 100, 50], np.uint8))[0] for _ in range(300)}
    assert {0, 1, 5} <= widths  # no line, thin and thick lines
    night = [colorsys.rgb_to_hsv(*(colour(rng, "night") / 255.0)) for _ in range(50)]
    assert max(v for _, _, v in night) <= 0.5 + 1 / 255
    pastel = [colorsys.rgb_to_hsv(*(colour(rng, "pastel") / 255.0)) for _ in range(50)]
    assert min(v for _, _, v in pastel) >= 0.82 - 1 / 255 and max(s for _, s, _ in pastel) <= 0.4 + 2 / 255
    assert set(PALETTES) == {"pastel", "muted", "night", "sepia", "vivid"}
    words = set()
    for _ in range(200):
        fn, word = fill(rng, np.array([120, 120, 120], np.uint8), 40.0)
        img = fn(16, 16)
        assert img.shape == (16, 16, 3) and img.dtype == np.uint8
        words.add(word)
        if word == "shaded":
            assert np.ptp(img.astype(int)) > 0  # a gradient, not a flat colour
    assert {"shaded", "plain", "mottled"} <= words and words & {"striped", "checkered"}


def test_cli_writes_shaded_pairs(tmp_path) -> None:
    import json

    try:
        main(
            [
                "synth",
                "cels",
                "--out",
                str(tmp_path),
                "--count",
                "1",
                "--height",
                "64",
                "--width",
                "96",
                "--style",
                "shaded",
            ]
        )
    except SystemExit as e:
        assert not e.code
    meta = json.loads((tmp_path / "meta.json").read_text())
    assert meta["style"] == "shaded" and meta["pairs"][0]["style"] == "shaded"
    assert (tmp_path / "00000_flow.flo").is_file()
