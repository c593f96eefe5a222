"""Synthetic matching pairs: exact correspondence fields, occlusion, seeds and splits, the eval-set writer."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from segcorr.data.matchsynth import MatchSynthDataset, homography_pair, make_pair, render_scene_pair
from segcorr.data.matchsynth.photos import EVAL_PHOTOS, TRAIN_PHOTOS, photo_names, split_of_seed
from segcorr.data.matchsynth.scene3d import Camera, Face, render, trace
from segcorr.data.matchsynth.write import write_homography_pairs, write_scene_pairs
from segcorr.geometry import warp_grid


def bilinear(img: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    import cv2

    return cv2.remap(img.astype(np.float32), x.astype(np.float32), y.astype(np.float32), cv2.INTER_LINEAR)


def test_homography_fields_are_h_on_the_pixel_grid():
    rng = np.random.default_rng(1_000_000)
    src = (rng.random((96, 128, 3)) * 255).astype(np.uint8)
    p = homography_pair(rng, src, 48, 64)
    np.testing.assert_allclose(p["corr01"], warp_grid(p["H"], 48, 64), atol=1e-3)
    np.testing.assert_allclose(p["corr10"], warp_grid(np.linalg.inv(p["H"]), 48, 64), atol=1e-3)
    for c, v in ((p["corr01"], p["valid01"]), (p["corr10"], p["valid10"])):
        assert v.mean() >= 0.2
        assert (c[0][v] >= 0).all() and (c[0][v] <= 63).all() and (c[1][v] <= 47).all()


def test_homography_images_agree_through_the_field():
    rng = np.random.default_rng(1_000_001)
    import cv2

    src = cv2.GaussianBlur((rng.random((128, 160, 3)) * 255).astype(np.uint8), (0, 0), 3)
    p = homography_pair(rng, src, 64, 96, strength=0.5)
    g0, g1 = p["image0"].mean(axis=2), p["image1"].mean(axis=2)
    warped = bilinear(g1, p["corr01"][0], p["corr01"][1])
    v = p["valid01"]
    assert np.median(np.abs(warped[v] - g0[v])) < 2.0
    shuffled = np.roll(g0, 17, axis=1)
    assert np.median(np.abs(warped[v] - shuffled[v])) > 3 * np.median(np.abs(warped[v] - g0[v]))


@pytest.fixture(scope="module")
def scene():
    return render_scene_pair(1_000_003, 64, 96)


def test_scene_field_is_depth_and_pose_reprojection(scene):
    p = scene
    h, w = p["depth0"].shape
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    v = p["valid01"]
    assert v.mean() >= 0.25
    z = p["depth0"][v]
    X0 = np.stack([xs[v], ys[v], np.ones(v.sum())], 1) @ np.linalg.inv(p["K0"]).T * z[:, None]
    X1 = X0 @ p["T_0to1"][:3, :3].T + p["T_0to1"][:3, 3]
    x1 = X1 @ p["K1"].T
    x1 = x1[:, :2] / x1[:, 2:]
    np.testing.assert_allclose(np.stack([p["corr01"][0][v], p["corr01"][1][v]], 1), x1, atol=1e-3)
    # the point's depth in camera 1 is what camera 1 sees there (away from depth edges)
    d1 = bilinear(p["depth1"], p["corr01"][0], p["corr01"][1])[v]
    rel = np.abs(d1 - X1[:, 2]) / X1[:, 2]
    assert np.median(rel) < 1e-3


def test_scene_round_trip_and_images(scene):
    p = scene
    v = p["valid01"]
    xb = np.clip(np.rint(p["corr01"][0]), 0, 95).astype(int)
    yb = np.clip(np.rint(p["corr01"][1]), 0, 63).astype(int)
    back = [bilinear(p["corr10"][c], p["corr01"][0], p["corr01"][1]) for c in (0, 1)]
    ys, xs = np.mgrid[0:64, 0:96]
    err = np.hypot(back[0] - xs, back[1] - ys)[v & p["valid10"][yb, xb]]
    assert np.median(err) < 0.05  # the fields invert each other (bilinear lookup; edges aside)
    g0, g1 = p["image0"].mean(axis=2), p["image1"].mean(axis=2)
    warped = bilinear(g1, p["corr01"][0], p["corr01"][1])
    assert np.median(np.abs(warped[v] - g0[v])) < 0.5 * np.median(np.abs(np.roll(g0, 9, axis=1)[v] - g0[v]))


def test_occlusion_by_a_board_is_invalid():
    flat = np.full((8, 8, 3), 200, np.uint8)
    wall = Face(np.array([-20.0, -20.0, 10.0]), np.array([40.0, 0, 0]), np.array([0, 40.0, 0]), flat)
    board = Face(np.array([-0.5, -0.5, 3.0]), np.array([1.0, 0, 0]), np.array([0, 1.0, 0]), flat)
    K = np.array([[50.0, 0, 31.5], [0, 50.0, 23.5], [0, 0, 1]])
    cam0 = Camera(K, np.eye(3), np.zeros(3), 48, 64)
    cam1 = Camera(K, np.eye(3), np.array([-1.0, 0, 0]), 48, 64)  # camera 1 one unit to the right
    from segcorr.data.matchsynth.scene3d import correspondence

    _, depth0, face0 = render([wall, board], cam0, np.ones(2))
    corr, valid = correspondence([wall, board], cam0, cam1, depth0, face0)
    assert (face0 == 1).sum() > 50 and valid[face0 == 1].all()  # the board is seen by both
    # wall pixels whose point falls behind the board in camera 1 are occluded there
    _d1, f1, _ = trace([wall, board], cam1, np.stack([corr[0][face0 == 0], corr[1][face0 == 0]], 1))
    hidden = f1 == 1
    assert hidden.sum() > 20
    assert not valid[face0 == 0][hidden].any()


def test_seeds_are_deterministic_and_splits_by_range():
    a = make_pair(1_000_005, 64, 96)
    b = make_pair(1_000_005, 64, 96)
    np.testing.assert_array_equal(a["image0"], b["image0"])
    np.testing.assert_array_equal(a["corr01"], b["corr01"])
    assert split_of_seed(0) == "eval" and split_of_seed(500_000) == "val" and split_of_seed(1_000_000) == "train"
    assert photo_names("eval") == EVAL_PHOTOS and not set(EVAL_PHOTOS) & set(TRAIN_PHOTOS)


def test_dataset_tensors():
    ds = MatchSynthDataset(1_000_000, 4, 64, 96, scene_share=0.5)
    kinds = set()
    for i in range(len(ds)):
        s = ds[i]
        assert s["image0"].shape == (1, 64, 96) and s["image0"].dtype.is_floating_point
        assert float(s["image0"].min()) >= 0 and float(s["image0"].max()) <= 1
        assert s["corr01"].shape == (2, 64, 96) and s["valid01"].dtype == torch.bool
        assert s["K0"].shape == (3, 3) and s["T_0to1"].shape == (4, 4)
        kinds.add(bool(s["is_scene"]))
    assert kinds == {True, False}  # both kinds in the mix
    with pytest.raises(ValueError, match="multiples of 32"):
        MatchSynthDataset(1_000_000, 1, 60, 96)


def test_write_homography_pairs_is_readable(tmp_path):
    from segcorr.data.matchsets import open_match_dataset

    out = write_homography_pairs(tmp_path / "w", 2, seed=0, height=64, width=96)
    ds = open_match_dataset(out)
    assert len(ds) == 2 and ds[0].img0.shape == (64, 96, 3)
    with pytest.raises(ValueError, match="0..499999"):
        write_homography_pairs(tmp_path / "x", 1, seed=1_000_000)


def test_write_homography_pairs_from_given_photos_takes_validation_seeds_only(tmp_path):
    from segcorr.data.matchsets import open_match_dataset
    from segcorr.io.image import write_image

    a, b = tmp_path / "a.png", tmp_path / "b.png"
    write_image(a, np.full((120, 160, 3), 40, np.uint8))
    write_image(b, (np.random.default_rng(0).random((120, 160, 3)) * 255).astype(np.uint8))
    out = write_homography_pairs(tmp_path / "v", 2, seed=500_300, height=64, width=96, photos=[a, b])
    ds = open_match_dataset(out)
    assert len(ds) == 2
    # pair 0 comes from the flat photo a, pair 1 from the noisy photo b (photometric changes aside)
    assert ds[0].img0.std() < 0.5 * ds[1].img0.std()
    for seed in (0, 1_000_000):
        with pytest.raises(ValueError, match="500000..999999"):
            write_homography_pairs(tmp_path / "x", 1, seed=seed, photos=[a])


def test_write_scene_pairs_is_a_pose_set_whose_truth_fits_the_scene(tmp_path):
    from segcorr.data.matchsets import open_match_dataset

    out = write_scene_pairs(tmp_path / "s", 2, seed=500_000, height=64, width=96)
    ds = open_match_dataset(out)
    assert len(ds) == 2 and ds[1].kind == "pose" and ds[1].img1.shape == (64, 96, 3)
    p = render_scene_pair(500_001, 64, 96)
    np.testing.assert_allclose(ds[1].T_0to1, p["T_0to1"], rtol=1e-8, atol=1e-9)
    np.testing.assert_allclose(ds[1].K1, p["K1"], rtol=1e-8)
    assert np.array_equal(ds[1].img0, p["image0"])
    # the written pose maps camera 0's 3-D points (depth0) onto image 1 where the correspondence field says
    K0, K1, T = ds[1].K0, ds[1].K1, ds[1].T_0to1
    ys, xs = np.nonzero(p["valid01"])
    X0 = np.linalg.inv(K0) @ np.stack([xs, ys, np.ones_like(xs)]).astype(np.float64) * p["depth0"][ys, xs]
    x1 = K1 @ (T[:3, :3] @ X0 + T[:3, 3:])
    np.testing.assert_allclose(x1[:2] / x1[2], p["corr01"][:, ys, xs], atol=0.05)
    with pytest.raises(ValueError, match="500000..999999"):
        write_scene_pairs(tmp_path / "x", 1, seed=0)
