"""Middlebury .flo: exact round trips, and every malformed file refused with InputError."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from segcorr.errors import InputError
from segcorr.io.flo import flo_bytes, parse_flo, read_flo, write_flo

FAST = settings(max_examples=40, deadline=None)


@FAST
@given(
    hnp.arrays(
        np.float32,
        st.tuples(st.just(2), st.integers(1, 9), st.integers(1, 9)),
        elements=st.floats(width=32, allow_nan=True, allow_infinity=True),
    )
)
def test_round_trip_is_bit_exact(tmp_path_factory, flow):
    path = tmp_path_factory.mktemp("flo") / "f.flo"
    write_flo(path, flow)
    back = read_flo(path)
    assert back.dtype == np.float32 and back.shape == flow.shape
    assert np.array_equal(back.view(np.uint32), flow.view(np.uint32))


def test_layout_is_interleaved_uv_row_major():
    flow = np.zeros((2, 2, 3), np.float32)
    flow[0, 1, 2], flow[1, 1, 2] = 7.5, -3.25  # pixel (row 1, col 2)
    data = flo_bytes(flow)
    assert data[:4] == b"PIEH"
    values = np.frombuffer(data[12:], "<f4")
    assert values[2 * (1 * 3 + 2)] == 7.5 and values[2 * (1 * 3 + 2) + 1] == -3.25


def test_float64_input_is_written_as_float32(tmp_path):
    flow = np.full((2, 3, 4), 1.5e6, np.float64)
    write_flo(tmp_path / "a.flo", flow)
    assert np.array_equal(read_flo(tmp_path / "a.flo"), flow.astype(np.float32))


@FAST
@given(st.data())
def test_truncated_or_oversized_files_are_refused(data):
    good = flo_bytes(np.ones((2, 4, 5), np.float32))
    cut = data.draw(st.integers(0, len(good) - 1))
    with pytest.raises(InputError, match="truncated|at least 12 bytes"):
        parse_flo(good[:cut], "x.flo")
    extra = data.draw(st.binary(min_size=1, max_size=20))
    with pytest.raises(InputError, match="oversized"):
        parse_flo(good + extra, "x.flo")


@FAST
@given(st.binary(max_size=200))
def test_random_bytes_raise_only_input_error(blob):
    try:
        parse_flo(blob, "junk.flo")
    except InputError as e:
        assert "junk.flo" in str(e)


def test_bad_magic_and_absurd_size_are_named():
    with pytest.raises(InputError, match="magic"):
        parse_flo(b"PNG!" + bytes(20))
    header = np.float32(202021.25).astype("<f4").tobytes() + np.array([-1, 5], "<i4").tobytes()
    with pytest.raises(InputError, match="width and height"):
        parse_flo(header)
    huge = np.float32(202021.25).astype("<f4").tobytes() + np.array([2**30, 2**30], "<i4").tobytes()
    with pytest.raises(InputError, match="width and height"):
        parse_flo(huge)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(InputError, match="not found") as e:
        read_flo(tmp_path / "nope.flo")
    assert e.value.path == str(tmp_path / "nope.flo")
    with pytest.raises(InputError, match="directory"):
        read_flo(tmp_path)


def test_wrong_shape_refused_on_write(tmp_path):
    with pytest.raises(InputError, match=r"\[2, H, W\]"):
        write_flo(tmp_path / "a.flo", np.zeros((4, 5, 2), np.float32))
    assert not (tmp_path / "a.flo").exists()


def test_failed_write_keeps_old_file(tmp_path, monkeypatch):
    path = tmp_path / "a.flo"
    old = np.ones((2, 3, 3), np.float32)
    write_flo(path, old)
    import segcorr.io.atomic as atomic

    def boom(fd):
        raise OSError("disk full")

    monkeypatch.setattr(atomic.os, "fsync", boom)
    with pytest.raises(OSError, match="disk full"):
        write_flo(path, np.zeros((2, 8, 8), np.float32))
    monkeypatch.undo()
    assert np.array_equal(read_flo(path), old)
    assert [p.name for p in tmp_path.iterdir()] == ["a.flo"]  # no temp file left behind
