"""The sam2 backend: real loading path with the package's own config and random weights.

The `sam2` package is an optional extra; where it is not installed only the not-installed message is
tested (the rest is skipped, as the extra's absence is a supported configuration).
"""

import sys
import types

import numpy as np
import pytest
import torch

from segcorr.errors import InputError
from segcorr.segment import build
from segcorr.segment.base import Prompts

SIZE = 128  # model input side for the tests (official: 1024); a multiple of 32


def test_missing_extra_says_so_in_one_line(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "sam2", None)  # import sam2 -> ImportError
    with pytest.raises(InputError) as e:
        build("sam2", checkpoint=tmp_path / "x.pt")
    assert str(e.value) == "sam2 backend needs the optional extra: pip install 'segcorr[sam2]'"


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    pytest.importorskip("sam2")
    from segcorr.segment.sam2_backend import build_sam2_model

    torch.manual_seed(0)
    model = build_sam2_model(image_size=SIZE)
    path = tmp_path_factory.mktemp("sam2") / "sam2.1_hiera_tiny_random.pt"
    torch.save({"model": model.state_dict()}, path)
    return path, model


@pytest.fixture(scope="module")
def segmenter(checkpoint):
    from segcorr.segment.sam2_backend import Sam2Segmenter

    return Sam2Segmenter(checkpoint[0], image_size=SIZE, device=None)


def _image():
    rng = np.random.default_rng(0)
    img = np.full((60, 80, 3), 200, np.uint8)
    img[15:45, 20:50] = (200, 30, 30)
    return np.clip(img + rng.integers(0, 10, img.shape), 0, 255).astype(np.uint8)


def test_checkpoint_loads_strictly_on_cpu(checkpoint, segmenter):
    _, model = checkpoint
    assert segmenter.device.type == ("cuda" if torch.cuda.is_available() else "cpu")
    for (k, a), b in zip(model.state_dict().items(), segmenter.model.state_dict().values()):
        assert torch.equal(a, b.cpu()), k


def test_box_and_point_prompts_give_masks_of_the_image_size(segmenter):
    img = _image()
    res = segmenter.segment(
        img,
        Prompts(
            boxes=np.array([[20, 15, 50, 45], [0, 0, 30, 30]], np.float32),
            points=np.array([[35, 30]]),
            point_labels=np.array([1]),
        ),
    )
    assert res.masks.shape == (2, 60, 80) and res.masks.dtype == bool
    assert ((res.scores >= 0) & (res.scores <= 1)).all()
    pts = segmenter.segment(img[:, :, 0], Prompts(points=np.array([[35, 30]]), point_labels=np.array([1])))
    assert pts.masks.shape == (1, 60, 80)
    with pytest.raises(InputError, match="text"):
        segmenter.segment(img, Prompts(text=["cat"]))


def test_segment_all_returns_a_label_map(segmenter):
    segmenter.points_per_side, segmenter.min_score, segmenter.min_area = 2, 0.0, 1
    labels = segmenter.segment_all(_image())
    assert labels.shape == (60, 80) and labels.dtype == np.int32 and labels.min() >= 0


def _stub_torchvision():
    """Just the three transforms `sam2.utils.transforms` imports, in plain torch (scriptable)."""
    import torch.nn.functional as F
    from torch import nn

    class Resize(nn.Module):
        def __init__(self, size):
            super().__init__()
            self.size: tuple[int, int] = (int(size[0]), int(size[1]))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return F.interpolate(x[None], size=self.size, mode="bilinear", align_corners=False, antialias=True)[0]

    class Normalize(nn.Module):
        def __init__(self, mean, std):
            super().__init__()
            self.register_buffer("mean", torch.tensor(mean).view(3, 1, 1))
            self.register_buffer("std", torch.tensor(std).view(3, 1, 1))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return (x - self.mean) / self.std

    class ToTensor:
        def __call__(self, img):
            return torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1).float() / 255.0

    tv = types.ModuleType("torchvision")
    tr = types.ModuleType("torchvision.transforms")
    tr.Resize, tr.Normalize, tr.ToTensor = Resize, Normalize, ToTensor
    tv.transforms = tr
    return tv, tr


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")
def test_fallback_predictor_matches_the_official_predictor(segmenter, monkeypatch):
    from segcorr.segment.sam2_backend import _make_predictor
    from segcorr.segment.sam2_predictor import TorchSam2Predictor

    img = _image()
    before = set(sys.modules)
    tv, tr = _stub_torchvision()
    monkeypatch.setitem(sys.modules, "torchvision", tv)
    monkeypatch.setitem(sys.modules, "torchvision.transforms", tr)
    try:
        official = _make_predictor(segmenter.model)
        assert not isinstance(official, TorchSam2Predictor)
        official.set_image(img)
        m1, s1, _ = official.predict(box=np.array([20, 15, 50, 45]), multimask_output=False)
    finally:
        for name in set(sys.modules) - before:  # forget sam2 modules bound to the stub
            if name.startswith("sam2"):
                del sys.modules[name]
    ours = TorchSam2Predictor(segmenter.model)
    ours.set_image(img)
    m2, s2, _ = ours.predict(box=np.array([20, 15, 50, 45]), multimask_output=False)
    assert np.allclose(s1, s2, atol=1e-4)
    assert ((m1 > 0.5) == m2).mean() > 0.999


def test_bad_checkpoints_are_input_errors(tmp_path, checkpoint):
    pytest.importorskip("sam2")
    from segcorr.segment.sam2_backend import Sam2Segmenter, load_sam2_weights

    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint at all")
    with pytest.raises(InputError, match="not a readable PyTorch checkpoint"):
        Sam2Segmenter(junk)
    other = tmp_path / "other.pt"
    torch.save({"state_dict": {}}, other)
    with pytest.raises(InputError, match="official SAM 2.1 format"):
        Sam2Segmenter(other)
    with pytest.raises(InputError, match="not found"):
        Sam2Segmenter(tmp_path / "missing.pt")
    _, model = checkpoint
    state = dict(model.state_dict())
    state.pop("no_mem_embed")
    state["extra.weight"] = torch.zeros(1)
    with pytest.raises(InputError, match=r"missing keys: no_mem_embed; unexpected keys: extra\.weight"):
        load_sam2_weights(model, state, "ckpt.pt", "cfg")
    state = dict(model.state_dict())
    state["no_mem_embed"] = torch.zeros(3)
    with pytest.raises(InputError, match=r"shape mismatch: no_mem_embed \(file \(3,\), model"):
        load_sam2_weights(model, state, "ckpt.pt", "cfg")


def test_device_choice_respects_budget(monkeypatch):
    pytest.importorskip("sam2")
    from segcorr.segment import sam2_backend

    assert sam2_backend.choose_device("cpu", None, 10, 1024).type == "cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda *a: (40 * 2**30, 80 * 2**30))
    assert sam2_backend.choose_device(None, None, 39_000_000, 1024).type == "cuda"
    assert sam2_backend.choose_device(None, 0.5, 39_000_000, 1024).type == "cpu"
