"""Ground truth from correspondence fields and the four AS-Mamba loss terms, on tiny tensors."""

import math

import torch
from asmamba_pairs import one_thread, shifted_pair  # noqa: F401 (autouse fixture)

from segcorr.matching.losses import ASMambaLoss, LossWeights, focal_loss, prob_loss
from segcorr.matching.supervision import coarse_grid_coords, coarse_supervision, fine_targets


def _spv(data, **kw):
    return coarse_supervision(data["corr01"], data["valid01"], data["corr10"], data["valid10"], 8, **kw)


def test_shifted_pair_gives_the_shifted_cells_as_mutual_matches():
    data = shifted_pair(64, 64, dx=8, dy=16)
    spv = _spv(data)
    # cell (x, y) of image 0 sits in cell (x - 1, y - 2) of image 1; the first column and two rows leave it
    pairs = {(i, j) for i, j in zip(spv["spv_i_ids"].tolist(), spv["spv_j_ids"].tolist())}
    want = {(y * 8 + x, (y - 2) * 8 + (x - 1)) for y in range(2, 8) for x in range(1, 8)}
    assert pairs == want
    state0 = spv["spv_state0"][0].reshape(8, 8)
    assert (state0[2:, 1:] == 1).all() and (state0[:2] == 0).all() and (state0[:, 0] == 0).all()
    # warped centres: cell (3, 4) has centre (27.5, 35.5) -> (19.5, 19.5) in image 1
    torch.testing.assert_close(spv["spv_pt1"][0, 4 * 8 + 3], torch.tensor([19.5, 19.5]))
    torch.testing.assert_close(coarse_grid_coords(spv["spv_pt1"][0, 4 * 8 + 3]), torch.tensor([2.0, 2.0]))


def test_zoom_leaves_cells_without_a_one_to_one_partner_ignored():
    # image 1 is image 0 scaled by 2 about the origin: several cells of image 1 land in one cell of image 0
    h = w = 64
    ys, xs = torch.meshgrid(torch.arange(h, dtype=torch.float32), torch.arange(w, dtype=torch.float32), indexing="ij")
    corr01 = torch.stack([(xs + 0.5) * 2 - 0.5, (ys + 0.5) * 2 - 0.5])[None]
    corr10 = torch.stack([(xs + 0.5) / 2 - 0.5, (ys + 0.5) / 2 - 0.5])[None]
    valid01 = (corr01[:, 0] < w - 0.5) & (corr01[:, 1] < h - 0.5)
    valid10 = torch.ones(1, h, w, dtype=torch.bool)
    spv = coarse_supervision(corr01, valid01, corr10, valid10)
    s1 = spv["spv_state1"][0]
    assert (s1 == 1).sum() == len(spv["spv_j_ids"]) > 0
    assert (s1 == -1).sum() > 0  # visible, but the cell of image 0 it lands in maps back elsewhere
    assert (spv["spv_state0"][0] == 0).sum() > 0  # the right/bottom half of image 0 leaves image 1


def test_padding_mask_marks_padded_cells_ignored():
    data = shifted_pair(64, 64)
    mask = torch.ones(1, 64, 64, dtype=torch.bool)
    mask[:, :, 48:] = False
    spv = _spv(data, mask0=mask, mask1=mask)
    s0 = spv["spv_state0"][0].reshape(8, 8)
    assert (s0[:, 6:] == -1).all() and not spv["spv_real0"][0].reshape(8, 8)[:, 6:].any()
    assert not spv["spv_vis0"][0].reshape(8, 8)[:, 6:].any()


def test_focal_loss_prefers_the_right_matrix_and_ignores_ignored_cells():
    n = 6
    b = torch.zeros(n, dtype=torch.long)
    i = torch.arange(n)
    j = (torch.arange(n) + 1) % n
    state = torch.ones(1, n, dtype=torch.int8)
    right = torch.full((1, n, n), 0.01)
    right[0, i, j] = 0.98
    wrong = torch.full((1, n, n), 0.01)
    wrong[0, i, i] = 0.98
    l_right = focal_loss(right, b, i, j, state, state)
    l_wrong = focal_loss(wrong, b, i, j, state, state)
    assert l_right < l_wrong
    # row 5 and column 0 ignored: whatever they hold does not change the loss
    s0, s1 = state.clone(), state.clone()
    s0[0, 5] = -1
    s1[0, 0] = -1
    keep = (i != 5) & (j != 0)
    base = focal_loss(right, b[keep], i[keep], j[keep], s0, s1)
    noisy = right.clone()
    noisy[0, 5] = torch.rand(n)
    noisy[0, :, 0] = torch.rand(n)
    torch.testing.assert_close(focal_loss(noisy, b[keep], i[keep], j[keep], s0, s1), base)
    # but a change in a counted negative does
    noisy[0, 1, 3] = 0.9
    assert focal_loss(noisy, b[keep], i[keep], j[keep], s0, s1) > base


def test_focal_loss_formula():
    conf = torch.tensor([[[0.7, 0.2], [0.1, 0.4]]])
    st = torch.ones(1, 2, dtype=torch.int8)
    one = torch.tensor([0])
    got = focal_loss(conf, one, one, one, st, st, LossWeights(focal_alpha=0.25, focal_gamma=2.0))
    pos = -0.25 * 0.3**2 * math.log(0.7)
    neg = [-0.25 * p**2 * math.log(1 - p) for p in (0.2, 0.1, 0.4)]
    torch.testing.assert_close(got, torch.tensor(pos + sum(neg) / 3))


