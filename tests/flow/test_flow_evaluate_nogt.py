"""Evaluation without ground truth: the forward-backward check, warp error, the frames-only pairs reader, the
contact sheet and `segcorr eval flow` on a folder without _flow.flo files."""

from __future__ import annotations

import json

import numpy as np
import pytest

from segcorr.cli import main
from segcorr.data.flowsets import is_frames_only, open_frame_pairs
from segcorr.data.pairs import has_flow_files
from segcorr.errors import InputError
from segcorr.flow.evaluate import classical_method
from segcorr.flow.evaluate_nogt import (
    SHEET_MAX_WIDTH,
    evaluate_without_gt,
    fb_consistent,
    grey,
    score_pair,
    write_sheet,
)
from segcorr.io.flo import write_flo
from segcorr.io.image import read_image, write_image
from segcorr.io.labelmap import write_labelmap

H, W = 24, 32
SHIFT = (3, 2)  # frame 1 is frame 0 moved right by 3 px and down by 2 px


def _textured(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    import cv2

    small = rng.integers(0, 256, (h // 4 + 1, w // 4 + 1, 3), dtype=np.uint8)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def _shifted_pair(seed: int, h: int = H, w: int = W) -> tuple[np.ndarray, np.ndarray]:
    big = _textured(np.random.default_rng(seed), h + 8, w + 8)
    dx, dy = SHIFT
    return big[4 : 4 + h, 4 : 4 + w].copy(), big[4 - dy : 4 - dy + h, 4 - dx : 4 - dx + w].copy()


def _const(u: float, v: float, h: int = H, w: int = W) -> np.ndarray:
    return np.stack([np.full((h, w), u, np.float32), np.full((h, w), v, np.float32)])


def _oracle(img0, img1, pair):
    """The true motion of `_shifted_pair` (pair name = its seed), played either way."""
    s = 1.0 if np.array_equal(img0, _shifted_pair(int(pair.name))[0]) else -1.0
    return _const(s * SHIFT[0], s * SHIFT[1], *img0.shape[:2])


@pytest.fixture
def frames_dir(tmp_path):
    for i in range(2):
        a, b = _shifted_pair(i)
        write_image(tmp_path / f"{i:05d}_img0.png", a)
        write_image(tmp_path / f"{i:05d}_img1.png", b)
    write_labelmap(tmp_path / "00000_seg0.png", np.ones((H, W), np.int32))
    return tmp_path


def test_fb_check_keeps_consistent_motion_inside_the_frame_and_rejects_the_rest():
    assert fb_consistent(_const(0, 0), _const(0, 0)).all()
    keep = fb_consistent(_const(3, 0), _const(-3, 0))
    assert keep[:, : W - 3].all() and not keep[:, W - 3 :].any()  # the last 3 columns land outside frame 1
    assert not fb_consistent(_const(3, 0), _const(3, 0)).any()  # does not come back
    # within the tolerance alpha1 |w|^2 + alpha2: 0.5 px^2 at small motion
    assert fb_consistent(_const(1, 0), _const(-1.6, 0))[:, :8].all()
    assert not fb_consistent(_const(1, 0), _const(-1.8, 0))[:, :8].any()


def test_true_flow_has_no_warp_error_where_the_check_passes_and_zero_flow_scores_the_frame_difference():
    a, b = _shifted_pair(0)
    true = score_pair("p", a, b, _const(*SHIFT), _const(-SHIFT[0], -SHIFT[1]))
    assert true.warp_fb == pytest.approx(0, abs=1e-3)
    assert true.fb_keep == pytest.approx((H - SHIFT[1]) * (W - SHIFT[0]) / (H * W))
    zero = score_pair("p", a, b, _const(0, 0), _const(0, 0))
    want = np.abs(grey(a) - grey(b)).mean()
    assert zero.warp == pytest.approx(want, rel=1e-5) and zero.warp_fb == pytest.approx(want, rel=1e-5)
    assert zero.fb_keep == 1.0 and zero.warp > 5 * true.warp_fb + 1


def test_score_pair_rejects_a_flow_of_the_wrong_shape():
    a, b = _shifted_pair(0)
    with pytest.raises(InputError, match="backward flow"):
        score_pair("p", a, b, _const(0, 0), np.zeros((2, H, W - 1), np.float32))


def test_frames_only_folder_is_read_without_flow_and_with_its_label_maps(frames_dir):
    assert is_frames_only(frames_dir) and not has_flow_files(frames_dir)
    ds = open_frame_pairs(frames_dir)
    assert len(ds) == 2 and ds[0].name == "00000"
    p = ds[0]
    assert p.img0.shape == (H, W, 3) and p.seg0 is not None and p.seg1 is None
    q = p.swapped()
    assert q.img0 is p.img1 and q.seg1 is p.seg0 and q.seg0 is None
    write_flo(frames_dir / "00000_flow.flo", _const(0, 0))
    assert has_flow_files(frames_dir) and not is_frames_only(frames_dir)


def test_frames_only_folder_with_a_missing_partner_frame_is_an_input_error(frames_dir):
    (frames_dir / "00001_img1.png").unlink()
    with pytest.raises(InputError, match="00001_img1.png"):
        open_frame_pairs(frames_dir)


def test_evaluation_reports_set_and_per_pair_figures_and_writes_a_labelled_sheet(frames_dir, tmp_path):
    sheet = tmp_path / "sheet.png"
    r = evaluate_without_gt(open_frame_pairs(frames_dir), _oracle, "oracle", "t", progress=False, sheet=sheet)
    assert r["count"] == 2 and r["method"] == "oracle" and r["ms_per_item"] >= 0
    assert r["warp_fb"] == pytest.approx(0, abs=1e-3) and 0.8 < r["fb_keep"] < 1
    assert r["warp_fb_00000"] == pytest.approx(0, abs=1e-3) and r["fb_keep_00001"] == r["fb_keep"]
    z = evaluate_without_gt(open_frame_pairs(frames_dir), classical_method("zero"), "zero", "t", progress=False)
    assert z["fb_keep"] == 1.0 and z["warp"] > 1
    img = read_image(sheet)
    assert img.shape[1] <= SHEET_MAX_WIDTH and img.shape[0] > 2 * H  # two rows of tiles under title bars
    assert (img[:10] < 128).any()  # the title is drawn


def test_sheet_of_wide_frames_is_at_most_1600_px_wide(tmp_path):
    wide = np.zeros((20, 3000, 3), np.uint8)
    sheet = write_sheet(tmp_path / "s.png", [([wide] * 4, ["a", "b", "c", "d"])], "title")
    assert sheet.shape[1] == SHEET_MAX_WIDTH and read_image(tmp_path / "s.png").shape == sheet.shape


def run(args: list) -> int:
    try:
        main([str(a) for a in args])
    except SystemExit as e:
        return int(e.code or 0)
    return 0


def test_cli_eval_flow_without_ground_truth_writes_json_and_sheet(frames_dir, tmp_path):
    js, sheet = tmp_path / "m.json", tmp_path / "sheet.png"
    assert run(["eval", "flow", "--data", frames_dir, "--method", "zero", "--json", js, "--sheet", sheet]) == 0
    r = json.loads(js.read_text())
    assert r["count"] == 2 and r["fb_keep"] == 1.0 and r["warp"] > 1 and "warp_fb_00001" in r
    assert read_image(sheet).shape[1] <= SHEET_MAX_WIDTH


def test_cli_sheet_on_a_set_with_ground_truth_is_refused(frames_dir, tmp_path, capsys):
    for i in range(2):
        write_flo(frames_dir / f"{i:05d}_flow.flo", _const(0, 0))
    assert run(["eval", "flow", "--data", frames_dir, "--method", "zero", "--sheet", tmp_path / "s.png"]) == 2
    assert "--sheet" in capsys.readouterr().err


def test_cli_learned_method_with_the_polish_option_on_frames_only(tmp_path):
    a, b = _shifted_pair(3, 64, 80)
    d = tmp_path / "pairs"
    write_image(d / "00000_img0.png", a)
    write_image(d / "00000_img1.png", b)
    js = tmp_path / "m.json"
    args = ["eval", "flow", "--data", d, "--method", "aniflowformer-v3", "--polish-iters", "1", "--json", js]
    assert run(args) == 0
    r = json.loads(js.read_text())
    assert r["count"] == 1 and 0 <= r["fb_keep"] <= 1 and r["warp"] >= 0
    assert run(["eval", "flow", "--data", d, "--method", "zero", "--polish-iters", "-1"]) == 2
