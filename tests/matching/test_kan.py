"""KAN flow head and its parameter-matched MLP."""

import pytest
import torch
from asmamba_pairs import one_thread  # noqa: F401 (autouse fixture)

from segcorr.matching import build
from segcorr.matching.block import FlowHead
from segcorr.matching.kan import KAN, MLP, RBFKANLayer, kan_param_count, mlp_hidden_for


def _count(m):
    return sum(p.numel() for p in m.parameters())


@pytest.mark.parametrize("dims,basis", [([160, 16, 4], 8), ([24, 4, 4], 4), ([40, 8, 4], 6)])
def test_kan_param_count_formula_and_mlp_within_5_percent(dims, basis):
    kan = KAN(dims, basis)
    assert _count(kan) == kan_param_count(dims, basis)
    mlp = MLP(dims[0], mlp_hidden_for(dims[0], dims[-1], _count(kan)), dims[-1])
    assert abs(_count(mlp) - _count(kan)) <= 0.05 * _count(kan)


@pytest.mark.parametrize("name", ["as_mamba_tiny", "as_mamba-test"])
def test_the_two_flow_heads_of_a_registry_model_have_equal_size(name):
    kan = _count(build(name).blocks[0].flow.head)
    mlp = _count(build(name, flow_head="mlp").blocks[0].flow.head)
    assert abs(kan - mlp) <= 0.05 * kan


def test_rbf_basis_is_a_smooth_bump_per_centre():
    layer = RBFKANLayer(1, 1, num_basis=5)
    # the bump of centre c_k peaks where the normalised input equals c_k
    x = torch.linspace(-2, 2, 5)
    phi = torch.exp(-(((x[:, None] - layer.centres) * layer.inv_width) ** 2))
    torch.testing.assert_close(phi.diagonal(), torch.ones(5))
    assert (phi - torch.eye(5)).abs().max() < 0.4


def test_kan_output_shape_and_gradients():
    kan = KAN([6, 5, 3], 4)
    x = torch.randn(2, 7, 6, requires_grad=True)
    y = kan(x)
    assert y.shape == (2, 7, 3)
    y.sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in kan.parameters())


def test_flow_head_anchor_is_the_soft_assigned_position():
    torch.manual_seed(0)
    head = FlowHead(8, 4, "kan", hidden=4, num_basis=4)
    with torch.no_grad():  # no residual: the output position is the anchor alone
        for layer in head.head.layers[-1:]:
            layer.base.weight.zero_()
            layer.base.bias.zero_()
            layer.spline.weight.zero_()
    fm = torch.randn(1, 8, 4, 4)
    glob = torch.zeros(1, 8, 2, 3)
    phi = head(fm, torch.randn(1, 4, 4, 4), glob, (8, 12))
    # equal keys -> uniform assignment -> mean of the global tokens' centres in the 8 x 12 grid
    torch.testing.assert_close(phi[..., :2], torch.tensor([5.5, 3.5]).expand(1, 4, 4, 2))
    assert phi.shape == (1, 4, 4, 4) and (phi[..., 2:] == 0).all()
