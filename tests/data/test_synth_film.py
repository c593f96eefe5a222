"""The "film" style: exact ground truth under parallax planes and camera zoom, degradation that leaves the ground
truth alone, determinism, and the ways it differs from "cel"."""

from __future__ import annotations

import json

import numpy as np
import pytest

from segcorr.cli import main
from segcorr.data.synth import make_cel_pair, make_clip
from segcorr.data.synth.cel_film import build_film_scene
from segcorr.data.synth.degrade import Degradation, degrade, degrade_pair, grade, sample_degradation
from segcorr.data.synth.selfcheck import pair_checks

H, W = 96, 128


def _zoom_seed() -> int:
    """The first seed whose camera zooms (a third of the scenes do)."""
    for seed in range(60):
        if build_film_scene(np.random.default_rng(seed), H, W).background.motion.scale_rate != 0:
            return seed
    raise AssertionError("no zooming scene in 60 seeds")


@pytest.mark.parametrize("seed", [3, 500002, "zoom"])
def test_film_ground_truth_is_exact(seed) -> None:
    seed = _zoom_seed() if seed == "zoom" else seed
    clean = make_cel_pair(seed, H, W, style="film", degrade=False)
    r = pair_checks(clean)
    assert clean.style == "film"
    assert r["warp_err"] < 3.0 and r["fb_ok_nearest"] == 1.0 and r["seg_consistency"] >= 0.99
    # the degraded pair has the same ground truth; its warp error is the degradation noise, bounded
    p = make_cel_pair(seed, H, W, style="film")
    for name in ("flow_fw", "flow_bw", "occ0", "seg0", "seg1", "inst0", "line0"):
        assert np.array_equal(getattr(p, name), getattr(clean, name)), name
    assert not np.array_equal(p.img0, clean.img0) and not np.array_equal(p.img1, clean.img1)
    assert r["warp_err"] < pair_checks(p)["warp_err"] < 12.0


def test_film_shapes_dtypes_and_background_planes() -> None:
    p = make_cel_pair(11, H, W, style="film")
    assert p.img0.shape == p.img1.shape == (H, W, 3) and p.img0.dtype == np.uint8
    assert p.flow_fw.shape == p.flow_bw.shape == (2, H, W) and p.flow_fw.dtype == np.float32
    for m in (p.seg0, p.seg1, p.inst0):
        assert m.shape == (H, W) and m.dtype == np.int32
    assert p.occ0.dtype == bool and p.line0.dtype == bool and p.line0.any()
    assert p.seg0.min() > 0 and set(np.unique(p.seg0).tolist()) <= set(p.concepts)
    # background planes (trees, buildings, ground) are instance 0: not in depth or the instance concepts
    assert 0 in p.inst0 and 0 not in p.depth and 0 not in p.instance_concepts
    assert set(p.depth) == set(p.instance_concepts) and all(
        v.startswith("character") for v in p.instance_concepts.values()
    )
    assert len(np.unique(p.seg0[p.inst0 == 0])) >= 3  # sky/far regions plus objects of the nearer planes


def test_parallax_planes_follow_one_camera_at_different_speeds() -> None:
    for seed in range(20):
        scene = build_film_scene(np.random.default_rng(seed), H, W)
        planes = [scene.background.motion] + [la.motion for la in scene.layers if la.instance == 0]
        speeds = [float(np.hypot(*m.vel)) for m in planes]
        if speeds[-1] < 0.5:
            continue
        assert speeds == sorted(speeds) and speeds[0] < speeds[-1]  # far planes move less
        directions = np.array([np.asarray(m.vel) / max(s, 1e-9) for m, s in zip(planes, speeds)])
        assert np.allclose(directions, directions[-1], atol=1e-6)  # one pan direction
        return
    raise AssertionError("no panning scene in 20 seeds")


def test_film_is_deterministic_and_not_the_cel_style() -> None:
    a, b = make_cel_pair(7, H, W, style="film"), make_cel_pair(7, H, W, style="film")
    assert np.array_equal(a.img0, b.img0) and np.array_equal(a.img1, b.img1) and np.array_equal(a.flow_fw, b.flow_fw)
    assert not np.array_equal(a.img0, make_cel_pair(7, H, W, style="cel").img0)
    assert not np.array_equal(a.img0, make_cel_pair(8, H, W, style="film").img0)


def test_film_motion_is_mostly_small_with_sub_pixel_motion() -> None:
    speeds = np.concatenate([np.hypot(*make_cel_pair(s, H, W, style="film").flow_fw).ravel() for s in range(6)])
    assert (speeds <= 10).mean() > 0.8 and (speeds < 1).mean() > 0.1 and speeds.max() > 1


def test_degradation_is_per_pixel_grade_then_blur_grain_jpeg() -> None:
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (24, 32, 3)).astype(np.uint8)
    assert np.array_equal(degrade(img, Degradation(), rng), img)  # identity settings: unchanged
    d = Degradation(gain=(1.05, 0.97, 1.0), gamma=0.9, lift=5.0, saturation=0.9)
    perm = rng.permutation(24 * 32)
    flat = img.reshape(-1, 1, 3)
    # a pixel-wise map: grading moved pixels = moving graded pixels (so motion and grading commute)
    assert np.allclose(grade(flat[perm], d), grade(flat, d)[perm], atol=1e-3)
    for _ in range(50):
        s = sample_degradation(rng)
        assert 0 <= s.blur_sigma <= 1 and 60 <= s.jpeg_quality <= 95 and 0.85 <= s.saturation <= 1.15
    grain_only = Degradation(grain=4.0)
    a, b = degrade_pair(np.random.default_rng(1), img, img, grain_only)
    assert not np.array_equal(a, b)  # independent grain per frame
    resid = a.astype(float) - img
    assert 2.0 < resid[(img > 20).all(-1) & (img < 235).all(-1)].std() < 6.0
    jpeg = degrade(img, Degradation(jpeg_quality=60), rng)
    assert jpeg.shape == img.shape and jpeg.dtype == np.uint8 and not np.array_equal(jpeg, img)


def test_film_clips_leave_background_planes_out_of_the_masklets() -> None:
    c = make_clip(4, 3, 64, 96, style="film")
    assert 0 not in c.masklets and 0 not in c.instance_concepts and c.masklets
    assert set(c.masklets) == set(c.instance_concepts) == set(c.depth)


def test_cli_writes_film_pairs_and_training_reads_them(tmp_path) -> None:
    try:
        main(
            ["synth", "cels", "--out", str(tmp_path), "--count", "1", "--height", "64", "--width", "96"]
            + ["--style", "film"]
        )
    except SystemExit as e:
        assert not e.code
    meta = json.loads((tmp_path / "meta.json").read_text())
    assert meta["style"] == "film" and meta["pairs"][0]["style"] == "film"
    for suffix in ("img0.png", "img1.png", "flow.flo", "occ.png", "seg0.png", "seg1.png", "inst0.png", "line0.png"):
        assert (tmp_path / f"00000_{suffix}").is_file()
    from segcorr.data.flow_train import SynthFlowDataset

    s = SynthFlowDataset(500_000, 1, 64, 80, style="film", split="val")[0]
    assert s["img0"].shape == (3, 64, 80) and s["flow"].shape == (2, 64, 80)
