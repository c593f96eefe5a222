"""AS-Mamba model: shapes at every boundary, gradients, backends, ablation options, registry, ONNX export."""

import io

import numpy as np
import pytest
import torch
from asmamba_pairs import one_thread, shifted_pair  # noqa: F401 (autouse fixture)

from segcorr.errors import InputError
from segcorr.matching import build, load_pretrained, model_names, save_pretrained
from segcorr.matching.losses import ASMambaLoss, LossWeights
from segcorr.matching.model import DENSE_OUTPUTS
from segcorr.matching.predictor import MatchPredictor


def _model(**kw):
    torch.manual_seed(0)
    return build("as_mamba-test", **kw)


def test_registry_names_and_overrides():
    assert set(model_names()) >= {"as_mamba_tiny", "as_mamba-test"}
    m = _model(c_geom=4, n_blocks=1)
    assert m.config.c_geom == 4 and len(m.blocks) == 1
    with pytest.raises(InputError, match="unknown AS-Mamba option"):
        build("as_mamba-test", c_gem=4)
    with pytest.raises(InputError, match="unknown matching model"):
        build("as_mamba_huge")
    with pytest.raises(InputError, match="scan_order"):
        build("as_mamba-test", scan_order="zigzag")


def test_shipped_size_defaults():
    from segcorr.matching.config import ASMambaConfig

    cfg = build("as_mamba_tiny").config
    assert cfg == ASMambaConfig()
    assert (cfg.c_enc, cfg.c_match, cfg.c_geom, cfg.c_fine) == (128, 128, 32, 64)


def test_shapes_at_every_boundary_with_images_of_different_sizes():
    m = _model().eval()
    cfg = m.config
    img0, img1 = torch.rand(2, 1, 64, 96), torch.rand(2, 1, 96, 64)
    with torch.no_grad():
        c0, f0 = m.encoder(img0)
        assert c0.shape == (2, cfg.c_enc, 8, 12) and f0.shape == (2, cfg.c_fine, 32, 48)
        c1, _ = m.encoder(img1)
        m0, m1, g0, g1 = m.initializer(c0, c1)
        assert m0.shape == (2, cfg.c_match, 8, 12) and m1.shape == (2, cfg.c_match, 12, 8)
        assert g0.shape == (2, cfg.c_geom, 8, 12) and g1.shape == (2, cfg.c_geom, 12, 8)
        o = m.blocks[0](m0, m1, g0, g1)
        assert o["m0"].shape == m0.shape and o["g1"].shape == g1.shape
        assert o["phi0"].shape == (2, 8, 12, 4) and o["phi1"].shape == (2, 12, 8, 4)
        assert o["logit0"].shape == (2, 8, 12)
        out = m({"image0": img0, "image1": img1}, threshold=0.0, return_conf=True)
    n = len(out["mconf"])
    assert n > 0
    for k in ("mkpts0_c", "mkpts1_c", "mkpts0_f", "mkpts1_f"):
        assert out[k].shape == (n, 2) and out[k].dtype == torch.float32
    assert out["m_bids"].shape == (n,) and set(out["m_bids"].tolist()) <= {0, 1}
    assert out["conf_matrix"].shape == (2, 96, 96)
    assert out["hw0_c"] == (8, 12) and out["hw1_c"] == (12, 8)
    assert len(out["phi0"]) == cfg.n_blocks and len(out["match_logits0"]) == cfg.n_blocks + 1
    assert out["expec_f"].shape == (n, 3)
    # coarse positions are cell centres inside each image; fine ones within the window radius of them
    assert (out["mkpts0_c"] % 8 == 3.5).all()
    assert (out["mkpts1_c"][:, 0] < 64).all() and (out["mkpts1_c"][:, 1] < 96).all()
    assert ((out["mkpts1_f"] - out["mkpts1_c"]).abs() <= out["fine_radius"] + 1e-4).all()
    torch.testing.assert_close(out["mkpts0_f"], out["mkpts0_c"])


def test_matches_are_mutual_nearest_neighbours_of_the_conf_matrix():
    m = _model().eval()
    with torch.no_grad():
        out = m(
            {"image0": torch.rand(1, 1, 64, 64), "image1": torch.rand(1, 1, 64, 64)}, threshold=0.0, return_conf=True
        )
    conf = out["conf_matrix"][0]
    for i, j, c in zip(out["i_ids"], out["j_ids"], out["mconf"]):
        assert conf[i].argmax() == j and conf[:, j].argmax() == i
        torch.testing.assert_close(conf[i, j], c)
    # conf is the product of a row and a column softmax: rows and columns sum to at most 1
    assert (conf.sum(1) <= 1 + 1e-4).all() and (conf.sum(0) <= 1 + 1e-4).all()


