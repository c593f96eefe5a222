"""MatchPredictor: input formats, resize plan, padding, coordinates back in original pixels, bad input."""

import numpy as np
import pytest
import torch
from asmamba_pairs import one_thread, texture  # noqa: F401 (autouse fixture)
from torch import nn

from segcorr.errors import InputError
from segcorr.matching import build
from segcorr.matching.orientation import OrientationSearch
from segcorr.matching.predictor import MatchPredictor, to_grey_float


@pytest.fixture(scope="module")
def predictor():
    torch.manual_seed(0)
    return MatchPredictor(build("as_mamba-test"), longer_side=96, max_matches=50, threshold=0.0)


def _rgb(h, w, seed=0):
    t = (texture(h, w, seed) * 255).astype(np.uint8)
    return np.stack([t, np.roll(t, 3, 0), 255 - t], -1)


@pytest.mark.parametrize(
    "img0,img1",
    [
        (_rgb(120, 90), _rgb(70, 140, 1)),  # RGB, different aspect ratios
        (np.dstack([_rgb(100, 100), np.full((100, 100), 200, np.uint8)]), _rgb(100, 100)),  # RGBA
        (_rgb(80, 90)[:, :, 0], (_rgb(90, 80)[:, :, 1].astype(np.uint16) * 257)),  # grey uint8 and 16-bit
    ],
)
def test_predictor_returns_matches_in_original_pixels(predictor, img0, img1):
    out = predictor(img0, img1)
    n = len(out["mconf"])
    assert 0 < n <= 50
    assert out["mkpts0"].shape == (n, 2) and out["mkpts1"].shape == (n, 2)
    assert out["mkpts0"].dtype == out["mkpts1"].dtype == out["mconf"].dtype == np.float32
    for pts, img in ((out["mkpts0"], img0), (out["mkpts1"], img1)):
        h, w = img.shape[:2]
        assert (pts[:, 0] >= -0.5).all() and (pts[:, 0] <= w - 0.5).all()
        assert (pts[:, 1] >= -0.5).all() and (pts[:, 1] <= h - 0.5).all()
    assert (np.diff(out["mconf"]) <= 0).all()  # most confident first


class _FixedMatches(nn.Module):
    """A model double that matches fixed cells, to check the predictor's coordinate bookkeeping."""

    def __init__(self):
        super().__init__()
        self.p = nn.Parameter(torch.zeros(()))
        self.seen = None

    def forward(self, data, threshold=None, max_matches=None):
        self.seen = data
        k0 = torch.tensor([[3.5, 3.5], [91.5, 3.5], [43.5, 27.5]])
        k1 = torch.tensor([[11.5, 3.5], [3.5, 3.5], [3.5, 91.5]])
        return {"mkpts0_f": k0, "mkpts1_f": k1, "mconf": torch.tensor([0.5, 0.9, 0.7])}


