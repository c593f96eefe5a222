"""The refinement's label 0 ("no segment") and the sub-pixel polish of segment motions by image alignment."""

from __future__ import annotations

import numpy as np
import pytest

from segcorr.errors import InputError
from segcorr.flow.classical import estimate_flow
from segcorr.flow.refine import propagate_segments, refine_flow
from segcorr.flow.refine_config import RefineConfig
from segcorr.flow.segment_fit import affine_field
from segcorr.flow.segment_polish import polish_affines

H, W = 48, 64


def _texture(seed: int, h: int, w: int) -> np.ndarray:
    import cv2

    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (h // 4 + 2, w // 4 + 2, 3), dtype=np.uint8)
    return cv2.resize(small, (w + 8, h + 8), interpolation=cv2.INTER_CUBIC)[4 : 4 + h, 4 : 4 + w]


def _moved(img: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """Frame 1 such that frame1(x + flow(x)) = img(x) for an affine flow, approximately (inverse sampling)."""
    import cv2

    ys, xs = np.mgrid[0 : img.shape[0], 0 : img.shape[1]].astype(np.float32)
    return cv2.remap(img, xs - flow[0], ys - flow[1], cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)


def _two_motions() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A textured frame whose left and right halves move by different sub-pixel translations."""
    lab = np.zeros((H, W), np.int64)
    lab[:, W // 2 :] = 1
    params = np.array([[[0.4, 0, 0], [-0.3, 0, 0]], [[-0.6, 0, 0], [0.25, 0, 0]]])
    img0 = _texture(0, H, W)
    left, right = (
        _moved(img0, affine_field(np.zeros_like(lab), params[:1])),
        _moved(img0, affine_field(np.zeros_like(lab), params[1:])),
    )
    img1 = np.where((np.arange(W) < W // 2)[None, :, None], left, right)
    return img0, img1, lab, params


def test_polish_recovers_sub_pixel_motions_from_a_start_a_pixel_off():
    img0, img1, lab, truth = _two_motions()
    start = truth.copy()
    start[:, :, 0] += [[0.8], [-0.7]]
    out = polish_affines(img0, img1, lab, start)
    inner = np.zeros((H, W), bool)
    inner[6:-6, 6 : W // 2 - 6] = inner[6:-6, W // 2 + 6 : -6] = True  # away from the seam and the borders
    err = np.hypot(*(affine_field(lab, out) - affine_field(lab, truth)))[inner]
    assert err.mean() < 0.1
    assert np.hypot(*(affine_field(lab, start) - affine_field(lab, truth)))[inner].mean() > 0.6


def test_polish_leaves_inactive_segments_and_segments_without_signal_alone():
    img0, img1, lab, truth = _two_motions()
    start = truth + 0.5
    out = polish_affines(img0, img1, lab, start, active=np.array([True, False]))
    assert np.array_equal(out[1], start[1]) and not np.allclose(out[0], start[0])
    flat = np.full((H, W, 3), 90, np.uint8)
    assert np.allclose(polish_affines(flat, flat, lab, start), start)  # no gradient, nothing to align


def test_refine_with_polish_is_sub_pixel_where_the_fits_are_not():
    img0, img1, lab, truth = _two_motions()
    rng = np.random.default_rng(1)
    true = affine_field(lab, truth)
    net = true + np.float32(0.9) + rng.normal(0, 0.3, true.shape).astype(np.float32)  # a biased network flow
    labels = lab + 1
    inner = (slice(None), slice(6, -6), slice(6, -6))
    plain = refine_flow(img0, img1, net, labels, RefineConfig(mode="affine", polish_iters=0))
    polished = refine_flow(img0, img1, net, labels, RefineConfig(mode="affine", polish_iters=3))
    e_plain = np.hypot(*(plain - true)[inner]).mean()
    e_pol = np.hypot(*(polished - true)[inner]).mean()
    assert e_plain > 1.0 and e_pol < 0.2


def test_label_0_is_no_segment_affine_mode_keeps_the_flow_there():
    img0, img1, lab, truth = _two_motions()
    labels = (lab + 1).astype(np.int32)
    labels[10:30, 20:44] = 0  # a gap across both halves
    rng = np.random.default_rng(2)
    flow = affine_field(lab, truth) + rng.normal(0, 0.5, (2, H, W)).astype(np.float32)
    other = flow.copy()
    other[:, labels == 0] += 25.0  # a wild flow in the gap
    cfg = RefineConfig(mode="affine")
    a, b = refine_flow(img0, img1, flow, labels, cfg), refine_flow(img0, img1, other, labels, cfg)
    assert np.array_equal(a[:, labels == 0], flow[:, labels == 0])  # not fitted: kept as it is
    assert np.array_equal(a[:, labels > 0], b[:, labels > 0])  # and it does not pull on the segments' fits


def test_label_0_takes_the_classical_flow_in_fuse_mode():
    img0, img1, lab, truth = _two_motions()
    labels = (lab + 1).astype(np.int32)
    labels[10:30, 20:44] = 0
    flow = affine_field(lab, truth) + np.float32(1.5)
    out = refine_flow(img0, img1, flow, labels, RefineConfig(variational_iters=0))  # before the variational step
    dis = estimate_flow(img0, img1, "dis-medium", init=flow)
    assert np.array_equal(out[:, labels == 0], dis[:, labels == 0])


def test_propagation_never_moves_label_0_pixels():
    img0, _, lab, _ = _two_motions()
    flow = np.zeros((2, H, W), np.float32)
    flow[0], flow[1] = 0.4, -0.3
    img1 = _moved(img0, flow)  # one motion everywhere
    labels = np.where(lab == 0, 0, 5).astype(np.int32)
    wrong = flow.copy()
    wrong[:, labels == 0] = ((6.0,), (-4.0,))  # the neighbour's motion is the right one here
    out = propagate_segments(img0, img1, wrong, labels)
    assert np.array_equal(out[:, labels == 0], wrong[:, labels == 0])
    relabelled = propagate_segments(img0, img1, wrong, labels + 1)  # as a segment it is moved
    assert np.abs(relabelled[:, labels == 0] - flow[:, labels == 0]).max() < 0.1


def test_refine_config_rejects_negative_polish_iterations():
    with pytest.raises(InputError, match="polish_iters"):
        RefineConfig(polish_iters=-1)
