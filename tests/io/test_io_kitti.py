"""KITTI flow PNG: (u, v, valid) in the file's R, G, B channels, value = flow * 64 + 2**15."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from segcorr.errors import InputError
from segcorr.io.kitti import read_kitti_flow, write_kitti_flow


@settings(max_examples=30, deadline=None)
@given(
    hnp.arrays(
        np.float32, st.tuples(st.just(2), st.integers(1, 8), st.integers(1, 8)), elements=st.floats(-500, 500, width=32)
    ),
    st.data(),
)
def test_round_trip_within_quantisation(tmp_path_factory, flow, data):
    valid = data.draw(hnp.arrays(np.bool_, flow.shape[1:]))
    path = tmp_path_factory.mktemp("k") / "f.png"
    write_kitti_flow(path, flow, valid)
    back, v = read_kitti_flow(path)
    assert back.dtype == np.float32 and back.shape == flow.shape
    assert np.array_equal(v, valid)
    assert np.all(np.abs(back - flow)[:, valid] <= 1 / 128 + 1e-6)
    assert np.all(back[:, ~valid] == 0)


def test_channel_order_matches_kitti_files(tmp_path):
    # A file written the way KITTI's devkit writes it: R = u, G = v, B = valid (OpenCV takes BGR).
    bgr = np.zeros((1, 1, 3), np.uint16)
    bgr[0, 0] = (1, 2**15 - 64, 2**15 + 128)  # valid, v = -1, u = +2
    cv2.imwrite(str(tmp_path / "k.png"), bgr)
    flow, valid = read_kitti_flow(tmp_path / "k.png")
    assert flow[:, 0, 0].tolist() == [2.0, -1.0] and valid[0, 0]


def test_non_finite_flow_becomes_invalid(tmp_path):
    flow = np.zeros((2, 1, 2), np.float32)
    flow[0, 0, 1] = np.nan
    write_kitti_flow(tmp_path / "k.png", flow)
    _, valid = read_kitti_flow(tmp_path / "k.png")
    assert valid.tolist() == [[True, False]]


def test_8bit_png_refused(tmp_path):
    cv2.imwrite(str(tmp_path / "a.png"), np.zeros((3, 3, 3), np.uint8))
    with pytest.raises(InputError, match="16-bit 3-channel"):
        read_kitti_flow(tmp_path / "a.png")
    (tmp_path / "b.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 30)
    with pytest.raises(InputError):
        read_kitti_flow(tmp_path / "b.png")
