import numpy as np
import pytest
from segment_pages import tone_page

from segcorr.errors import InputError
from segcorr.segment.screentone import ScreentoneConfig, detect_screentone


def _pr(mask, gt):
    tp = (mask & gt).sum()
    return tp / max(mask.sum(), 1), tp / gt.sum()


def test_tone_page_precision_and_recall_above_0_9():
    page, gt = tone_page(256)
    mask = detect_screentone(page)
    assert mask.shape == page.shape and mask.dtype == bool
    p, r = _pr(mask, gt)
    assert p > 0.9 and r > 0.9, (p, r)


def test_flat_fills_line_art_and_black_are_not_tone():
    page, _gt = tone_page(256)
    mask = detect_screentone(page)
    assert not mask[30:100, 150:230].any()  # flat grey
    assert not mask[130:160, 150:235].any()  # solid black
    assert mask[200:230, 150:200].mean() < 0.05  # circle, crossing line, loose strokes


@pytest.mark.parametrize("period,radius", [(4, 1.0), (8, 2.5)])
def test_dot_tones_of_other_periods_with_noise(period, radius):
    rng = np.random.default_rng(period)
    h = w = 160
    yy, xx = np.mgrid[0:h, 0:w]
    region = (yy > 30) & (yy < 130) & (xx > 20) & (xx < 140)
    dots = ((yy % period - period / 2 + 0.5) ** 2 + (xx % period - period / 2 + 0.5) ** 2) <= radius**2
    page = np.where(region & dots, 30, 255) + rng.normal(0, 6, (h, w))
    mask = detect_screentone(np.clip(page, 0, 255).astype(np.uint8))
    p, r = _pr(mask, region)
    assert p > 0.9 and r > 0.9, (p, r)


def test_random_paper_noise_is_not_tone():
    rng = np.random.default_rng(0)
    page = np.clip(rng.normal(200, 30, (128, 128)), 0, 255).astype(np.uint8)
    assert detect_screentone(page).mean() < 0.02


def test_rgb_input_and_tiny_input():
    page, _gt = tone_page(128)
    rgb = np.repeat(page[:, :, None], 3, axis=2)
    assert (detect_screentone(rgb) == detect_screentone(page)).all()
    assert not detect_screentone(np.zeros((10, 10), np.uint8)).any()


def test_bad_input_raises():
    with pytest.raises(InputError, match="uint8"):
        detect_screentone(np.zeros((64, 64), np.float32))


def test_config_threshold_changes_answer():
    page, _gt = tone_page(128)
    assert not detect_screentone(page, ScreentoneConfig(peak_corr=1.5)).any()
