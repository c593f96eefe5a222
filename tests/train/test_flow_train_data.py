import numpy as np
import pytest
import torch

from segcorr.data.animerun import AnimeRunFlowDataset
from segcorr.data.flow_train import (
    VAL_SEED_START,
    AugmentConfig,
    FlowTrainingSet,
    FramesDataset,
    SynthFlowDataset,
    augment,
    check_seed_range,
)
from segcorr.data.pairs import PairsFlowDataset
from segcorr.errors import InputError

KEYS = {"img0", "img1", "flow", "valid", "occ", "seg0", "seg1"}


def test_train_and_val_seed_ranges_are_disjoint():
    check_seed_range(1_000_000, 10, "train")
    check_seed_range(VAL_SEED_START, 500_000, "val")
    with pytest.raises(ValueError):
        check_seed_range(999_999, 10, "train")  # would start inside the validation range
    with pytest.raises(ValueError):
        check_seed_range(999_995, 10, "val")  # would run into the training range
    with pytest.raises(ValueError):
        check_seed_range(0, 10, "val")  # evaluation/benchmark seeds
    with pytest.raises(ValueError):
        SynthFlowDataset(0, 4, 64, 80, split="train")


def test_synth_item_shapes_and_ground_truth():
    ds = SynthFlowDataset(1_000_000, 3, 64, 80, style="cel", aug=None)
    s = ds[1]
    assert set(s) == KEYS
    assert s["img0"].shape == (3, 64, 80) and s["img0"].dtype == torch.float32
    assert float(s["img0"].min()) >= 0.0 and float(s["img0"].max()) <= 1.0
    assert s["flow"].shape == (2, 64, 80) and s["seg0"].dtype == torch.int64
    assert float(s["valid"].mean()) == 1.0  # synthetic flow is exact everywhere, occluded pixels too
    assert int(s["seg0"].unique().numel()) > 1
    # deterministic: the same index gives the same pair
    assert torch.equal(ds[1]["img0"], s["img0"])


def test_mask_occluded_marks_occluded_pixels_invalid():
    ds = SynthFlowDataset(1_000_000, 2, 64, 80, style="cel", mask_occluded=True)
    s = ds[0]
    assert torch.equal(s["valid"], 1.0 - s["occ"])


def _sample(h=8, w=10):
    rng = np.random.default_rng(0)
    flow = rng.normal(size=(2, h, w)).astype(np.float32)
    return {
        "img0": rng.random((h, w, 3), dtype=np.float32),
        "img1": rng.random((h, w, 3), dtype=np.float32),
        "flow": flow,
        "valid": np.ones((h, w), np.float32),
        "occ": np.zeros((h, w), np.float32),
        "seg0": np.arange(h * w).reshape(h, w),
        "seg1": np.arange(h * w).reshape(h, w),
    }


def test_hflip_negates_u_and_mirrors_maps():
    s = _sample()
    out = augment(s, AugmentConfig(hflip=1.0, vflip=0.0, jitter=0.0), np.random.default_rng(0))
    np.testing.assert_allclose(out["flow"][0], -s["flow"][0][:, ::-1])
    np.testing.assert_allclose(out["flow"][1], s["flow"][1][:, ::-1])
    np.testing.assert_array_equal(out["seg0"], s["seg0"][:, ::-1])


def test_vflip_negates_v():
    s = _sample()
    out = augment(s, AugmentConfig(hflip=0.0, vflip=1.0, jitter=0.0), np.random.default_rng(0))
    np.testing.assert_allclose(out["flow"][1], -s["flow"][1][::-1])
    np.testing.assert_allclose(out["flow"][0], s["flow"][0][::-1])


def test_crop_cuts_all_maps_consistently():
    s = _sample()
    out = augment(s, AugmentConfig(crop=(4, 6), hflip=0.0, vflip=0.0, jitter=0.0), np.random.default_rng(3))
    assert out["img0"].shape == (4, 6, 3) and out["flow"].shape == (2, 4, 6) and out["seg0"].shape == (4, 6)
    y, x = divmod(int(out["seg0"][0, 0]), 10)
    np.testing.assert_array_equal(out["flow"], s["flow"][:, y : y + 4, x : x + 6])
    with pytest.raises(InputError):
        augment(s, AugmentConfig(crop=(20, 6)), np.random.default_rng(0))


