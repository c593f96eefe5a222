"""AniFlowFormer-T: shapes for each guidance mode, odd sizes, registry, pretrained round trip, learning."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from segcorr.errors import InputError
from segcorr.flow import build, load_pretrained, model_names, save_pretrained
from segcorr.flow.padding import Padder

MODES = ("concat", "attn_bias", "cost_mod", "obj_pool")  # the four modes of the design note, on in V3
ALL_MODES = (*MODES, "seg_upsample")


def _inputs(b: int = 1, h: int = 64, w: int = 72, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    img0 = torch.rand(b, 3, h, w, generator=g)
    img1 = torch.roll(img0, 2, -1)
    seg = torch.zeros(b, h, w, dtype=torch.long)
    seg[:, : h // 2], seg[:, h // 2 :, : w // 3], seg[:, h // 2 :, w // 3 :] = 1, 2, 3
    return img0, img1, seg


def test_registry_names():
    assert {"AniFlowFormerT", "AniFlowFormerTV3", "AniFlowFormerT-test", "AniFlowFormerTV3-test"} <= set(model_names())
    v3 = build("AniFlowFormerTV3").config
    assert v3.use_sam and v3.sam_version == 3 and all(getattr(v3, m) for m in MODES)
    assert not build("AniFlowFormerT").uses_segments


@pytest.mark.parametrize("mode", [None, *ALL_MODES, "all"])
def test_shapes_and_gradients_per_mode(mode):
    on = {m: mode in (m, "all") for m in ALL_MODES}
    model = build("AniFlowFormerTV3-test", **on) if mode else build("AniFlowFormerT-test")
    img0, img1, seg = _inputs(b=2)
    out = model(img0, img1, seg, seg)
    assert out["flow"].shape == (2, 2, 64, 72)
    assert len(out["preds"]) == model.config.iters + 1
    assert all(p.shape == (2, 2, 64, 72) for p in out["preds"])
    out["flow"].square().mean().backward()
    if mode not in (None, "attn_bias", "seg_upsample"):  # those two have no adapter parameters
        grads = [p.grad for p in model.adapter.parameters() if p.grad is not None]
        assert grads and any(float(g.abs().sum()) > 0 for g in grads)
    if mode is not None:
        model.eval()
        with torch.no_grad():
            for p in model.adapter.parameters():  # concat starts as the identity: move it off that point
                p.add_(0.05 * torch.randn_like(p))
            a = model(img0, img1, seg, seg)["flow"]
            b = model(img0, img1)["flow"]  # the same weights run without masks
        assert a.shape == b.shape and torch.isfinite(b).all()
        assert not torch.allclose(a, b), f"mode {mode} has no effect"


def test_attn_bias_weight_gets_gradient():
    model = build("AniFlowFormerTV3-test", concat=False, cost_mod=False, obj_pool=False)
    img0, img1, seg = _inputs()
    model(img0, img1, seg, seg)["flow"].square().mean().backward()
    assert float(model.matcher.layers[0].bias_scale.grad.abs()) > 0


@pytest.mark.parametrize("name", ["AniFlowFormerT-test", "AniFlowFormerTV3-test"])
def test_every_parameter_gets_a_gradient(name):
    """DDP (without find_unused_parameters) needs every parameter in the graph, for both losses."""
    model = build(name)
    img0, img1, seg = _inputs(b=2)
    model(img0, img1, seg, seg)["flow"].sum().backward()
    unused = [n for n, p in model.named_parameters() if p.grad is None]
    assert not unused


@pytest.mark.parametrize("name", ["AniFlowFormerT-test", "AniFlowFormerTV3-test"])
def test_odd_size_returns_input_size(name):
    model = build(name).eval()
    img0, img1, seg = _inputs(h=67, w=93)
    with torch.no_grad():
        out = model(img0, img1, seg, seg)
    assert out["flow"].shape == (1, 2, 67, 93) and torch.isfinite(out["flow"]).all()
    assert out["preds"][-1].shape == (1, 2, 67, 93)


def test_chunked_model_path_runs():
    model = build("AniFlowFormerTV3-test", max_dense_tokens=16, chunk_rows=20).eval()
    dense = build("AniFlowFormerTV3-test").eval()
    dense.load_state_dict(model.state_dict())
    img0, img1, seg = _inputs()
    with torch.no_grad():
        a, b = model(img0, img1, seg, seg)["flow"], dense(img0, img1, seg, seg)["flow"]
    assert torch.allclose(a, b, atol=1e-3)


def test_bad_inputs_are_rejected():
    model = build("AniFlowFormerT-test")
    with pytest.raises(ValueError, match="at least 64"):
        model(torch.rand(1, 3, 32, 80), torch.rand(1, 3, 32, 80))
    with pytest.raises(ValueError, match="label maps"):
        model(torch.rand(1, 3, 64, 64), torch.rand(1, 3, 64, 64), torch.zeros(1, 60, 64, dtype=torch.long))


def test_unknown_name_and_option_list_valid_ones():
    with pytest.raises(InputError, match="AniFlowFormerTV3"):
        build("RAFT")
    with pytest.raises(InputError, match="num_segments"):
        build("AniFlowFormerT", num_segment=8)


def test_padder_round_trip():
    pad = Padder(67, 93)
    x = torch.rand(1, 3, 67, 93)
    y = pad.pad_image(x)
    assert y.shape == (1, 3, 72, 96) and torch.equal(pad.unpad(y), x)
    s = pad.pad_labels(torch.ones(1, 67, 93, dtype=torch.long))
    assert int(s[0, 70, 95]) == 0


def test_save_and_load_pretrained_round_trip(tmp_path):
    model = build("AniFlowFormerTV3-test", iters=3).eval()
    path = save_pretrained(model, tmp_path / "m.safetensors", "AniFlowFormerTV3-test")
    loaded = load_pretrained(path)
    assert loaded.config == model.config and not loaded.training
    img0, img1, seg = _inputs()
    with torch.no_grad():
        assert torch.equal(model(img0, img1, seg, seg)["flow"], loaded(img0, img1, seg, seg)["flow"])


def test_load_pretrained_without_config_metadata_fails(tmp_path):
    from segcorr.io.weights import save_weights

    p = save_weights(build("AniFlowFormerT-test"), tmp_path / "x.safetensors", {"other": "1"})
    with pytest.raises(InputError, match="config"):
        load_pretrained(p)


def test_supervised_overfit_on_one_cel_pair():
    from segcorr.data.synth import make_cel_pair
    from segcorr.flow.losses import sequence_loss

    torch.manual_seed(0)
    pair = make_cel_pair(1_000_003, height=64, width=96)
    to_t = lambda a: torch.from_numpy(np.ascontiguousarray(a)).permute(2, 0, 1)[None].float() / 255  # noqa: E731
    img0, img1 = to_t(pair.img0), to_t(pair.img1)
    gt = torch.from_numpy(pair.flow_fw)[None]
    s0, s1 = (torch.from_numpy(s.astype(np.int64))[None] for s in (pair.seg0, pair.seg1))
    model = build("AniFlowFormerTV3-test")
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    losses = []
    for _ in range(30):
        loss, _ = sequence_loss(model(img0, img1, s0, s1)["preds"], gt)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    assert np.mean(losses[-5:]) < 0.6 * np.mean(losses[:3])


def test_unsupervised_training_does_not_collapse_to_zero_flow():
    """Warm-start on a 3-px shift (a few supervised steps), then train with the unsupervised loss only:
    a loss that favoured zero motion (e.g. occlusion masking everything, smoothness dominating) would
    shrink the flow; ours must keep it near the true motion."""
    from segcorr.flow.losses import UnsupervisedFlowLoss, sequence_loss

    torch.manual_seed(0)
    g = torch.Generator().manual_seed(1)
    base = torch.nn.functional.interpolate(torch.rand(2, 3, 20, 24, generator=g), size=(80, 96), mode="bilinear")
    img0, img1 = base[..., 8:72, 8:88], base[..., 8:72, 5:85]  # content moves 3 px right
    gt = torch.zeros(2, 2, 64, 80)
    gt[:, 0] = 3.0
    model = build("AniFlowFormerT-test")
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    for _ in range(20):
        loss, _ = sequence_loss(model(img0, img1)["preds"], gt)
        opt.zero_grad()
        loss.backward()
        opt.step()
    loss_fn = UnsupervisedFlowLoss()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    for _ in range(8):
        out = model(torch.cat([img0, img1]), torch.cat([img1, img0]))
        loss, _ = loss_fn(img0, img1, out["flow"][:2], out["flow"][2:])
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        flow = model(img0, img1)["flow"]
    assert float(torch.linalg.vector_norm(flow, dim=1).mean()) > 0.5
    assert abs(float(flow[:, 0, 8:-8, 8:-8].mean()) - 3.0) < 1.5