def test_max_matches_keeps_the_most_confident_coarse_matches_with_their_fine_positions():
    m = _model().eval()
    data = {"image0": torch.rand(1, 1, 64, 96), "image1": torch.rand(1, 1, 64, 96)}
    with torch.no_grad():
        full = m(data, threshold=0.0)
        top = m(data, threshold=0.0, max_matches=10)
    assert len(full["mconf"]) > 10 and len(top["mconf"]) == 10
    want = torch.sort(torch.topk(full["mconf"], 10).indices).values  # the 10 best, in their original order
    assert torch.equal(top["i_ids"], full["i_ids"][want]) and torch.equal(top["j_ids"], full["j_ids"][want])
    torch.testing.assert_close(top["mconf"], full["mconf"][want])
    torch.testing.assert_close(top["mkpts1_f"], full["mkpts1_f"][want])
    with torch.no_grad():
        assert len(m(data, threshold=0.0, max_matches=10_000)["mconf"]) == len(full["mconf"])


def test_grn_equals_the_convnext_v2_formula_and_has_a_finite_gradient_on_a_zero_channel():
    from segcorr.matching.encoder import GRN

    grn = GRN(5)
    with torch.no_grad():
        grn.gamma.normal_()
        grn.beta.normal_()
    x = torch.randn(2, 7, 9, 5)
    x[1, :, :, 3] = 0.0  # an all-zero channel
    gx = torch.norm(x, p=2, dim=(1, 2), keepdim=True)
    want = grn.gamma * (x * (gx / (gx.mean(dim=-1, keepdim=True) + 1e-6))) + grn.beta + x
    torch.testing.assert_close(grn(x), want, atol=1e-5, rtol=1e-5)
    x.requires_grad_(True)
    grn(x).square().sum().backward()
    assert torch.isfinite(x.grad).all()


def test_padding_mask_keeps_padded_cells_out_of_matches():
    m = _model().eval()
    mask = torch.zeros(1, 64, 64, dtype=torch.bool)
    mask[:, :, :32] = True
    with torch.no_grad():
        out = m(
            {"image0": torch.rand(1, 1, 64, 64), "image1": torch.rand(1, 1, 64, 64), "mask0": mask, "mask1": mask},
            threshold=0.0,
        )
    assert len(out["mconf"]) > 0
    assert (out["mkpts0_c"][:, 0] < 32).all() and (out["mkpts1_c"][:, 0] < 32).all()


def test_bad_inputs_are_input_errors():
    m = _model()
    with pytest.raises(InputError, match="multiples of 32"):
        m({"image0": torch.rand(1, 1, 48, 64), "image1": torch.rand(1, 1, 64, 64)})
    with pytest.raises(InputError, match=r"\[B, 1, H, W\]"):
        m({"image0": torch.rand(1, 3, 64, 64), "image1": torch.rand(1, 1, 64, 64)})
    with pytest.raises(InputError, match="batch sizes"):
        m({"image0": torch.rand(2, 1, 64, 64), "image1": torch.rand(1, 1, 64, 64)})


def _loss_and_grads(model, data):
    model.train()
    out = model(data)
    loss, stats = ASMambaLoss(LossWeights())(out, data)
    loss.backward()
    return out, loss, stats


def test_a_gradient_reaches_every_parameter_on_a_shifted_pair():
    m = _model()
    data = shifted_pair(64, 64, dx=8, dy=8, batch=2)
    out, loss, stats = _loss_and_grads(m, data)
    assert torch.isfinite(loss)
    assert stats["gt_matches"] == 2 * 7 * 7  # every cell but the shifted-out row and column, in both pairs
    assert out["fine_is_gt"].sum() == 2 * 7 * 7
    for name, p in m.named_parameters():
        assert p.grad is not None, name
        assert torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name


@pytest.mark.parametrize("backend", ["sequential", "parallel"])
def test_training_uses_the_gt_pairs_for_the_fine_stage(backend):
    m = _model(scan_backend=backend, max_train_fine=10)
    data = shifted_pair(64, 64)
    m.train()
    out = m(data)
    assert out["fine_is_gt"][:10].all() and not out["fine_is_gt"][10:].any()
    assert len(out["mkpts0_f"]) == len(out["mconf"])


def test_sequential_and_parallel_backends_give_the_same_outputs():
    m = _model(scan_backend="parallel").eval()
    data = {"image0": torch.rand(1, 1, 64, 96), "image1": torch.rand(1, 1, 96, 64)}
    with torch.no_grad():
        par = m(data, threshold=0.0, return_conf=True)
        seq = m.set_scan_backend("sequential")(data, threshold=0.0, return_conf=True)
    torch.testing.assert_close(par["conf_matrix"], seq["conf_matrix"], atol=1e-5, rtol=1e-4)
    for a, b in zip(par["phi0"] + par["phi1"], seq["phi0"] + seq["phi1"]):
        torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4)
    assert torch.equal(par["i_ids"], seq["i_ids"]) and torch.equal(par["j_ids"], seq["j_ids"])
    torch.testing.assert_close(par["mkpts1_f"], seq["mkpts1_f"], atol=1e-4, rtol=1e-4)