def test_jitter_keeps_range_and_dtype():
    s = _sample()
    out = augment(s, AugmentConfig(hflip=0.0, vflip=0.0, jitter=0.5), np.random.default_rng(1))
    assert out["img0"].dtype == np.float32 and out["img0"].min() >= 0 and out["img0"].max() <= 1
    assert not np.allclose(out["img0"], s["img0"])


def test_augmentation_draw_is_part_of_the_index():
    ds = SynthFlowDataset(1_000_000, 2, 64, 80, style="cel", aug=AugmentConfig(jitter=0.3))
    assert torch.equal(ds[(0, 5)]["img0"], ds[(0, 5)]["img0"])
    assert not torch.equal(ds[(0, 5)]["img0"], ds[(0, 6)]["img0"])


def test_pairs_dataset_reads_layout(tmp_path):
    from segcorr.data.synth.cels import write_cels

    write_cels(tmp_path, 2, seed=1_000_000, height=64, width=80, progress=False)
    ds = FlowTrainingSet(PairsFlowDataset(tmp_path))
    assert len(ds) == 2
    s = ds[0]
    assert set(s) == KEYS and s["flow"].shape == (2, 64, 80) and int(s["seg0"].max()) > 0
    assert float(s["occ"].sum()) >= 0 and float(s["valid"].mean()) == 1.0
    # the reader is the evaluation's: training sees its sample, converted
    ev = PairsFlowDataset(tmp_path)[0]
    np.testing.assert_array_equal(s["flow"].numpy(), ev.flow)
    np.testing.assert_array_equal(s["img0"].numpy(), ev.img0.transpose(2, 0, 1) / np.float32(255))
    masked = FlowTrainingSet(PairsFlowDataset(tmp_path), mask_occluded=True)[0]
    assert torch.equal(masked["valid"], 1.0 - masked["occ"])
    unsup = FlowTrainingSet(PairsFlowDataset(tmp_path), supervised=False)[0]
    assert float(unsup["valid"].sum()) == 0.0 and float(unsup["flow"].abs().sum()) == 0.0
    with pytest.raises(InputError):
        PairsFlowDataset(tmp_path / "missing")


def test_a_missing_flow_file_is_found_when_the_training_set_is_built(tmp_path):
    from segcorr.data.synth.cels import write_cels
    from segcorr.train.config import DataConfig
    from segcorr.train.tasks import build_dataset

    write_cels(tmp_path, 2, seed=1_000_000, height=64, width=80, progress=False)
    (tmp_path / "00001_flow.flo").unlink()
    with pytest.raises(InputError, match="00001_flow.flo"):
        build_dataset(DataConfig(kind="pairs", roots=[str(tmp_path)]), supervised=True)
    with pytest.raises(InputError, match="label maps"):
        PairsFlowDataset(tmp_path, labels_dir=tmp_path / "none")


def test_frames_dataset_folders_and_video(tmp_path):
    import cv2

    rng = np.random.default_rng(0)
    clip = tmp_path / "clip"
    clip.mkdir()
    for i in range(3):
        cv2.imwrite(str(clip / f"f{i:03d}.png"), rng.integers(0, 255, (40, 48, 3), dtype=np.uint8))
    vid = tmp_path / "v.avi"
    w = cv2.VideoWriter(str(vid), cv2.VideoWriter_fourcc(*"MJPG"), 5, (48, 40))
    for _ in range(4):
        w.write(rng.integers(0, 255, (40, 48, 3), dtype=np.uint8))
    w.release()
    ds = FramesDataset([clip, vid])
    assert len(ds) == 2 + 3
    s = ds[4]
    assert s["img0"].shape == (3, 40, 48) and float(s["valid"].sum()) == 0.0
    with pytest.raises(InputError):
        FramesDataset(tmp_path / "none")


