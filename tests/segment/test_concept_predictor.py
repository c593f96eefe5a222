"""Sam3Predictor, the builtin backend and `segcorr segment` with a tiny random-weight model saved like shipped
weights (the shipped file's figures live in its model card; these tests check behaviour and bad input)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from segcorr.cli import main
from segcorr.errors import InputError
from segcorr.io.image import write_image
from segcorr.segment import build as build_segmenter
from segcorr.segment.base import Prompts
from segcorr.segment.predictor import Sam3Predictor, as_rgb_uint8
from segcorr.segment.snap import snap_to_regions


@pytest.fixture(scope="module")
def image():
    rng = np.random.default_rng(0)
    img = np.full((48, 80, 3), 200, np.uint8)
    img[10:30, 20:50] = (200, 40, 40)
    return np.clip(img.astype(int) + rng.integers(-3, 4, img.shape), 0, 255).astype(np.uint8)


def test_predict_points_boxes_masks_and_text(weights, image):
    p = Sam3Predictor.from_pretrained(str(weights))
    p.set_image(image)
    masks, iou, _low, _obj = p.predict(np.array([[30.0, 20.0]]), np.array([1]), multimask_output=True)
    assert masks.shape == (3, 48, 80) and masks.dtype == bool and iou.shape == (3,)
    assert (np.diff(iou) <= 1e-6).all()  # best first
    m1, _, low1, _ = p.predict(box=np.array([20, 10, 50, 30]))
    assert m1.shape == (1, 48, 80)
    m2, _, _, _ = p.predict(mask_input=low1[0])
    assert m2.shape == (1, 48, 80)
    r = p.predict_text("red hair", threshold=0.0)
    assert 0.0 <= r.presence <= 1.0 and r.masks.shape[1:] == (48, 80) and len(r.scores) == len(r.boxes)
    assert (r.scores <= r.presence + 1e-6).all()  # presence multiplies every instance's score


@pytest.mark.parametrize(
    "kw, msg",
    [
        ({"point_coords": np.array([[200.0, 5.0]])}, "outside"),
        ({"box": np.array([50, 10, 20, 30])}, "x1 > x0"),
        ({"box": np.array([1, 2, 3])}, "4 numbers"),
        ({"point_coords": np.array([[5.0, 5.0]]), "point_labels": np.array([3])}, "labels 0 or 1"),
        ({}, "at least one"),
    ],
)
def test_bad_prompts(weights, image, kw, msg):
    p = Sam3Predictor.from_pretrained(str(weights))
    p.set_image(image)
    with pytest.raises(InputError, match=msg):
        p.predict(**kw)


def test_bad_phrases_and_images(weights, image):
    p = Sam3Predictor.from_pretrained(str(weights))
    p.set_image(image)
    with pytest.raises(InputError, match="non-empty"):
        p.predict_text("   ")
    with pytest.raises(InputError, match="at most"):
        p.predict_text("hair " * 100)
    with pytest.raises(InputError, match="sides of"):
        p.set_image(np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(InputError, match="dtype"):
        p.set_image(np.zeros((32, 32, 3), np.float32))


def test_rgba_grey_and_16_bit_inputs():
    rgba = np.zeros((20, 20, 4), np.uint8)
    rgba[..., 0] = 255
    rgba[..., 3] = 0  # fully transparent: white
    assert (as_rgb_uint8(rgba) == 255).all()
    grey16 = np.full((20, 20), 65535, np.uint16)
    out = as_rgb_uint8(grey16)
    assert out.shape == (20, 20, 3) and out.dtype == np.uint8 and (out == 255).all()


def test_snap_follows_regions_and_keeps_unlabelled_pixels():
    labels = np.array([[1, 1, 0, 2, 2]])
    prob = np.array([[0.9, 0.3, 0.8, 0.4, 0.2]])
    assert snap_to_regions(prob, labels).tolist() == [[False, False, True, False, False]]
    prob2 = np.array([[0.9, 0.7, 0.1, 0.6, 0.2]])
    assert snap_to_regions(prob2, labels).tolist() == [[True, True, False, False, False]]


def test_builtin_backend_caches_the_embedding(weights, image, monkeypatch):
    seg = build_segmenter("builtin", weights=str(weights), grid=4)
    calls = []
    orig = seg.predictor.set_image
    monkeypatch.setattr(seg.predictor, "set_image", lambda img: (calls.append(1), orig(img)))
    a = seg.segment(image, Prompts(points=np.array([[30.0, 20.0]]), point_labels=np.array([1])))
    b = seg.segment(image.copy(), Prompts(boxes=np.array([[20.0, 10, 50, 30], [0, 0, 10, 10]])))
    t = seg.segment(image, Prompts(text=["red hair"]))
    assert len(calls) == 1
    assert len(a) == 1 and len(b) == 2 and b.boxes.shape == (2, 4)
    assert t.presence is not None and all(i == "red hair" for i in (t.ids or []))
    labels = seg.segment_all(image)
    assert labels.shape == image.shape[:2] and labels.dtype == np.int32


def test_cli_segment_builtin_writes_masks_json(weights, image, tmp_path):
    src = tmp_path / "img.png"
    write_image(src, image)
    out = tmp_path / "o"
    out.mkdir()
    argv = [
        "segment",
        str(src),
        "--out",
        str(out),
        "--weights",
        str(weights),
        "--point",
        "30,20",
        "--box",
        "20,10,50,30",
    ]
    for name in ("mask_00.png", "mask_01.png", "mask_07.png", "notes.txt"):  # an earlier run's files, a user's file
        (out / name).write_bytes(b"old")
    (out / "mask_02.png").mkdir()
    assert main_rc(argv) == 0
    meta = json.loads((out / "masks.json").read_text())
    assert meta["presence"] is None and len(meta["masks"]) == 1  # the click joins the one box
    # the folder holds what masks.json lists: an earlier run's extra masks are gone, other files stay
    assert sorted(p.name for p in out.glob("mask_*.png") if p.is_file()) == ["mask_00.png"]
    assert (out / "notes.txt").exists() and (out / "mask_02.png").is_dir()
    assert (out / "mask_00.png").read_bytes() != b"old"
    rec = meta["masks"][0]
    assert set(rec) == {"file", "score", "iou_pred", "box", "prompt"} and (out / rec["file"]).exists()
    out2 = tmp_path / "t"
    assert main_rc(["segment", str(src), "--out", str(out2), "--weights", str(weights), "--text", "red hair"]) == 0
    meta2 = json.loads((out2 / "masks.json").read_text())
    assert isinstance(meta2["presence"], float)


@pytest.mark.parametrize(
    "args, msg",
    [
        (["--text", "  "], "non-empty"),
        (["--text", "x" * 300], "at most"),
        (["--point", "500,5"], "outside"),
        (["--box", "50,10,20,30"], "x1 > x0"),
        (["--box", "0,0,500,30"], "outside"),
        (["--neg-point", "5,5"], "needs a --point"),
        (["--segmenter", "nope", "--point", "5,5"], "unknown segmenter"),
    ],
)
def test_cli_segment_bad_input(weights, image, tmp_path, capsys, args, msg):
    src = tmp_path / "img.png"
    write_image(src, image)
    out = tmp_path / "o"
    assert main_rc(["segment", str(src), "--out", str(out), "--weights", str(weights), *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and msg in err[0]
    assert not out.exists()


def main_rc(argv: list[str]) -> int:
    try:
        main(argv)
    except SystemExit as e:
        return int(e.code or 0)
    return 0


def test_snap_clicks_decide_their_regions():
    labels = np.array([[1, 1, 1, 0, 2, 2]])
    prob = np.array([[0.1, 0.2, 0.9, 0.9, 0.9, 0.8]])
    out = snap_to_regions(prob, labels, positive=np.array([[0.0, 0.0]]), negative=np.array([[5.0, 0.0]]))
    assert out.tolist() == [[True, True, True, True, False, False]]


def test_snap_keeps_a_box_answer_inside_its_box():
    labels = np.array([[1, 1, 2, 2, 0, 0, 3, 3]])
    prob = np.full((1, 8), 0.9)
    # box over pixels 0..4: region 3 and the label-0 pixel 5 lie outside; region 2 is wholly inside
    out = snap_to_regions(prob, labels, box=np.array([0.0, 0.0, 5.0, 1.0]))
    assert out.tolist() == [[True, True, True, True, True, False, False, False]]
    # a region half inside stays; one mostly outside goes
    assert snap_to_regions(prob, labels, box=np.array([0.0, 0.0, 3.0, 1.0])).tolist()[0][:4] == [True] * 4
    assert snap_to_regions(prob, labels, box=np.array([0.0, 0.0, 2.4, 1.0])).tolist()[0][:4] == [
        True,
        True,
        False,
        False,
    ]


def test_public_image_state_accessors(weights, image):
    p = Sam3Predictor.from_pretrained(str(weights))
    for name in ("features", "scale", "scaled_hw", "orig_hw"):
        with pytest.raises(RuntimeError, match=f"before reading {name}"):
            getattr(p, name)
    with pytest.raises(RuntimeError, match="before reading region_labels"):
        p.region_labels()
    p.set_image(image)
    s = p.image_size / 80
    assert p.orig_hw == (48, 80) and p.scale == pytest.approx(s)
    assert p.scaled_hw == (round(48 * s), round(80 * s))
    sh, sw = p.scaled_hw
    assert tuple(p.features["inter"][0].shape[-2:]) == (-(-sh // 32) * 8, -(-sw // 32) * 8)
    lab = p.region_labels()
    assert lab.shape == (48, 80) and lab.dtype == np.int64 and lab.max() >= 1
    assert p.region_labels() is lab  # computed once per image
    with pytest.raises(AttributeError):
        p.scale = 2.0  # read-only
    p.reset_image()
    with pytest.raises(RuntimeError, match="before reading features"):
        _ = p.features
