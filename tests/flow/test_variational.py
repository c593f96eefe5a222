"""The variational refinement that ends the "fuse" refinement (`segcorr.flow.variational`)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from segcorr.errors import InputError
from segcorr.flow.refine import refine_flow
from segcorr.flow.refine_config import RefineConfig
from segcorr.flow.variational import motion_borders, variational_refine


def _interior(h: int, w: int, margin: int = 8) -> np.ndarray:
    inner = np.zeros((h, w), bool)
    inner[margin:-margin, margin:-margin] = True
    return inner


def test_variational_refine_pulls_a_smoothly_wrong_flow_towards_the_true_motion(non_affine_case):
    img0, img1, bend, _ = non_affine_case
    h, w = bend.shape[1:]
    xs = np.arange(w, dtype=np.float32)
    wrong = bend + np.stack([0.8 * np.cos(xs / 20), np.full(w, -0.6, np.float32)])[:, None, :]
    out = variational_refine(img0, img1, wrong)
    inner = _interior(h, w)
    before = np.hypot(*(wrong - bend))[inner].mean()
    after = np.hypot(*(out - bend))[inner].mean()
    assert before > 0.6
    assert after < 0.5 * before
    assert out.dtype == np.float32 and out.shape == bend.shape


def test_zero_iterations_return_a_float32_copy_and_the_input_is_never_written():
    rng = np.random.default_rng(1)
    img = rng.integers(0, 256, (20, 24, 3), dtype=np.uint8)
    flow = rng.normal(size=(2, 20, 24)).astype(np.float64)
    keep = flow.copy()
    same = variational_refine(img, img, flow, iters=0)
    assert same.dtype == np.float32 and np.allclose(same, flow, atol=1e-6)
    moved = variational_refine(img, img, flow.astype(np.float32), iters=3)
    assert np.array_equal(flow, keep)
    assert not np.allclose(moved, flow, atol=1e-3)  # a noisy flow on a static frame is pulled towards zero
    assert np.abs(moved).mean() < np.abs(flow).mean()


def test_fuse_ends_with_the_variational_step_and_affine_mode_does_not(non_affine_case):
    img0, img1, bend, labels = non_affine_case
    h, w = bend.shape[1:]
    net = bend + np.float32(0.7)  # the fusion keeps this non-affine flow as it is (raw candidate)
    off = refine_flow(img0, img1, net, labels, RefineConfig(variational_iters=0))
    on = refine_flow(img0, img1, net, labels, RefineConfig())
    cfg = RefineConfig()
    expected = variational_refine(
        img0, img1, off, cfg.variational_iters, cfg.variational_alpha, cfg.variational_delta, cfg.variational_gamma
    )
    assert np.array_equal(on, expected)
    inner = _interior(h, w)
    assert np.hypot(*(on - bend))[inner].mean() < 0.6 * np.hypot(*(off - bend))[inner].mean()
    affine = refine_flow(img0, img1, net, labels, RefineConfig(mode="affine"))
    assert np.array_equal(
        affine, refine_flow(img0, img1, net, labels, RefineConfig(mode="affine", variational_iters=0))
    )


def test_motion_borders_are_label_borders_where_the_flow_jumps():
    labels = np.zeros((6, 8), np.int32)
    labels[:, 4:] = 1
    flow = np.zeros((2, 6, 8), np.float32)
    flow[0, :, 4:] = 3.0
    flow[1, :3, :2] = 5.0  # a jump inside segment 0: not a border
    border = motion_borders(flow, labels, 2.0)
    expected = np.zeros((6, 8), bool)
    expected[:, 3:5] = True
    assert np.array_equal(border, expected)
    assert not motion_borders(flow, labels, 3.0).any()  # the jump is 3 px, not more
    assert not motion_borders(flow, labels, float("inf")).any()
    flow[1, 3:] = 2.5  # a jump in v across the rows 2/3, inside both segments
    assert np.array_equal(motion_borders(flow, labels, 2.0), expected)


def test_fuse_keeps_its_own_flow_on_motion_borders_only():
    import cv2

    rng = np.random.default_rng(3)
    h, w = 48, 64
    big = cv2.GaussianBlur((rng.random((h + 16, w + 16, 3)) * 255).astype(np.uint8), (5, 5), 0)
    img0 = big[8 : 8 + h, 8 : 8 + w]
    img1 = img0.copy()
    img1[:, : w // 2] = big[8 : 8 + h, 5 : 5 + w // 2]  # left half moves right by 3 px
    img1[:, w // 2 :] = big[8 : 8 + h, 10 + w // 2 : 10 + w]  # right half moves left by 2 px
    labels = np.zeros((h, w), np.int32)
    labels[:, w // 2 :] = 1
    net = np.zeros((2, h, w), np.float32)
    net[0, :, : w // 2], net[0, :, w // 2 :] = 3.3, -1.8
    # affine pieces on both sides (not the classical flow itself, which blurs the step), so the border is sharp
    cfg = RefineConfig(own_penalty=float("inf"))
    off = refine_flow(img0, img1, net, labels, replace(cfg, variational_iters=0))
    on = refine_flow(img0, img1, net, labels, cfg)
    everywhere = refine_flow(img0, img1, net, labels, replace(cfg, variational_keep_jump=float("inf")))
    border = motion_borders(off, labels, cfg.variational_keep_jump)
    beside = np.zeros((h, w), bool)
    beside[:, w // 2 - 1 : w // 2 + 1] = True
    assert border.sum() >= h and not (border & ~beside).any()  # the two columns beside the border, most rows
    assert np.array_equal(on[:, border], off[:, border])
    assert not np.allclose(everywhere[:, border], off[:, border], atol=1e-3)
    assert np.array_equal(on[:, ~border], everywhere[:, ~border])


def test_bad_settings_and_inputs_raise_input_errors():
    bad_values = ({"variational_iters": -1}, {"variational_alpha": -1.0}, {"variational_gamma": float("nan")})
    for bad in (*bad_values, {"variational_keep_jump": -0.5}):
        with pytest.raises(InputError):
            RefineConfig(**bad)
    img = np.zeros((16, 16, 3), np.uint8)
    with pytest.raises(InputError):
        variational_refine(img, img, np.zeros((2, 15, 16), np.float32))
    with pytest.raises(InputError):
        variational_refine(img, np.zeros((16, 17, 3), np.uint8), np.zeros((2, 16, 16), np.float32))


def test_cli_variational_option_changes_the_learned_flow_and_rejects_negative_counts(tmp_path, non_affine_case):
    import json

    from segcorr.cli import main
    from segcorr.io.image import write_image

    img0, img1, _, _ = non_affine_case
    d = tmp_path / "pairs"
    write_image(d / "00000_img0.png", img0)
    write_image(d / "00000_img1.png", img1)

    def run(args: list[str]) -> int:
        try:
            main(args)
        except SystemExit as e:
            return int(e.code or 0)
        return 0

    warp = {}
    for iters in ("0", "5"):
        js = tmp_path / f"m{iters}.json"
        args = ["eval", "flow", "--data", str(d), "--method", "aniflowformer-v3", "--polish-iters", "0"]
        assert run([*args, "--variational-iters", iters, "--json", str(js)]) == 0
        warp[iters] = json.loads(js.read_text())["warp"]
    assert warp["5"] != warp["0"]
    assert run(["eval", "flow", "--data", str(d), "--method", "zero", "--variational-iters", "-1"]) == 2