def test_animerun_dataset_reads_flow_occlusion_and_segments(tmp_path):
    from segcorr.io.flo import write_flo
    from segcorr.io.image import write_image

    rng = np.random.default_rng(0)
    tr = tmp_path / "train"
    (tr / "Frame_Anime/s1/original").mkdir(parents=True)
    for i in (1, 2):
        write_image(tr / f"Frame_Anime/s1/original/Image{i:04d}.png", rng.integers(0, 255, (32, 40, 3), np.uint8))
    flow = rng.normal(size=(2, 32, 40)).astype(np.float32)
    write_flo(tr / "Flow/s1/forward/Image0001.flo", flow)
    (tr / "Segment/s1").mkdir(parents=True)
    np.save(tr / "Segment/s1/Image0001.npy", np.repeat(np.arange(4), 10)[None].repeat(32, 0))
    np.save(tr / "Segment/s1/Image0002.npy", np.zeros((32, 40), np.int32))
    (tr / "UnMatchedForward/s1").mkdir(parents=True)  # the older spelling
    matched = np.ones((32, 40), np.uint8)
    matched[:, :5] = 0
    np.save(tr / "UnMatchedForward/s1/Image0001.npy", matched)
    ds = FlowTrainingSet(AnimeRunFlowDataset(tmp_path, "train"))
    assert len(ds) == 1
    s = ds[0]
    np.testing.assert_allclose(s["flow"].numpy(), flow, rtol=0, atol=1e-6)
    assert float(s["occ"][:, :5].mean()) == 1.0 and float(s["occ"][:, 5:].sum()) == 0.0  # 1 = NOT occluded
    assert int(s["seg0"].min()) == 1 and int(s["seg0"].max()) == 4  # shifted off 0 ("no segment")
    assert int(s["seg1"].max()) == 1
    unsup = FlowTrainingSet(AnimeRunFlowDataset(tmp_path, "train"), supervised=False)[0]
    assert float(unsup["valid"].sum()) == 0.0
    # precomputed label maps replace Segment/
    from segcorr.io.labelmap import write_labelmap

    for i, v in ((1, 7), (2, 9)):
        write_labelmap(tmp_path / "lab" / "s1" / f"Image{i:04d}.png", np.full((32, 40), v, np.int32))
    pre = FlowTrainingSet(AnimeRunFlowDataset(tmp_path, "train", labels_dir=tmp_path / "lab"))[0]
    assert int(pre["seg0"].max()) == 7 and int(pre["seg1"].max()) == 9


def test_frames_segmenter_gives_the_precomputed_label_maps(tmp_path):
    from segcorr.io.image import write_image
    from segcorr.segment.precompute import precompute_masks
    from segcorr.train.config import DataConfig
    from segcorr.train.tasks import build_dataset

    clip = tmp_path / "frames" / "clip"
    clip.mkdir(parents=True)
    for i in range(2):  # four flat colour blocks, shifted by one pixel in the second frame
        img = np.zeros((40, 48, 3), np.uint8)
        img[:, : 20 + i], img[:, 20 + i :] = (200, 40, 40), (40, 40, 200)
        img[25:] = (30, 160, 30)
        img[30:, 30:] = (220, 220, 60)
        write_image(clip / f"{i:04d}.png", img)
    precompute_masks(tmp_path / "frames", tmp_path / "labels", "flat", progress=False)
    live = FramesDataset([tmp_path / "frames"], segmenter="flat")[0]
    stored = FramesDataset([tmp_path / "frames"], labels_dir=tmp_path / "labels")[0]
    none = FramesDataset([tmp_path / "frames"])[0]
    for k in ("seg0", "seg1"):
        assert torch.equal(live[k], stored[k])
        assert len(torch.unique(live[k])) >= 4  # the four blocks are separate segments
        assert not torch.equal(live[k], none[k])
    with pytest.raises(InputError, match="segmenter"):
        FramesDataset([tmp_path / "frames"], segmenter="nope")
    with pytest.raises(InputError, match="frames only"):
        build_dataset(DataConfig(kind="synth", segmenter="flat"), supervised=False)
