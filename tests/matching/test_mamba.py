"""Selective scan backends and the packed Mamba mixer, against a naive loop and against ``mambapy``."""

import pytest
import torch
from asmamba_pairs import one_thread  # noqa: F401 (autouse fixture)

from segcorr.matching.mamba import Mamba, MultiHeadMamba
from segcorr.matching.selective_scan import scan_parallel, scan_sequential, selective_scan


def _scan_inputs(bt=3, length=37, groups=2, e=5, n=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    u = torch.randn(bt, length, groups, e, generator=g)
    delta = torch.rand(bt, length, groups, e, generator=g) * 0.5 + 0.01
    a = -torch.rand(groups, e, n, generator=g) * 3 - 0.1
    b = torch.randn(bt, length, groups, n, generator=g)
    c = torch.randn(bt, length, groups, n, generator=g)
    d = torch.randn(groups, e, generator=g)
    return u, delta, a, b, c, d


def _naive(u, delta, a, b, c, d):
    """The recurrence written out, one sequence, group, channel and state at a time (vectorised only over them)."""
    h = torch.zeros(u.shape[0], u.shape[2], u.shape[3], a.shape[-1])
    ys = []
    for t in range(u.shape[1]):
        da = torch.exp(delta[:, t, :, :, None] * a)
        h = da * h + (delta[:, t] * u[:, t])[..., None] * b[:, t, :, None, :]
        ys.append((h * c[:, t, :, None, :]).sum(-1) + d * u[:, t])
    return torch.stack(ys, 1)


@pytest.mark.parametrize("length", [1, 2, 5, 37, 64, 130])
@pytest.mark.parametrize("groups", [1, 3])
def test_both_backends_equal_the_recurrence(length, groups):
    args = _scan_inputs(length=length, groups=groups)
    ref = _naive(*args)
    torch.testing.assert_close(scan_sequential(*args, chunk=16), ref, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(scan_parallel(*args), ref, atol=1e-5, rtol=1e-5)
    with torch.no_grad():  # the in-place inference path
        torch.testing.assert_close(scan_sequential(*args, chunk=16), ref, atol=1e-5, rtol=1e-5)
        for scan in (scan_sequential, scan_parallel):
            torch.testing.assert_close(scan(*args, last_only=True), ref[:, -1], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("last_only", [False, True])
def test_backends_have_equal_gradients(last_only):
    args = [t.clone().requires_grad_(True) for t in _scan_inputs(length=23)]
    grads = []
    for backend in ("sequential", "parallel"):
        for t in args:
            t.grad = None
        y = selective_scan(*args, backend=backend, last_only=last_only)
        (y * torch.linspace(-1, 1, y.numel()).reshape(y.shape)).sum().backward()
        grads.append([t.grad.clone() for t in args])
    for gs, gp in zip(*grads):
        torch.testing.assert_close(gs, gp, atol=1e-5, rtol=1e-4)


def test_unknown_backend_is_an_error():
    with pytest.raises(ValueError, match="backend"):
        selective_scan(*_scan_inputs(length=3), backend="cuda")


def _mambapy_block(d_model, d_state, expand, d_conv, dt_rank, pscan):
    from mambapy.mamba import MambaBlock, MambaConfig  # the `test` extra's oracle

    cfg = MambaConfig(
        d_model=d_model, n_layers=1, d_state=d_state, expand_factor=expand, d_conv=d_conv, dt_rank=dt_rank, pscan=pscan
    )
    return MambaBlock(cfg)


def _copy_group(ours: Mamba, g: int, ref) -> None:
    e = ours.d_inner
    with torch.no_grad():
        ref.in_proj.weight.copy_(ours.in_proj[g])
        ref.conv1d.weight.copy_(ours.conv_weight[g * e : (g + 1) * e])
        ref.conv1d.bias.copy_(ours.conv_bias[g * e : (g + 1) * e])
        ref.x_proj.weight.copy_(ours.x_proj[g])
        ref.dt_proj.weight.copy_(ours.dt_proj_weight[g])
        ref.dt_proj.bias.copy_(ours.dt_proj_bias[g])
        ref.A_log.copy_(ours.A_log[g])
        ref.D.copy_(ours.D[g])
        ref.out_proj.weight.copy_(ours.out_proj[g])


@pytest.mark.parametrize("backend", ["sequential", "parallel"])
@pytest.mark.parametrize("groups", [1, 3])
def test_each_packed_mixer_equals_mambapy_block(backend, groups):
    torch.manual_seed(0)
    ours = Mamba(12, groups=groups, d_state=6, d_conv=3, expand=2, dt_rank=2, backend=backend)
    with torch.no_grad():  # move A and D off their initial values so the test covers their use
        ours.A_log.add_(torch.randn_like(ours.A_log) * 0.3)
        ours.D.add_(torch.randn_like(ours.D))
    x = torch.randn(2, 16, groups, 12)
    y = ours(x)
    assert y.shape == x.shape
    torch.testing.assert_close(ours(x, last_only=True), y[:, -1], atol=1e-5, rtol=1e-4)
    for g in range(groups):
        ref = _mambapy_block(12, 6, 2, 3, 2, pscan=True)  # mambapy's pscan needs no padding at L = 16
        _copy_group(ours, g, ref)
        torch.testing.assert_close(y[:, :, g], ref(x[:, :, g]), atol=1e-5, rtol=1e-4)


def test_mixer_equals_mambapy_sequential_at_odd_length():
    torch.manual_seed(1)
    ours = Mamba(8, d_state=4, backend="sequential")
    ref = _mambapy_block(8, 4, 2, 4, 1, pscan=False)
    _copy_group(ours, 0, ref)
    x = torch.randn(3, 29, 1, 8)
    torch.testing.assert_close(ours(x)[:, :, 0], ref(x[:, :, 0]), atol=1e-5, rtol=1e-4)


def test_mixer_is_causal():
    torch.manual_seed(2)
    m = Mamba(8, groups=2, d_state=4).eval()
    x = torch.randn(1, 20, 2, 8)
    x2 = x.clone()
    x2[:, 12:] = torch.randn(1, 8, 2, 8)
    with torch.no_grad():
        y, y2 = m(x), m(x2)
    torch.testing.assert_close(y[:, :12], y2[:, :12])
    assert not torch.allclose(y[:, 12:], y2[:, 12:])


def test_multihead_mamba_runs_each_head_on_its_own_channels():
    torch.manual_seed(3)
    mh = MultiHeadMamba(12, heads=3, d_state=4)
    x = torch.randn(5, 7, 12)
    y = mh(x)
    assert y.shape == x.shape
    # changing the channels of head 0 leaves heads 1 and 2 unchanged
    x2 = x.clone()
    x2[..., :4] += 1.0
    y2 = mh(x2)
    torch.testing.assert_close(y[..., 4:], y2[..., 4:])
    assert not torch.allclose(y[..., :4], y2[..., :4])