def test_prob_loss_formula_and_minimum():
    phi = torch.tensor([[[1.0, 2.0, 0.5, -1.0], [9.0, 9.0, 0.0, 0.0]]])
    gt = torch.tensor([[[2.0, 0.0], [0.0, 0.0]]])
    valid = torch.tensor([[True, False]])
    want = (0.5 + math.exp(-0.5) * 1.0) + (-1.0 + math.exp(1.0) * 4.0)
    torch.testing.assert_close(prob_loss(phi, gt, valid), torch.tensor(want))
    # for a fixed error e, s + exp(-s) e^2 is smallest at s = log e^2
    e = 3.0
    s = torch.linspace(-2, 5, 701)
    vals = torch.stack(
        [
            prob_loss(
                torch.tensor([[[e, 0.0, float(v), 100.0]]]), torch.zeros(1, 1, 2), torch.ones(1, 1, dtype=torch.bool)
            )
            for v in s
        ]
    )
    assert abs(float(s[vals.argmin()]) - math.log(e * e)) < 0.02


def test_fine_targets_are_window_normalised_offsets():
    spv_pt1 = torch.tensor([[[20.0, 30.0], [100.0, 0.0]]])
    vis = torch.tensor([[True, True]])
    centre = torch.tensor([[19.5, 27.5], [19.5, 27.5]])
    target, ok = fine_targets(spv_pt1, vis, torch.tensor([0, 0]), torch.tensor([0, 1]), centre, 5.0)
    torch.testing.assert_close(target[0], torch.tensor([0.1, 0.5]))
    assert ok.tolist() == [True, False]


def _outputs(data, spv, perfect: bool):
    """Model-shaped outputs for a shifted pair: the GT (perfect) or a consistently wrong prediction."""
    n0 = spv["spv_vis0"].shape[1]
    conf = torch.full((1, n0, n0), 1e-3)
    b, i, j = spv["spv_b_ids"], spv["spv_i_ids"], spv["spv_j_ids"]
    conf[b, i, j if perfect else (j + 3) % n0] = 0.95
    gt1 = coarse_grid_coords(spv["spv_pt1"]).reshape(1, 8, 8, 2)
    gt0 = coarse_grid_coords(spv["spv_pt0"]).reshape(1, 8, 8, 2)
    err = 0.0 if perfect else 3.0
    s = torch.full((1, 8, 8, 2), -2.0)
    phi0 = torch.cat([gt1 + err, s], -1)
    phi1 = torch.cat([gt0 + err, s], -1)
    sign = 1.0 if perfect else -1.0
    lg0 = (spv["spv_vis0"].float() * 2 - 1).reshape(1, 8, 8) * 5 * sign
    lg1 = (spv["spv_vis1"].float() * 2 - 1).reshape(1, 8, 8) * 5 * sign
    centre1 = torch.stack([j % 8, j // 8], -1).float() * 8 + 3.5
    target, _ = fine_targets(spv["spv_pt1"], spv["spv_vis0"], b, i, centre1, 5.0)
    expec = torch.cat([target if perfect else -target + 0.5, torch.full((len(b), 1), 0.3)], -1)
    return {
        "conf_matrix": conf,
        "phi0": [phi0],
        "phi1": [phi1],
        "match_logits0": [lg0],
        "match_logits1": [lg1],
        "expec_f": expec,
        "fine_b_ids": b,
        "fine_i_ids": i,
        "fine_centre1": centre1,
        "fine_is_gt": torch.ones(len(b), dtype=torch.bool),
        "fine_radius": 5.0,
    }


def test_full_loss_is_lower_for_a_perfect_prediction_in_every_term():
    data = shifted_pair(64, 64, dx=11, dy=5)  # off-grid shift: non-zero sub-pixel offsets
    spv = _spv(data)
    loss = ASMambaLoss(LossWeights())
    good, gs = loss(_outputs(data, spv, True), data)
    bad, bs = loss(_outputs(data, spv, False), data)
    assert good < bad
    for k in ("loss_coarse", "loss_fine", "loss_flow", "loss_geom"):
        assert gs[k] < bs[k], k
    assert gs["loss_fine"] < 1e-6 and gs["gt_matches"] == len(spv["spv_i_ids"]) > 0


def test_loss_reuses_the_models_ground_truth_when_present():
    data = shifted_pair(64, 64)
    spv = _spv(data)
    out = _outputs(data, spv, True)
    a, _ = ASMambaLoss()(out, data)
    b, _ = ASMambaLoss()({**out, **spv}, {})  # no fields in data: the GT must come from the outputs
    torch.testing.assert_close(a, b)


def test_weights_scale_their_terms():
    data = shifted_pair(64, 64)
    spv = _spv(data)
    out = _outputs(data, spv, False)
    _, s = ASMambaLoss(LossWeights())(out, data)
    total, _ = ASMambaLoss(LossWeights(coarse=0.0, fine=0.0, flow=1.0, geom=0.0))(out, data)
    torch.testing.assert_close(total, torch.tensor(s["loss_flow"]))
