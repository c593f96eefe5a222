"""FlowPredictor: the resize plan, which label maps are made at which size, and bad input, on a tiny network."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from segcorr.errors import InputError
from segcorr.flow import build
from segcorr.flow.predictor import FlowPredictor, ResizePlan, resize_flow
from segcorr.flow.refine_config import RefineConfig


class RecordingSegmenter:
    """Two segments (left, right half); records the size of every frame it is asked to segment."""

    def __init__(self) -> None:
        self.sizes: list[tuple[int, int]] = []

    def segment_all(self, img: np.ndarray) -> np.ndarray:
        self.sizes.append(img.shape[:2])
        lab = np.ones(img.shape[:2], np.int32)
        lab[:, img.shape[1] // 2 :] = 2
        return lab


def _frames(h: int = 128, w: int = 192) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    big = (rng.random((h + 8, w + 8, 3)) * 255).astype(np.uint8)
    return np.ascontiguousarray(big[4 : 4 + h, 4 : 4 + w]), np.ascontiguousarray(big[4 : 4 + h, 2 : 2 + w])


def _predictor(name: str = "AniFlowFormerTV3-test", **kw) -> tuple[FlowPredictor, RecordingSegmenter]:
    torch.manual_seed(0)
    seg = RecordingSegmenter()
    return FlowPredictor(build(name), seg, **kw), seg


def test_resize_plan_bounds_work_and_refine_sizes_and_keeps_the_minimum_side():
    plan = ResizePlan.make(128, 192, work_side=96, refine_side=160)
    assert plan.frame == (128, 192) and plan.work == (64, 96) and plan.refine == (107, 160)
    assert ResizePlan.make(128, 192, None, None) == ResizePlan((128, 192), (128, 192), None)
    assert ResizePlan.make(64, 640, 320, 1024).work == (64, 320)  # never below the network's 64 px


def test_resize_flow_scales_vectors_with_the_image():
    f = np.stack([np.full((24, 32), 2.0, np.float32), np.full((24, 32), -1.0, np.float32)])
    g = resize_flow(f, (48, 96))
    assert g.shape == (2, 48, 96)
    assert np.allclose(g[0], 6.0) and np.allclose(g[1], -2.0)
    assert resize_flow(f, (24, 32)) is f


def test_frame_0_is_segmented_at_the_refinement_size_and_frame_1_at_the_working_size():
    a, b = _frames()
    pred, seg = _predictor(work_side=96, refine=RefineConfig(max_side=160))
    f = pred(a, b)
    assert f.shape == (2, 128, 192) and f.dtype == np.float32 and np.isfinite(f).all()
    assert sorted(seg.sizes) == [(64, 96), (107, 160)]  # never the full 128x192
    seg.sizes.clear()
    pred, seg = _predictor(work_side=96)  # frames under max_side: the refinement runs at full size
    pred(a, b)
    assert sorted(seg.sizes) == [(64, 96), (128, 192)]


def test_without_refinement_only_working_size_maps_are_made():
    a, b = _frames()
    pred, seg = _predictor(work_side=96, refine=RefineConfig(mode="none"))
    pred(a, b)
    assert seg.sizes == [(64, 96), (64, 96)]


def test_a_model_without_guidance_gets_only_the_refinement_map():
    a, b = _frames()
    pred, seg = _predictor("AniFlowFormerT-test", work_side=96)
    assert not pred.reads_segments
    pred(a, b)
    assert seg.sizes == [(128, 192)]
    seg.sizes.clear()
    pred.refine = RefineConfig(mode="none")
    pred(a, b)
    assert seg.sizes == []


def test_given_label_maps_are_used_instead_of_the_segmenter():
    a, b = _frames()
    labels = np.zeros((128, 192), np.int32)
    labels[:, 100:] = 3
    pred, seg = _predictor(work_side=96)
    pred(a, b, labels, labels)
    assert seg.sizes == []


def test_no_segmenter_runs_unguided_and_skips_the_refinement():
    a, b = _frames()
    torch.manual_seed(0)
    model = build("AniFlowFormerTV3-test")
    fused = FlowPredictor(model, None, work_side=96)(a, b)
    raw = FlowPredictor(model, None, RefineConfig(mode="none"), work_side=96)(a, b)
    assert np.array_equal(fused, raw)


def test_bad_frames_and_label_maps_are_input_errors():
    a, b = _frames()
    pred, _ = _predictor(work_side=96)
    with pytest.raises(InputError, match="uint8"):
        pred(a.astype(np.float32), b)
    with pytest.raises(InputError, match=r"\[H, W, 3\]"):
        pred(a[..., 0], b[..., 0])
    with pytest.raises(InputError, match="differ in size"):
        pred(a, b[:-1])
    with pytest.raises(InputError, match="seg0"):
        pred(a, b, np.zeros((10, 10), np.int32))
