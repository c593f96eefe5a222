"""The shipped tracker memory (``track_tiny``): present, small, carded with its command and training seeds, read by
``load_memory`` with the config it was trained with, and tracking an object through clips it never saw."""

from __future__ import annotations

import numpy as np
import pytest

from segcorr.data.synth.clips import make_clip
from segcorr.io.weights import read_model_card, weights_path
from segcorr.segment.predictor import Sam3Predictor
from segcorr.segment.tracker import ObjectPrompt, Sam3Tracker, load_memory
from segcorr.segment.tracker_config import TrackerConfig

pytestmark = pytest.mark.usefixtures("one_thread")


def test_weights_present_small_and_carded():
    path = weights_path("track_tiny")
    assert path is not None and path.stat().st_size <= 30 * 2**20
    card = read_model_card("track_tiny")
    assert card["task"] == "sam3_track" and "segcorr train" in card["command"]
    for key in ("data", "steps", "wall_time_s", "metrics", "train_config", "evaluation"):
        assert card[key], key
    assert card["train_config"]["data"]["seed_start"] >= 1_000_000  # never evaluation or validation seeds
    mem = load_memory("track_tiny")
    assert mem.config.mask_prompt and mem.config.d_model == 128  # as trained: the previous answer prompts the decoder
    assert sum(v.numel() for v in mem.state_dict().values()) == card["params"]


def test_memory_mode_follows_an_object_through_unseen_clips():
    predictor = Sam3Predictor.from_pretrained("sam3_tiny", refine="none")
    tracker = Sam3Tracker(predictor, TrackerConfig(), load_memory("track_tiny"))
    assert tracker.mode == "memory"
    ious = []
    for seed in (1, 2, 3):  # evaluation seeds: never trained on
        clip = make_clip(seed, 8, 192, 256, "cel")
        obj = max(clip.masklets, key=lambda i: clip.masklets[i][0].sum())
        truth = clip.masklets[obj]
        tracker.reset()
        for t, frame in enumerate(clip.frames):
            r = tracker.step(frame, [ObjectPrompt(mask=truth[0])] if t == 0 else [])
            if t:
                m = r.masks[0]
                ious.append(np.count_nonzero(m & truth[t]) / max(np.count_nonzero(m | truth[t]), 1))
    assert np.mean(ious) >= 0.6, ious