def _dot(h: int, w: int) -> np.ndarray:
    """A black image with one white pixel: not flat, so the predictor runs its passes (the fake model ignores it)."""
    img = np.zeros((h, w), np.uint8)
    img[h // 2, w // 2] = 255
    return img


def test_resize_pad_mask_and_mapping_back():
    model = _FixedMatches()
    pred = MatchPredictor(model, longer_side=64, max_matches=10, orientation=OrientationSearch(enabled=False))
    img0 = _dot(100, 200)  # -> 32 x 64, no padding
    img1 = _dot(200, 100)  # -> 64 x 32, padded to 64 x 32: no padding either
    out = pred(img0, img1)
    assert model.seen["image0"].shape == (1, 1, 32, 64) and model.seen["image1"].shape == (1, 1, 64, 32)
    assert model.seen["mask0"].all()
    # match 1 lies outside image 0 (x 91.5 >= 64) and match 2 outside image 1 (y 91.5 >= 64): dropped
    np.testing.assert_allclose(out["mkpts0"], [[(3.5 + 0.5) * 200 / 64 - 0.5, (3.5 + 0.5) * 100 / 32 - 0.5]])
    np.testing.assert_allclose(out["mkpts1"], [[(11.5 + 0.5) * 100 / 32 - 0.5, (3.5 + 0.5) * 200 / 64 - 0.5]])
    np.testing.assert_allclose(out["mconf"], [0.5])


def test_padding_reaches_the_model_as_a_mask():
    model = _FixedMatches()
    MatchPredictor(model, longer_side=80)(_dot(70, 80), _dot(80, 80))
    assert model.seen["image0"].shape == (1, 1, 96, 96)
    mask = model.seen["mask0"][0]
    assert mask[:70, :80].all() and not mask[70:].any() and not mask[:, 80:].any()


def test_tiny_and_malformed_images_are_input_errors(predictor):
    ok = _rgb(100, 100)
    with pytest.raises(InputError, match="too small"):
        predictor(np.zeros((63, 200), np.uint8), ok)  # flat and too small: too small
    with pytest.raises(InputError, match="img1"):
        predictor(ok, np.zeros((100, 100, 2), np.uint8))
    with pytest.raises(InputError, match="int32"):
        predictor(np.zeros((100, 100), np.int32), ok)
    with pytest.raises(InputError, match="0..1"):
        predictor(np.full((100, 100), 2.0, np.float32), ok)
    with pytest.raises(InputError, match="longer_side"):
        MatchPredictor(_FixedMatches(), longer_side=32)


@pytest.mark.parametrize("level", [0, 128, 255])
def test_a_flat_image_has_no_matches_and_costs_no_pass(predictor, level):
    """One grey level has nothing to match: no pass at all, not the orientation search's dozen (seconds on a CPU)."""
    textured = _rgb(120, 90)
    for pair in ((np.full((90, 120, 3), level, np.uint8), textured), (textured, np.full((80, 100), level, np.uint8))):
        out = predictor(*pair)
        assert predictor.last_passes == []
        assert out["mkpts0"].shape == (0, 2) and out["mkpts1"].shape == (0, 2) and out["mconf"].shape == (0,)
    nearly = np.full((90, 120), 128, np.uint8)
    nearly[40:50, 50:70] = 129  # one level of contrast is an image: matched as usual
    predictor(textured, nearly)
    assert predictor.last_passes


def test_grey_conversion_of_each_format():
    rgba = np.zeros((2, 2, 4), np.uint8)
    rgba[..., 3] = [[0, 255], [255, 255]]  # the transparent pixel becomes white paper
    g = to_grey_float(rgba)
    assert g[0, 0] == pytest.approx(1.0) and g[0, 1] == pytest.approx(0.0)
    assert to_grey_float(np.full((2, 2), 65535, np.uint16))[0, 0] == pytest.approx(1.0)
    rgb = np.zeros((1, 1, 3), np.uint8)
    rgb[..., 1] = 255
    assert to_grey_float(rgb)[0, 0] == pytest.approx(0.587)


def test_last_passes_lists_every_network_pass_of_the_last_call(predictor):
    """``last_passes``: the longer side of each model call of the last pair, reset per call (what a pair cost)."""
    sides = []
    model = predictor.model
    forward = model.forward

    def counting(data, threshold=None, max_matches=None):
        sides.append(max(data["image0"].shape[-2:]))
        return forward(data, threshold=threshold, max_matches=max_matches)

    model.forward = counting
    try:
        for img0, img1 in ((_rgb(120, 90), _rgb(120, 90, 1)), (_rgb(100, 100), np.rot90(_rgb(100, 100)).copy())):
            sides.clear()
            predictor(img0, img1)
            assert predictor.last_passes == sides  # 96 and 320 are multiples of 32: no padding
            assert sides[0] == predictor.prealign.probe_side and 96 in sides  # the probe first, a full pass later
    finally:
        del model.forward
