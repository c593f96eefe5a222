"""`segcorr track` and `segcorr eval track` end to end with a tiny random-weight model saved like shipped weights
(object-score head forced positive so objects stay present), plus the evaluation protocol on an oracle method
and the YTVIS results writer."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch

from segcorr.cli import main
from segcorr.io.image import write_image
from segcorr.io.labelmap import read_labelmap
from segcorr.io.rle import decode_mask
from segcorr.io.weights import save_weights
from segcorr.segment.model import build
from segcorr.segment.track_eval import ClipReader, clip_dirs, score_clip, track_clip
from segcorr.segment.track_output import YTVISResults, sheet_frames
from segcorr.segment.tracker import FrameResult

H, W, T = 48, 64, 5


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    torch.manual_seed(0)
    m = build("sam3-test")
    with torch.no_grad():
        m.mask_decoder.pred_obj_score_head.weight.zero_()
        m.mask_decoder.pred_obj_score_head.bias.fill_(10.0)
    path = tmp_path_factory.mktemp("w") / "tiny.safetensors"
    save_weights(m, path, {"name": "sam3-test", "config": json.dumps(dataclasses.asdict(m.config))})
    return str(path)


def _frames(t_count=T, size=(H, W)):
    out = []
    for t in range(t_count):
        img = np.full((*size, 3), 225, np.uint8)
        img[10:26, 8 + 2 * t : 24 + 2 * t] = (200, 40, 40)
        img[28:44, 40:56] = (40, 60, 200)
        out.append(img)
    return out


@pytest.fixture
def frames_dir(tmp_path):
    d = tmp_path / "frames"
    for t, img in enumerate(_frames()):
        write_image(d / f"f_{t:04d}.png", img)
    return d


def rc(argv, capsys=None):
    try:
        main(argv)
    except SystemExit as e:
        return int(e.code or 0)
    return 0


def test_track_writes_labels_masklets_and_sheet(weights, frames_dir, tmp_path):
    out = tmp_path / "o"
    assert (
        rc(
            [
                "track",
                str(frames_dir),
                "--out",
                str(out),
                "--weights",
                weights,
                "--refine",
                "none",
                "--point",
                "0,16,18",
                "--box",
                "2,40,28,56,44",
                "--text",
                "red box",
                "--text",
                "red  box",
                "--detect-every",
                "2",
            ]
        )
        == 0
    )
    labels = [read_labelmap(out / f"labels_{t:03d}.png") for t in range(T)]
    assert all(lab.shape == (H, W) for lab in labels)
    doc = json.loads((out / "masklets.json").read_text())
    assert isinstance(doc, list) and doc
    for e in doc:
        assert {"video_id", "category_id", "score", "segmentations"} <= set(e)
        assert len(e["segmentations"]) == T
    by_id = {e["obj_id"]: e for e in doc}
    assert by_id[1]["query"] == "point on frame 0" and by_id[2]["query"] == "box on frame 2"
    assert by_id[2]["segmentations"][:2] == [None, None]  # prompted on frame 2: nothing before
    assert len({(e["video_id"], e["category_id"]) for e in doc if e["query"] != "red box"}) == 2
    assert len({e["category_id"] for e in doc if e["query"] == "red box"}) <= 1  # the phrase twice: one query
    for e in doc:  # every RLE decodes to the label map's pixels of that id
        for t, rle in enumerate(e["segmentations"]):
            if rle is not None:
                assert np.array_equal(decode_mask(rle), labels[t] == e["obj_id"])
    assert (out / "overlay.png").exists()


def test_track_reads_a_video_file(weights, tmp_path):
    import cv2

    video = tmp_path / "v.avi"
    vw = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 5, (W, H))
    for img in _frames():
        vw.write(cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
    vw.release()
    out = tmp_path / "o"
    assert (
        rc(["track", str(video), "--out", str(out), "--weights", weights, "--refine", "none", "--point", "0,16,18"])
        == 0
    )
    assert len(list(out.glob("labels_*.png"))) == T
    assert len(json.loads((out / "masklets.json").read_text())[0]["segmentations"]) == T


@pytest.mark.parametrize(
    "args, msg",
    [
        (["--point", "9,16,18"], "frame 9"),
        (["--point", "0,500,18"], "outside"),
        (["--box", "0,40,28,20,44"], "x1 > x0"),
        (["--point", "0,16"], "F,x,y"),
        (["--neg-point", "0,16,18"], "needs the ID"),
        (["--point", "0,16,18,0"], "object ID"),
        ([], "nothing to track"),
        (["--text", " "], "non-empty"),
        (["--point", "0,16,18", "--mode", "memory"], "memory weights"),
        (["--point", "0,16,18", "--motion", "warp"], "unknown --motion"),
    ],
)
def test_track_bad_input_is_one_line_and_exit_2(weights, frames_dir, tmp_path, capsys, args, msg):
    assert rc(["track", str(frames_dir), "--out", str(tmp_path / "o"), "--weights", weights] + args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and msg in err[0]
    assert not (tmp_path / "o").exists()  # nothing written, not even the folder


def test_a_clips_folder_gives_its_frames_not_its_label_maps(tmp_path):
    from segcorr.segment.frames import FrameSource

    d = tmp_path / "clip"
    for t, img in enumerate(_frames(3)):
        write_image(d / f"frame_{t:03d}.png", img)
        write_image(d / f"seg_{t:03d}.png", img[..., 0])
        write_image(d / f"inst_{t:03d}.png", img[..., 1])
    src = FrameSource(d)
    assert len(src) == 3 and [src.name(t) for t in range(3)] == [f"frame_{t:03d}.png" for t in range(3)]
    assert len(list(src)) == 3
    other = tmp_path / "plain"
    for name in ("a.png", "seg_b.png"):
        write_image(other / name, _frames(1)[0])
    assert len(FrameSource(other)) == 2  # no frame_* files: every image is a frame


def test_track_bad_sources(weights, tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert rc(["track", str(empty), "--out", str(tmp_path / "o"), "--point", "0,1,1", "--weights", weights]) == 2
    assert "no frames" in capsys.readouterr().err
    bad = tmp_path / "bad.mp4"
    bad.write_text("not a video")
    assert rc(["track", str(bad), "--out", str(tmp_path / "o"), "--point", "0,1,1", "--weights", weights]) == 2
    assert "not a readable video" in capsys.readouterr().err


def test_undecodable_video_is_one_line_without_ffmpeg_logs(tmp_path):
    """FFmpeg prints its own complaints straight to the process's stderr; the command's one line must stay alone.
    In a fresh process, as users run it (FFmpeg reads its log level once, on the first video a process opens)."""
    import subprocess
    import sys

    bad = tmp_path / "noise.mp4"
    bad.write_bytes(np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    argv = [sys.executable, "-m", "segcorr", "track", str(bad), "--out", str(tmp_path / "o"), "--point", "0,1,1"]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2
    line = f"segcorr: error: {bad}: not a readable video (OpenCV could not decode a frame)"
    assert r.stderr.strip().splitlines() == [line]
    assert not (tmp_path / "o").exists()


def test_frames_of_another_size_stop_with_outputs_so_far_complete(weights, tmp_path, capsys):
    d = tmp_path / "mixed"
    imgs = _frames(3) + _frames(1, size=(H + 8, W))
    for t, img in enumerate(imgs):
        write_image(d / f"f_{t:04d}.png", img)
    out = tmp_path / "o"
    assert rc(["track", str(d), "--out", str(out), "--weights", weights, "--refine", "none", "--point", "0,16,18"]) == 2
    assert "one size" in capsys.readouterr().err
    assert sorted(p.name for p in out.glob("labels_*.png")) == [f"labels_{t:03d}.png" for t in range(3)]
    doc = json.loads((out / "masklets.json").read_text())
    assert len(doc[0]["segmentations"]) == 3 and (out / "overlay.png").exists()


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    from segcorr.data.synth import write_clips

    return write_clips(tmp_path_factory.mktemp("clips"), 1, seed=0, num_frames=3, height=64, width=96, progress=False)


class _Oracle:
    """Answers every frame with the true instance map: the protocol must then score 1 everywhere."""

    def __init__(self, clip):
        self.clip = clip
        self.tracks = {}

    def reset(self):
        self.t = 0

    def add_text(self, phrase):
        pass

    def step(self, frame, prompts):
        inst = self.clip.instance_map(self.t)
        ids = [k for k in sorted(self.clip.instances) if k in np.unique(inst)]
        self.tracks = {k: type("T", (), {"phrase": self.clip.instances[k]["concept"]})() for k in ids}
        r = FrameResult(
            self.t, ids, np.stack([inst == k for k in ids]), np.ones(len(ids), np.float32), np.ones(len(ids), bool)
        )
        self.t += 1
        return r


@pytest.mark.parametrize("prompt", ["mask", "text"])
def test_protocol_scores_a_perfect_method_at_one(clips, prompt):
    clip = ClipReader(clip_dirs(clips)[0])
    pred, gt, _, phrases = track_clip(_Oracle(clip), clip, prompt)
    scores = score_clip(pred, gt, clip, prompt, phrases)
    assert scores and all(s.j == 1.0 and s.f == 1.0 and s.st_iou == 1.0 for s in scores)
    empty = score_clip(np.zeros_like(pred), gt, clip, prompt, phrases)
    assert all(s.st_iou == 0.0 for s in empty)


@pytest.mark.parametrize("method", ["builtin", "flow-propagate-dis"])
def test_eval_track_writes_the_metric_keys(weights, clips, tmp_path, method):
    js = tmp_path / "m.json"
    assert rc(["eval", "track", "--data", str(clips), "--method", method, "--weights", weights, "--json", str(js)]) == 0
    res = json.loads(js.read_text())
    assert {"method", "data", "count", "j", "f", "jf", "st_iou", "ms_per_frame", "peak_rss_mb"} <= set(res)
    assert res["count"] == 1 and 0 <= res["j"] <= 1 and res["peak_rss_mb"] > 0


def test_eval_track_motion_option_reaches_the_tracker(weights, clips, tmp_path):
    from segcorr.segment.track_eval import make_method

    assert make_method("builtin", weights=weights, motion="flow").config.motion == "flow"
    assert make_method("builtin", weights=weights).config.motion == "regions"
    js = tmp_path / "m.json"
    args = ["eval", "track", "--data", str(clips), "--method", "builtin", "--weights", weights, "--json", str(js)]
    assert rc(args + ["--motion", "flow"]) == 0 and json.loads(js.read_text())["count"] == 1
    assert rc(args + ["--motion", "warp"]) == 2


def test_eval_track_bad_input(clips, tmp_path, capsys):
    assert rc(["eval", "track", "--data", str(clips), "--method", "nope"]) == 2
    assert rc(["eval", "track", "--data", str(clips), "--method", "flow-propagate-dis", "--prompt", "text"]) == 2
    assert "mask prompts only" in capsys.readouterr().err
    assert rc(["eval", "track", "--data", str(tmp_path), "--method", "flow-propagate-dis"]) == 2
    assert "no clip folders" in capsys.readouterr().err
    import shutil

    from segcorr.io.labelmap import read_labelmap, write_labelmap

    cut = tmp_path / "cut"
    shutil.copytree(clips, cut)
    inst = next(cut.glob("*/inst_002.png"))
    write_labelmap(inst, read_labelmap(inst)[:40, :50])  # a later frame's ground truth of another size
    assert rc(["eval", "track", "--data", str(cut), "--method", "flow-propagate-dis"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "inst_002.png" in err[0] and "50x40" in err[0], err


def test_reentries_count_returns_under_the_same_id():
    from segcorr.segment.track_eval import reentries

    gt = np.zeros((6, 4, 4), np.uint16)
    gt[[0, 1, 4, 5], :2, :2] = 3  # object 3 leaves on frame 2 and returns on frame 4
    pred = gt.copy()
    assert reentries(pred, gt, [3]) == (1, 1)
    swapped = np.where(gt == 3, 7, 0).astype(np.uint16)
    swapped[:2] = gt[:2]
    assert reentries(swapped, gt, [3]) == (1, 0)  # it came back under another id


def test_ytvis_results_deduplicate_by_video_and_category():
    r = YTVISResults()
    assert r.add(1, 3, [{"score": 0.5, "segmentations": [None]}, {"score": 0.4, "segmentations": [None]}])
    assert not r.add(1, 3, [{"score": 0.9, "segmentations": [None]}])  # the same query again: dropped
    assert r.add(2, 3, [{"score": 0.9, "segmentations": [None]}])
    doc = json.loads(r.to_json())
    assert [(e["video_id"], e["category_id"], e["score"]) for e in doc] == [(1, 3, 0.5), (1, 3, 0.4), (2, 3, 0.9)]


def test_sheet_frames_spread_and_include_the_ends():
    assert sheet_frames(5) == [0, 1, 2, 3, 4]
    s = sheet_frames(100, 12)
    assert s[0] == 0 and s[-1] == 99 and len(s) == 12
    assert sheet_frames(0) == []
