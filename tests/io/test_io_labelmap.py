"""Label maps: 16-bit PNG round trip of 0..65535; colour, float and out-of-range input refused."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from segcorr.errors import InputError
from segcorr.io.labelmap import labelmap_bytes, read_labelmap, write_labelmap


@settings(max_examples=40, deadline=None)
@given(hnp.arrays(np.int64, st.tuples(st.integers(1, 10), st.integers(1, 10)), elements=st.integers(0, 65535)))
def test_round_trip_full_range(tmp_path_factory, labels):
    path = tmp_path_factory.mktemp("lm") / "l.png"
    write_labelmap(path, labels)
    back = read_labelmap(path)
    assert back.dtype == np.int32 and np.array_equal(back, labels)
    assert cv2.imread(str(path), cv2.IMREAD_UNCHANGED).dtype == np.uint16  # 16-bit even for small ids


def test_8bit_grey_accepted_colour_refused(tmp_path):
    cv2.imwrite(str(tmp_path / "g.png"), np.array([[0, 3], [255, 7]], np.uint8))
    assert read_labelmap(tmp_path / "g.png").tolist() == [[0, 3], [255, 7]]
    cv2.imwrite(str(tmp_path / "c.png"), np.zeros((2, 2, 3), np.uint8))
    with pytest.raises(InputError, match="single-channel.*3 channels"):
        read_labelmap(tmp_path / "c.png")


def test_bad_values_refused_and_nothing_written(tmp_path):
    with pytest.raises(InputError, match="0..65535.*-1"):
        write_labelmap(tmp_path / "a.png", np.array([[-1, 2]]))
    with pytest.raises(InputError, match="65536"):
        write_labelmap(tmp_path / "a.png", np.array([[65536]]))
    with pytest.raises(InputError, match="integer"):
        write_labelmap(tmp_path / "a.png", np.array([[1.5]]))
    with pytest.raises(InputError, match=".png"):
        write_labelmap(tmp_path / "a.jpg", np.array([[1]]))
    assert list(tmp_path.iterdir()) == []


@settings(max_examples=30, deadline=None)
@given(st.data())
def test_corrupt_files_raise_only_input_error(tmp_path_factory, data):
    good = labelmap_bytes(np.arange(30, dtype=np.int32).reshape(5, 6) * 1000)
    cut = data.draw(st.integers(0, len(good) - 1))
    pos = data.draw(st.integers(0, len(good) - 1))
    flipped = bytearray(good)
    flipped[pos] ^= data.draw(st.integers(1, 255))
    d = tmp_path_factory.mktemp("lm")
    for i, blob in enumerate((good[:cut], bytes(flipped), data.draw(st.binary(max_size=100)))):
        p = d / f"{i}.png"
        p.write_bytes(blob)
        try:
            out = read_labelmap(p)
        except InputError:
            continue
        assert out.dtype == np.int32 and out.ndim == 2
