"""Coarse dual-softmax matching (dense and chunked paths) and fine sub-pixel refinement."""

import pytest
import torch
from asmamba_pairs import one_thread  # noqa: F401 (autouse fixture)
from torch import nn

from segcorr.matching.coarse import CoarseMatcher
from segcorr.matching.fine import FineMatcher


def _feats(seed=0):
    g = torch.Generator().manual_seed(seed)
    f0 = torch.randn(2, 8, 5, 6, generator=g)
    # image 1 holds noisy copies of image 0's features, so many pairs are confident and mutual
    f1 = f0[:, :, :, :5].clone() + 0.3 * torch.randn(2, 8, 5, 5, generator=g)
    return f0 * 3, f1 * 3


def test_conf_matrix_is_the_product_of_row_and_column_softmaxes():
    cm = CoarseMatcher(temperature=0.5)
    f0, f1 = _feats()
    t0, t1 = f0.flatten(2).transpose(1, 2), f1.flatten(2).transpose(1, 2)
    s = t0 @ t1.transpose(1, 2) / (8 * 0.5)
    want = torch.softmax(s, 2) * torch.softmax(s, 1)
    torch.testing.assert_close(cm.conf_matrix(t0, t1), want)


@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("threshold", [0.0, 0.05])
def test_dense_and_chunked_paths_give_the_same_matches(masked, threshold):
    cm = CoarseMatcher(threshold=threshold, chunk_rows=7).eval()
    f0, f1 = _feats(1)
    m0 = m1 = None
    if masked:
        m0 = torch.ones(2, 5, 6, dtype=torch.bool)
        m0[:, :, 4:] = False
        m1 = torch.ones(2, 5, 5, dtype=torch.bool)
        m1[0, 0] = False
    with torch.no_grad():
        t0, t1 = f0.flatten(2).transpose(1, 2), f1.flatten(2).transpose(1, 2)
        mm0 = None if m0 is None else m0.flatten(1)
        mm1 = None if m1 is None else m1.flatten(1)
        ref = CoarseMatcher.mutual_from_dense(cm.conf_matrix(t0, t1, mm0, mm1), threshold, mm0, mm1)
        stored = cm(f0, f1, m0, m1, dense=True, return_conf=True)
        recomputed = cm(f0, f1, m0, m1, dense=False)
    assert len(ref[0]) > 3
    for out in (stored, recomputed):
        for k, r in zip(("b_ids", "i_ids", "j_ids"), ref[:3]):
            assert torch.equal(out[k], r), k
        torch.testing.assert_close(out["mconf"], ref[3])
    torch.testing.assert_close(stored["conf_matrix"], cm.conf_matrix(t0, t1, mm0, mm1))
    assert "conf_matrix" not in recomputed
    if masked:
        assert (stored["i_ids"] % 6 < 4).all()


@pytest.mark.parametrize("threshold", [0.02, 0.2, 0.6])
def test_one_pass_path_gives_the_dense_matches_with_ties_masks_and_a_ragged_last_block(threshold):
    """Inference with a threshold > 0 keeps no matrix (``_sparse``): it must give the dense path's matches exactly,
    also when a row ties between two identical columns (the first column wins, as ``max`` picks), with padding, a
    batch of two and a row count that is not a multiple of ``chunk_rows`` (more than ``_BLOCK`` columns, plus a
    remainder)."""
    g = torch.Generator().manual_seed(3)
    f0 = torch.nn.functional.normalize(torch.randn(2, 16, 9, 11, generator=g), dim=1) * 6
    f1 = torch.nn.functional.normalize(
        torch.cat([f0, f0[:, :, :, :3]], 3) + 0.2 * torch.randn(2, 16, 9, 14, generator=g), dim=1
    )
    f1 = f1 * 6
    f1[:, :, 0, 1] = f1[:, :, 0, 0]  # identical columns 0 and 1: their rows tie
    m0 = torch.ones(2, 9, 11, dtype=torch.bool)
    m0[1, 8] = False
    m1 = torch.ones(2, 9, 14, dtype=torch.bool)
    m1[0, :, 13] = False
    cm = CoarseMatcher(temperature=0.1, chunk_rows=10).eval()
    with torch.no_grad():
        for masks in ((None, None), (m0, m1)):
            one_pass = cm(f0, f1, *masks, threshold=threshold)
            dense = cm(f0, f1, *masks, threshold=threshold, return_conf=True)
            assert len(one_pass["i_ids"]) > 5
            for k in ("b_ids", "i_ids", "j_ids", "mconf"):
                assert torch.equal(one_pass[k], dense[k]), k
            assert "conf_matrix" not in one_pass


