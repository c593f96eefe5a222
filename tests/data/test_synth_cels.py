"""The synthetic cel world: exact ground truth, determinism, sizes, styles."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from segcorr.data.synth import make_cel_pair
from segcorr.data.synth.render import flow_between, occlusion, render
from segcorr.data.synth.scene import Background, Layer, Motion, Part, Scene
from segcorr.data.synth.selfcheck import pair_checks
from segcorr.data.synth.shapes import rasterize, rect_poly
from segcorr.data.synth.textures import flat

H, W = 192, 256


@pytest.mark.parametrize("style", ["cel", "textured"])
@pytest.mark.parametrize("seed", [3, 11])
def test_gt_flow_warps_img1_onto_img0_and_is_consistent(style: str, seed: int) -> None:
    r = pair_checks(make_cel_pair(seed, H, W, style=style))
    assert r["warp_err"] < 3.0
    assert r["fb_ok_nearest"] == 1.0  # bw at the (rounded) target undoes fw exactly, to < 0.5 px
    assert r["fb_ok_bilinear"] > 0.95  # bilinear mixes two surfaces only at boundaries
    assert r["seg_consistency"] >= 0.99
    assert 0.0 < r["occ_share"] < 0.6
    assert r["mean_flow"] > 0.1


def test_checks_reject_a_wrong_flow() -> None:
    pair = make_cel_pair(3, H, W)
    bad = pair.flow_fw.copy()
    bad[0] += 2.0
    r = pair_checks(dataclasses.replace(pair, flow_fw=bad))
    assert r["fb_ok_nearest"] < 0.5
    assert r["warp_err"] > pair_checks(pair)["warp_err"] + 1.0


def test_same_seed_same_pair_and_other_seed_differs() -> None:
    a, b, c = make_cel_pair(7, 64, 96), make_cel_pair(7, 64, 96), make_cel_pair(8, 64, 96)
    for name in ("img0", "img1", "flow_fw", "flow_bw", "occ0", "occ1", "seg0", "seg1", "inst0", "line0"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    assert a.concepts == b.concepts and a.depth == b.depth
    assert not np.array_equal(a.img0, c.img0)


@pytest.mark.parametrize("size", [(97, 131), (64, 64), (131, 97)])
def test_fields_have_contract_shapes_and_dtypes(size: tuple[int, int]) -> None:
    h, w = size
    p = make_cel_pair(5, h, w)
    assert p.img0.shape == p.img1.shape == (h, w, 3) and p.img0.dtype == np.uint8
    assert p.flow_fw.shape == p.flow_bw.shape == (2, h, w) and p.flow_fw.dtype == np.float32
    for name in ("occ0", "occ1", "line0", "line1"):
        assert getattr(p, name).shape == (h, w) and getattr(p, name).dtype == bool
    for name in ("seg0", "seg1", "inst0", "inst1"):
        assert getattr(p, name).shape == (h, w) and getattr(p, name).dtype == np.int32
    assert p.seg0.min() >= 1 and set(np.unique(p.seg0)) | set(np.unique(p.seg1)) <= set(p.concepts)
    assert sorted(p.depth) == sorted(p.instance_concepts) == list(range(1, len(p.depth) + 1))
    assert not (p.line0 & (p.inst0 == 0)).any()  # line art belongs to characters only
    r = pair_checks(p)
    assert r["fb_ok_nearest"] == 1.0 and r["seg_consistency"] >= 0.99


def test_odd_size_warp_error_small_on_average() -> None:
    errs = [pair_checks(make_cel_pair(s, 97, 131))["warp_err"] for s in range(4)]
    assert float(np.mean(errs)) < 3.0


def test_pixels_leaving_the_frame_are_occluded() -> None:
    p = make_cel_pair(2, 96, 128)
    ys, xs = np.mgrid[0:96, 0:128]
    tx, ty = xs + p.flow_fw[0], ys + p.flow_fw[1]
    leaving = (tx < -0.5) | (tx >= 127.5) | (ty < -0.5) | (ty >= 95.5)
    assert leaving.any()
    assert p.occ0[leaving].all()


def test_concepts_name_parts_and_background() -> None:
    p = make_cel_pair(4, 128, 160)
    names = set(p.concepts.values())
    assert any(n.endswith(" hair") for n in names)
    assert "face" in names
    bg = {p.concepts[s] for s in np.unique(p.seg0[p.inst0 == 0])}
    assert bg and not any(n.endswith(" hair") for n in bg)


def test_styles_differ_and_mixed_uses_both() -> None:
    cel = make_cel_pair(1, 96, 128, style="cel")
    tex = make_cel_pair(1, 96, 128, style="textured")
    assert cel.style == "cel" and tex.style == "textured"
    assert cel.line0.mean() > tex.line0.mean()
    assert {make_cel_pair(s, 32, 32, style="mixed").style for s in range(8)} == {"cel", "textured"}
    with pytest.raises(ValueError, match="style"):
        make_cel_pair(0, 32, 32, style="photo")


def _square_layer(x: float, y: float, vx: float, rgb: tuple[int, int, int], instance: int, size: float = 20) -> Layer:
    sprite = rasterize(
        rect_poly(-size / 2, -size / 2, size / 2, size / 2),
        lambda h, w: flat(h, w, rgb),
        0,
        np.zeros(3, np.uint8),
        None,
    )
    return Layer(
        parts=(Part(sprite=sprite, concept="square", kind="square"),),
        motion=Motion(pos=(x, y), vel=(vx, 0.0)),
        instance=instance,
        concept="square",
    )


def test_nearer_layer_hides_farther_one_exactly() -> None:
    """A front square slides 10 px right over a static back square: the covered strip is occluded."""
    bg = Background(
        color=np.full((80, 80, 3), 200, np.uint8),
        regions=np.ones((80, 80), np.uint16),
        motion=Motion(pos=(0.0, 0.0)),
        concepts={1: "wall"},
    )
    back = _square_layer(40, 40, 0.0, (255, 0, 0), instance=1)
    front = _square_layer(30, 40, 10.0, (0, 0, 255), instance=2)
    scene = Scene(height=64, width=64, style="cel", background=bg, layers=(back, front))
    m0, m1 = scene.surface_matrices(0.0), scene.surface_matrices(1.0)
    f0, f1 = render(scene, 0.0, m0), render(scene, 1.0, m1)
    fw = flow_between(f0.sid, m0, m1)
    occ = occlusion(fw, f0.sid, f1.sid)
    np.testing.assert_allclose(
        fw[:, f0.inst == 2], np.array([[10.0], [0.0]]).repeat((f0.inst == 2).sum(), 1), atol=1e-4
    )
    assert np.abs(fw[:, f0.inst != 2]).max() < 1e-4
    back_visible = f0.inst == 1
    covered_later = back_visible & (f1.inst == 2)
    assert covered_later.sum() > 50
    assert (occ[covered_later]).all() and not occ[back_visible & (f1.inst == 1)].any()
    assert scene.depth() == [2, 1]


def test_child_part_follows_parent_rotation() -> None:
    sprite = rasterize(rect_poly(-2, 0, 2, 10), lambda h, w: flat(h, w, (9, 9, 9)), 1, np.zeros(3, np.uint8), None)
    arm = Part(sprite=sprite, concept="arm", kind="arm", swing=0.3, phase=0.0)
    hand = Part(sprite=sprite, concept="hand", kind="hand", parent=0, joint=(0.0, 10.0))
    layer = Layer(parts=(arm, hand), motion=Motion(pos=(50.0, 50.0)), instance=1, concept="x")
    m0, m1 = layer.part_matrices(0.0), layer.part_matrices(1.0)
    tip0, tip1 = m0[1] @ [0, 0, 1], m1[1] @ [0, 0, 1]  # the hand's joint is the arm's tip
    np.testing.assert_allclose(tip0[:2], [50.0, 60.0], atol=1e-9)
    angle = arm.angle(1.0)
    np.testing.assert_allclose(tip1[:2], [50 - 10 * np.sin(angle), 50 + 10 * np.cos(angle)], atol=1e-9)
