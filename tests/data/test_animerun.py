"""AnimeRun reader on a tiny fixture written here: 2 scenes x 3 frames, 32x24."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from segcorr.data.animerun import AnimeRunFlowDataset
from segcorr.data.flowsets import open_flow_dataset
from segcorr.errors import InputError
from segcorr.io.flo import write_flo
from segcorr.io.image import write_image

H, W = 24, 32
SCENES = ("sceneA", "sceneB")


def _make_root(root: Path, split: str = "test", occ_dir: str = "UnmatchedForward", line: bool = True) -> Path:
    """Frames hold their (scene, frame) index in pixel values; flows hold the pair index in u."""
    s = root / split
    for k, scene in enumerate(SCENES):
        (s / "Frame_Anime" / scene / "original").mkdir(parents=True)
        for sub in ("Flow/" + scene + "/forward", "Segment/" + scene, f"{occ_dir}/{scene}", "LineArea/" + scene):
            (s / sub).mkdir(parents=True, exist_ok=True)
        for i in range(3):
            write_image(
                s / "Frame_Anime" / scene / "original" / f"Image{i + 1:04d}.png",
                np.full((H, W, 3), 10 * k + i, np.uint8),
            )
            seg = np.zeros((H, W), np.int32)
            seg[:, i + 4 :] = 1  # AnimeRun ids start at 0
            np.save(s / "Segment" / scene / f"Image{i + 1:04d}.npy", seg)
        for i in range(2):
            # flows named by the first frame's number starting at 1, as released; pairs go by order
            write_flo(
                s / "Flow" / scene / "forward" / f"Image{i + 1:04d}.flo", np.full((2, H, W), 10 * k + i, np.float32)
            )
            matched = np.ones((H, W), np.uint8)
            matched[0] = 0  # first row occluded
            np.save(s / occ_dir / scene / f"Image{i + 1:04d}.npy", matched)
            if line:
                area = np.ones((H, W), np.uint8)
                area[:, 0] = 0  # first column is line
                np.save(s / "LineArea" / scene / f"Image{i + 1:04d}.npy", area)
    if not line:
        for scene in SCENES:
            (s / "LineArea" / scene).rmdir()
    return root


def test_pairs_follow_frame_order_within_each_scene(tmp_path):
    ds = open_flow_dataset(_make_root(tmp_path))
    assert isinstance(ds, AnimeRunFlowDataset)
    assert len(ds) == 4  # 2 scenes x (3 - 1) pairs
    assert [ds[i].name for i in range(4)] == [
        "sceneA/Image0001",
        "sceneA/Image0002",
        "sceneB/Image0001",
        "sceneB/Image0002",
    ]
    for i, (k, j) in enumerate([(0, 0), (0, 1), (1, 0), (1, 1)]):
        s = ds[i]
        assert s.img0.shape == (H, W, 3)
        assert s.img0[0, 0, 0] == 10 * k + j and s.img1[0, 0, 0] == 10 * k + j + 1
        assert s.flow.shape == (2, H, W) and s.flow[0, 0, 0] == 10 * k + j


def test_occlusion_line_and_segment_conventions(tmp_path):
    s = open_flow_dataset(_make_root(tmp_path))[1]
    assert s.occ.dtype == bool and s.occ[0].all() and not s.occ[1:].any()  # 1 = matched = not occluded
    assert s.line[:, 0].all() and s.line.sum() == H  # 0 in LineArea = line
    assert s.seg0.dtype == np.int32 and s.seg0.min() == 1  # shifted: 0 is "no segment" for us
    assert (s.seg0[:, 5:] == 2).all() and (s.seg1[:, 6:] == 2).all() and (s.seg1[:, 5] == 1).all()


def test_older_unmatched_spelling_and_missing_line_area(tmp_path):
    s = open_flow_dataset(_make_root(tmp_path, occ_dir="UnMatched", line=False))[0]
    assert s.occ[0].all() and not s.occ[1:].any()
    assert s.line is not None and s.line[:, 2:7].all()  # segment-boundary fallback, boundary at columns 3|4


def test_split_choice_and_split_folder_as_root(tmp_path):
    _make_root(tmp_path, split="train")
    assert len(open_flow_dataset(tmp_path, split="train")) == 4
    with pytest.raises(InputError, match="split 'test' not found"):
        open_flow_dataset(tmp_path)
    assert len(open_flow_dataset(tmp_path / "train")) == 4


def test_missing_flow_file_is_input_error_naming_the_scene_folder(tmp_path):
    _make_root(tmp_path)
    (tmp_path / "test/Flow/sceneB/forward/Image0002.flo").unlink()
    with pytest.raises(InputError, match="sceneB"):
        open_flow_dataset(tmp_path)


def test_frame_size_mismatch_is_input_error(tmp_path):
    _make_root(tmp_path)
    write_image(tmp_path / "test/Frame_Anime/sceneA/original/Image0002.png", np.zeros((H, W + 2, 3), np.uint8))
    ds = open_flow_dataset(tmp_path)
    with pytest.raises(InputError, match="Image0002.png"):
        ds[0]


def test_precomputed_label_maps_replace_segment(tmp_path):
    from segcorr.io.labelmap import write_labelmap

    root = _make_root(tmp_path / "ar")
    for i in range(3):
        write_labelmap(tmp_path / "lab" / "sceneA" / f"Image{i + 1:04d}.png", np.full((H, W), 40 + i, np.int32))
    ds = AnimeRunFlowDataset(root, labels_dir=tmp_path / "lab")
    s = ds[1]  # sceneA frames 2 -> 3
    assert int(s.seg0.max()) == 41 and int(s.seg1.max()) == 42  # read as is, no AnimeRun id shift
    assert ds[2].seg0 is None  # sceneB has no precomputed maps
    with pytest.raises(InputError, match="label maps"):
        AnimeRunFlowDataset(root, labels_dir=tmp_path / "none")