def test_inference_in_cell_tiles_equals_one_call(monkeypatch):
    """The per-cell heads (flow head, local span) run in tiles of cells at inference: same outputs as untiled."""
    import segcorr.matching.block as block

    m = _model().eval()
    data = {"image0": torch.rand(1, 1, 64, 96), "image1": torch.rand(1, 1, 96, 64)}  # 96 cells per image
    with torch.no_grad():
        monkeypatch.setattr(block, "TILE_CELLS", 0)  # one call
        whole = m(data, threshold=0.0, return_conf=True)
        monkeypatch.setattr(block, "TILE_CELLS", 7)  # 14 tiles, the last one short
        tiled = m(data, threshold=0.0, return_conf=True)
    torch.testing.assert_close(tiled["conf_matrix"], whole["conf_matrix"], atol=1e-6, rtol=1e-5)
    for a, b in zip(whole["phi0"] + whole["phi1"], tiled["phi0"] + tiled["phi1"]):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)
    assert torch.equal(whole["i_ids"], tiled["i_ids"]) and torch.equal(whole["j_ids"], tiled["j_ids"])


@pytest.mark.parametrize(
    "option", [{"scan_order": "hilbert"}, {"heads": "single"}, {"geom_feedback": False}, {"flow_head": "mlp"}]
)
def test_ablation_options_build_train_and_change_the_model(option):
    ref = _model()
    m = _model(**option)
    data = shifted_pair(64, 64)
    _, loss, _ = _loss_and_grads(m, data)
    assert torch.isfinite(loss)
    with torch.no_grad():
        ref.eval()
        m.eval()
        a = ref(data, threshold=0.0, return_conf=True)["conf_matrix"]
        b = m(data, threshold=0.0, return_conf=True)["conf_matrix"]
    assert a.shape == b.shape and not torch.allclose(a, b)


def test_forward_dense_agrees_with_forward():
    m = _model().eval()
    data = {"image0": torch.rand(1, 1, 64, 64), "image1": torch.rand(1, 1, 64, 64)}
    with torch.no_grad():
        out = m(data, threshold=0.0)
        conf, mconf, k0, k1 = m.forward_dense(data["image0"], data["image1"])
    keep = mconf[0] > 0
    assert torch.equal(keep.nonzero()[:, 0], out["i_ids"])
    torch.testing.assert_close(mconf[0, keep], out["mconf"])
    torch.testing.assert_close(k1[0, keep], out["mkpts1_f"])
    torch.testing.assert_close(k0[0, keep], out["mkpts0_f"])
    assert conf.shape == (1, 64, 64)


class _Dense(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, image0, image1):
        return self.model.forward_dense(image0, image1)


def test_forward_dense_exports_to_onnx_with_the_parallel_scan():
    import onnxruntime as ort  # the `test` extra

    m = _model(scan_order="hilbert").eval().set_scan_backend("parallel")
    img0, img1 = torch.rand(1, 1, 64, 96), torch.rand(1, 1, 64, 64)
    buf = io.BytesIO()
    torch.onnx.export(
        _Dense(m),
        (img0, img1),
        buf,
        dynamo=False,
        opset_version=17,
        input_names=["image0", "image1"],
        output_names=list(DENSE_OUTPUTS),
    )
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    sess = ort.InferenceSession(buf.getvalue(), opts, providers=["CPUExecutionProvider"])
    got = sess.run(None, {"image0": img0.numpy(), "image1": img1.numpy()})
    with torch.no_grad():
        want = m.forward_dense(img0, img1)
    for g, w, name in zip(got, want, DENSE_OUTPUTS):
        np.testing.assert_allclose(g, w.numpy(), atol=1e-4, rtol=1e-3, err_msg=name)


def test_save_and_load_pretrained_round_trip(tmp_path):
    m = _model(heads="single").eval()
    path = save_pretrained(m, tmp_path / "m.safetensors", "as_mamba-test")
    loaded = load_pretrained(path)
    assert loaded.config == m.config and not loaded.training
    data = {"image0": torch.rand(1, 1, 64, 64), "image1": torch.rand(1, 1, 64, 64)}
    with torch.no_grad():
        torch.testing.assert_close(
            m(data, return_conf=True)["conf_matrix"], loaded(data, return_conf=True)["conf_matrix"]
        )


def test_from_pretrained_names_the_missing_weights_file(tmp_path):
    with pytest.raises(InputError, match="as_mamba_huge"):
        MatchPredictor.from_pretrained("as_mamba_huge")
    with pytest.raises(InputError, match="nothing.safetensors"):
        MatchPredictor.from_pretrained(tmp_path / "nothing.safetensors")


def test_a_few_optimiser_steps_reduce_the_loss_on_a_pair():
    m = _model(scan_backend="parallel")
    data = shifted_pair(64, 64, dx=8, dy=8, batch=2)
    loss_fn = ASMambaLoss(LossWeights())
    opt = torch.optim.Adam(m.parameters(), lr=3e-3)
    m.train()
    losses = []
    for _ in range(25):
        opt.zero_grad()
        loss, _ = loss_fn(m(data), data)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert np.mean(losses[-5:]) < 0.7 * np.mean(losses[:5])
