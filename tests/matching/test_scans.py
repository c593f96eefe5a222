"""Scan orders (row-major, Hilbert, four directions) and the JEGO joint scan of two grids."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from segcorr.matching.jego import JEGOMamba, jego_indices, jego_merge, jego_scan
from segcorr.matching.scans import four_directions, grid_order, hilbert_order

SIZES = [(1, 1), (1, 7), (7, 1), (5, 3), (4, 4), (6, 10), (60, 80), (15, 20)]


@pytest.mark.parametrize("kind", ["rowmajor", "hilbert"])
@pytest.mark.parametrize("hw", SIZES)
def test_every_order_is_a_permutation(kind, hw):
    h, w = hw
    order = grid_order(h, w, kind)
    assert order.dtype == np.int64 and sorted(order.tolist()) == list(range(h * w))
    dirs = four_directions(h, w, kind)
    assert dirs.shape == (4, h * w)
    for d in dirs:
        assert sorted(d.tolist()) == list(range(h * w))


@pytest.mark.parametrize("n", [1, 2, 4, 8, 16, 32])
def test_hilbert_has_unit_steps_on_power_of_two_grids(n):
    order = hilbert_order(n, n)
    y, x = np.divmod(order, n)
    steps = np.abs(np.diff(y)) + np.abs(np.diff(x))
    assert (steps == 1).all()


def test_hilbert_keeps_neighbours_closer_than_rowmajor_on_other_sizes():
    def mean_distance_16_steps_apart(order, w):
        y, x = np.divmod(order, w)
        return float(np.mean(np.abs(y[16:] - y[:-16]) + np.abs(x[16:] - x[:-16])))

    hil = mean_distance_16_steps_apart(hilbert_order(60, 80), 80)
    assert hil < 0.5 * mean_distance_16_steps_apart(grid_order(60, 80, "rowmajor"), 80)


def test_four_directions_are_forward_transposed_and_reversed():
    d = four_directions(2, 3, "rowmajor")
    assert d[0].tolist() == [0, 1, 2, 3, 4, 5]
    assert d[1].tolist() == [0, 3, 1, 4, 2, 5]  # column-major
    assert d[2].tolist() == d[0][::-1].tolist() and d[3].tolist() == d[1][::-1].tolist()


def test_orders_are_cached_and_read_only():
    assert hilbert_order(12, 9) is hilbert_order(12, 9)
    with pytest.raises(ValueError):
        hilbert_order(4, 4)[0] = 1


def test_unknown_order_is_an_error():
    with pytest.raises(ValueError, match="scan order"):
        grid_order(3, 3, "zigzag")


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 9), st.integers(1, 9), st.integers(1, 9), st.integers(1, 9), st.sampled_from(["rowmajor", "hilbert"])
)
def test_jego_puts_every_token_of_both_images_in_exactly_one_sequence(h0, w0, h1, w1, order):
    seq, inv = jego_indices(h0, w0, h1, w1, order)
    n = h0 * w0 + h1 * w1
    real = seq[seq < n]
    assert sorted(real.tolist()) == list(range(n))
    # padding only at the ends of sequences (the scan is causal: end padding cannot touch real tokens)
    for s in seq:
        pad = s == n
        assert not pad.any() or pad[np.argmax(pad) :].all()
    assert (seq.reshape(-1)[inv] == np.arange(n)).all()


def test_jego_sequences_alternate_between_the_images():
    seq, _ = jego_indices(4, 4, 4, 4, "rowmajor")
    n0 = 16
    # direction 0: row 0 of image 0 at even columns, then row 0 of image 1 at even columns, then row 2 ...
    assert seq[0, :4].tolist() == [0, 2, n0 + 0, n0 + 2]
    # direction 1: column 1 of image 0 at odd rows, then column 1 of image 1 at odd rows
    assert seq[1, :4].tolist() == [5, 13, n0 + 5, n0 + 13]
    for s in seq:
        assert (s < n0).any() and (s >= n0).any()


def test_jego_scan_and_merge_round_trip_with_different_sizes():
    f0, f1 = torch.randn(2, 3, 5, 4), torch.randn(2, 3, 3, 7)
    seqs, inv = jego_scan(f0, f1, "hilbert")
    assert seqs.shape[0] == 2 and seqs.shape[2:] == (4, 3)
    g0, g1 = jego_merge(seqs, inv, (5, 4), (3, 7))
    torch.testing.assert_close(g0, f0)
    torch.testing.assert_close(g1, f1)


def test_jego_mamba_mixes_the_images():
    torch.manual_seed(0)
    layer = JEGOMamba(8, d_state=4).eval()
    f0, f1 = torch.randn(1, 8, 4, 4), torch.randn(1, 8, 4, 6)
    with torch.no_grad():
        y0, y1 = layer(f0, f1)
        z0, _ = layer(f0, torch.randn(1, 8, 4, 6))
    assert y0.shape == f0.shape and y1.shape == f1.shape
    assert not torch.allclose(y0, z0)  # image 0's output depends on image 1


def test_jego_indices_cached_under_inference_mode_still_serve_training():
    """The gather/scatter tensors are cached per grid size; when the first call comes from inside
    ``torch.inference_mode`` (a benchmark, the predictor), a later training forward at that size must still work."""
    layer = JEGOMamba(8, d_state=4, expand=1)
    f0, f1 = torch.randn(1, 8, 7, 13), torch.randn(1, 8, 5, 13)  # a grid size no other test uses
    with torch.inference_mode():
        layer(f0, f1)
    y0, y1 = layer(f0.requires_grad_(), f1)
    (y0.sum() + y1.sum()).backward()
    assert f0.grad is not None and torch.isfinite(f0.grad).all()
