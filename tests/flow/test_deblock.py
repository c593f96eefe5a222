"""Deblocking the network's flow: the guided filter, the refinement's raw flow, the predictor's option."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from segcorr.errors import InputError
from segcorr.flow import build
from segcorr.flow.deblock import deblock_flow, guided_filter
from segcorr.flow.predictor import FlowPredictor
from segcorr.flow.refine import refine_flow
from segcorr.flow.refine_config import RefineConfig


def _blockiness(flow: np.ndarray, cell: int = 8) -> float:
    """Mean |flow step| between horizontal neighbours across cell borders over the same inside cells."""
    dx = np.linalg.norm(flow[..., 1:] - flow[..., :-1], axis=0)
    across = np.arange(dx.shape[-1]) % cell == cell - 1
    return float(dx[:, across].mean() / max(dx[:, ~across].mean(), 1e-6))


def _blocky_ramp(h: int = 32, w: int = 64) -> np.ndarray:
    """float32 [2, h, w]: a horizontal ramp whose 8x8 cells hold a constant vector plus a faint slope inside (as
    the convex upsampler's near-uniform weights give)."""
    xs = np.arange(w, dtype=np.float32)
    u = 0.5 * (xs // 8) + 0.01 * (xs % 8)
    return np.stack([np.broadcast_to(u, (h, w)), np.zeros((h, w))]).astype(np.float32)


def test_guided_filter_keeps_a_constant_flow():
    flow = np.full((2, 16, 24), 3.0, np.float32)
    guide = np.random.default_rng(0).random((16, 24))
    out = guided_filter(flow, guide, 3, 1e-3)
    assert out.shape == (2, 16, 24) and out.dtype == np.float32 and np.allclose(out, flow, atol=1e-4)


def test_deblocking_smooths_the_cell_steps_on_a_flat_frame_and_keeps_the_motion():
    flow = _blocky_ramp()
    flat = np.full((32, 64, 3), 128, np.uint8)
    out = deblock_flow(flow, flat, radius=4)
    assert _blockiness(flow) > 8 and _blockiness(out[..., 8:-8]) < 1.5  # away from the replicated borders
    assert abs(float(out[0, :, 8:-8].mean() - flow[0, :, 8:-8].mean())) < 0.05
    assert deblock_flow(flow, flat, radius=0) is flow


def test_deblocking_keeps_a_motion_edge_that_lies_on_an_image_edge():
    flow = np.zeros((2, 32, 64), np.float32)
    flow[0, :, 29:] = 5.0  # the step is inside a cell (29 % 8 = 5): the image says where it belongs
    img = np.zeros((32, 64, 3), np.uint8)
    img[:, 29:] = 255
    assert np.allclose(deblock_flow(flow, img, radius=4), flow, atol=0.05)
    flat = np.full((32, 64, 3), 128, np.uint8)  # without the image edge the step is smoothed over
    assert not np.allclose(deblock_flow(flow, flat, radius=4), flow, atol=0.5)


def test_segments_that_keep_the_network_flow_get_the_raw_flow_and_fits_read_the_flow(non_affine_case):
    img0, img1, bend, labels = non_affine_case
    raw = bend + np.float32(0.01)
    out = refine_flow(img0, img1, bend, labels, RefineConfig(mode="fuse", variational_iters=0), raw_flow=raw)
    assert np.array_equal(out, raw)  # the bend is not affine: the segment keeps the (raw) network flow
    assert refine_flow(img0, img1, bend, None, raw_flow=raw) is raw  # no labels: nothing is fitted
    assert refine_flow(img0, img1, bend, labels, RefineConfig(mode="none"), raw_flow=raw) is raw
    # an affine motion is fitted from `flow`, whatever the raw flow says (no polish: it would align the frames)
    shift = np.zeros_like(bend)
    shift[0] = 2.0
    cfg = RefineConfig(mode="affine", polish_iters=0)
    fitted = refine_flow(img0, img1, shift, labels, cfg, raw_flow=np.zeros_like(bend))
    assert np.allclose(fitted, shift, atol=1e-3)
    with pytest.raises(InputError, match="raw flow"):
        refine_flow(img0, img1, bend, labels, raw_flow=bend[:, :-1])


def test_the_predictor_deblocks_the_network_flow_only_when_asked():
    rng = np.random.default_rng(0)
    big = (rng.random((72, 104, 3)) * 255).astype(np.uint8)
    a, b = np.ascontiguousarray(big[4:68, 4:100]), np.ascontiguousarray(big[4:68, 2:98])
    torch.manual_seed(0)
    model = build("AniFlowFormerTV3-test")
    none = RefineConfig(mode="none")
    plain = FlowPredictor(model, None, none, deblock_radius=0)(a, b)
    smooth = FlowPredictor(model, None, none, deblock_radius=2)(a, b)
    tensor = lambda x: torch.from_numpy(x).permute(2, 0, 1)[None].float() / 255  # noqa: E731
    with torch.inference_mode():
        net = model(tensor(a), tensor(b))["flow"][0].numpy()
    assert np.allclose(plain, net, atol=1e-5)
    assert np.allclose(smooth, deblock_flow(net, a, 2), atol=1e-5)
    assert not np.allclose(smooth, plain, atol=1e-3)