def test_chunked_path_is_exact_for_columns_far_below_the_rest():
    """A column whose every similarity lies ~200 below the largest (its sum underflows in the one-exp pass) gets
    its exact log-sum-exp: the stored log-confidences equal the dense ones there too."""
    cm = CoarseMatcher(temperature=0.5, chunk_rows=4).eval()
    f0, f1 = (f.abs() for f in _feats(2))  # positive features: positive similarities...
    f1[0, :, 1, 2] *= -40  # ...except with this cell
    t0, t1 = f0.flatten(2).transpose(1, 2), f1.flatten(2).transpose(1, 2)
    with torch.no_grad():
        s = cm.similarity(t0, t1)
        assert s[0, :, 7].max() < s[0].max() - 100  # the case under test
        want = torch.log(cm.conf_matrix(t0, t1).clamp(min=1e-38))
        got = cm(f0, f1, dense=True, return_conf=True)["conf_matrix"].clamp(min=1e-38).log()
    finite = want > -80
    torch.testing.assert_close(got[finite], want[finite], atol=1e-3, rtol=1e-4)
    assert torch.isfinite(got).all()


def test_training_path_keeps_the_gradient_of_the_conf_matrix():
    cm = CoarseMatcher()
    f0, f1 = _feats()
    f0.requires_grad_(True)
    out = cm(f0, f1)
    out["conf_matrix"].sum().backward()
    assert f0.grad is not None and cm.log_temperature.grad is not None


def test_fine_window_gather_reads_the_right_pixels():
    fm = FineMatcher(4, 4, window=6)
    feat = torch.arange(2 * 1 * 16 * 20, dtype=torch.float32).reshape(2, 1, 16, 20)
    got = fm._gather(feat, torch.tensor([1]), torch.tensor([3]), torch.tensor([-1]), 6)[0, :, 0].reshape(6, 6)
    want = torch.zeros(6, 6)
    want[1:, :] = feat[1, 0, 0:5, 3:9]
    torch.testing.assert_close(got, want)


@pytest.mark.parametrize("channels_last", [False, True])
def test_fine_window_gather_equals_a_zero_padded_map_at_every_border(channels_last):
    fm = FineMatcher(4, 4, window=6)
    feat = torch.randn(2, 3, 16, 20)
    if channels_last:  # what the encoder produces: the gather reads it in place
        feat = feat.contiguous(memory_format=torch.channels_last)
    b = torch.tensor([0, 1, 1, 0, 1, 0])
    x0 = torch.tensor([-4, 17, 5, -6, 19, 7])  # left edge, right edge, inside, wholly left, wholly right, inside
    y0 = torch.tensor([2, -3, 13, 5, 0, 4])  # inside, top edge, bottom edge, ...
    got = fm._gather(feat, b, x0, y0, 6)  # [6, 36, 3]
    pad = torch.nn.functional.pad(feat, (6, 6, 6, 6))
    for m in range(6):
        win = pad[b[m], :, y0[m] + 6 : y0[m] + 12, x0[m] + 6 : x0[m] + 12]  # [3, 6, 6]
        torch.testing.assert_close(got[m], win.reshape(3, 36).T)


def test_fine_refinement_finds_the_matching_pixel_in_the_window():
    torch.manual_seed(0)
    fm = FineMatcher(4, 4, window=6)
    fm.q_mlp = nn.Identity()
    with torch.no_grad():
        for lin in (fm.q_coarse, fm.k_coarse):
            lin.weight.zero_()
            lin.bias.zero_()
        fm.log_scale.fill_(4.0)
    v = torch.tensor([1.0, -1.0, 2.0, 0.5])
    ff0 = torch.zeros(1, 4, 16, 16)
    ff0[0, :, 5:7, 9:11] = v[:, None, None]  # 2x2 centre of coarse cell (x=2, y=1): fine pixels 9..10, 5..6
    ff1 = torch.zeros(1, 4, 16, 16)
    ff1[0, :, 2, 7] = v * 3  # window of coarse cell (x=1, y=0) spans fine x 3..8, y -1..4
    m = torch.zeros(1, 4, 4, 4)
    out = fm(ff0, ff1, m, m, torch.tensor([0]), torch.tensor([1 * 4 + 2]), torch.tensor([0 * 4 + 1]))
    torch.testing.assert_close(out["mkpts0_f"], torch.tensor([[2 * 8 + 3.5, 1 * 8 + 3.5]]))
    # fine pixel (7, 2) has its centre at input (14.5, 4.5)
    torch.testing.assert_close(out["mkpts1_f"], torch.tensor([[14.5, 4.5]]), atol=1e-3, rtol=0)
    torch.testing.assert_close(out["centre1"], torch.tensor([[11.5, 3.5]]))
    assert out["expec_f"][0, 2] < 0.05  # a peaked heatmap has a small spread


def test_fine_window_must_be_even():
    with pytest.raises(ValueError, match="even"):
        FineMatcher(4, 4, window=5)
