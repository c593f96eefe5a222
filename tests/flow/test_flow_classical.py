"""Classical OpenCV flow: conventions, accuracy on a known translation, bad input."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from segcorr.errors import InputError
from segcorr.flow.classical import METHODS, estimate_flow


def _shifted_pair(dx: int, dy: int, h: int = 64, w: int = 80, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A smooth random texture and the same texture moved by (dx, dy): GT flow is (dx, dy) inside."""
    rng = np.random.default_rng(seed)
    big = cv2.GaussianBlur(rng.uniform(0, 255, (h + 20, w + 20)).astype(np.float32), (0, 0), 2.0)
    big = cv2.normalize(big, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
    img0 = big[10 : 10 + h, 10 : 10 + w]
    img1 = big[10 - dy : 10 - dy + h, 10 - dx : 10 - dx + w]  # img1(x + dx) = img0(x)
    return np.repeat(img0[..., None], 3, 2), np.repeat(img1[..., None], 3, 2)


def test_methods_list_is_the_contract():
    assert METHODS == ("zero", "farneback", "dis-ultrafast", "dis-fast", "dis-medium")


def test_zero_method_returns_zeros_of_channel_first_shape():
    a, b = _shifted_pair(2, 1)
    f = estimate_flow(a, b, "zero")
    assert f.shape == (2, 64, 80) and f.dtype == np.float32 and not f.any()


@pytest.mark.parametrize("method", ["farneback", "dis-ultrafast", "dis-fast", "dis-medium"])
def test_recovers_known_translation_as_u_then_v(method):
    a, b = _shifted_pair(3, -2)
    f = estimate_flow(a, b, method)
    assert f.shape == (2, 64, 80) and f.dtype == np.float32
    inner = f[:, 12:-12, 12:-12]
    assert abs(np.median(inner[0]) - 3) < 0.5, np.median(inner[0])
    assert abs(np.median(inner[1]) + 2) < 0.5, np.median(inner[1])


def test_grey_input_equals_rgb_of_same_grey():
    a, b = _shifted_pair(1, 1)
    np.testing.assert_array_equal(estimate_flow(a, b, "dis-fast"), estimate_flow(a[..., 0], b[..., 0], "dis-fast"))


def test_unknown_method_lists_known_ones():
    a, b = _shifted_pair(1, 1)
    with pytest.raises(InputError, match="dis-medium"):
        estimate_flow(a, b, "raft")


def test_size_mismatch_is_input_error():
    a, b = _shifted_pair(1, 1)
    with pytest.raises(InputError, match="differ in size"):
        estimate_flow(a, b[:-1], "dis-fast")


def test_float_or_4_channel_images_are_input_errors():
    a, b = _shifted_pair(1, 1)
    with pytest.raises(InputError, match="uint8"):
        estimate_flow(a.astype(np.float32), b, "zero")
    with pytest.raises(InputError, match="shape"):
        estimate_flow(np.zeros((64, 80, 4), np.uint8), b, "zero")


@pytest.mark.parametrize("method", ["dis-medium", "dis-fast"])
def test_initial_flow_is_refined_not_ignored(method):
    # demo seed 2: a striped floor, where DIS from zero locks onto an aliased motion; started from the true
    # flow it must stay closer to it, and the start must change the result
    from segcorr.data.synth import make_cel_pair

    p = make_cel_pair(2, 192, 256)
    epe = lambda f: float(np.linalg.norm(f - p.flow_fw, axis=0).mean())  # noqa: E731
    cold = estimate_flow(p.img0, p.img1, method)
    warm = estimate_flow(p.img0, p.img1, method, init=p.flow_fw)
    assert warm.shape == cold.shape == p.flow_fw.shape and warm.dtype == np.float32
    assert epe(warm) < 0.8 * epe(cold)
    with pytest.raises(InputError, match="init flow"):
        estimate_flow(p.img0, p.img1, method, init=p.flow_fw[:, :10])


def test_farneback_uses_the_initial_flow_and_zero_ignores_it():
    from segcorr.data.synth import make_cel_pair

    p = make_cel_pair(2, 192, 256)
    cold = estimate_flow(p.img0, p.img1, "farneback")
    assert not np.allclose(estimate_flow(p.img0, p.img1, "farneback", init=p.flow_fw), cold)
    assert np.array_equal(estimate_flow(p.img0, p.img1, "zero", init=p.flow_fw), np.zeros_like(p.flow_fw))


@pytest.mark.parametrize("method", ["dis-ultrafast", "dis-fast", "dis-medium"])
def test_dis_on_frames_smaller_than_opencv_handles(method):
    """OpenCV's DIS kills the process on frames like 8x8 or 24x100; they are padded, and a shift is still found."""
    rng = np.random.default_rng(3)
    big = cv2.GaussianBlur(rng.integers(0, 256, (60, 160), dtype=np.uint8), (5, 5), 0)
    a, b = big[10:34, 10:110], big[10:34, 8:108]  # 24x100: a(x) = b(x + 2)
    flow = estimate_flow(a, b, method)
    assert flow.shape == (2, 24, 100) and flow.flags.c_contiguous
    assert abs(float(np.median(flow[0])) - 2.0) < 0.5 and abs(float(np.median(flow[1]))) < 0.5
    for h, w in [(1, 1), (2, 200), (8, 8)]:
        img = rng.integers(0, 256, (h, w), dtype=np.uint8)
        out = estimate_flow(img, img, method, init=np.zeros((2, h, w), np.float32))
        assert out.shape == (2, h, w) and np.isfinite(out).all()
