"""The mask cache key names the segmenter with its settings: switching segmenters never returns stale masks."""

from __future__ import annotations

import os

import numpy as np
import torch

from segcorr.io.labelmap import write_labelmap
from segcorr.layering import isolate_page
from segcorr.layering.cache_key import segmenter_fingerprint
from segcorr.segment import build

H, W = 40, 50
PAGE = np.full((H, W), 255, np.uint8)
CHARS = [{"id": 1, "body_box": [5, 5, 30, 35]}]


def _labels(x1: int) -> np.ndarray:
    lab = np.zeros((H, W), np.int32)
    lab[8:32, 8:x1] = 1  # inside the box, off its frame (a segment on the frame is background)
    return lab


def test_rewritten_label_map_is_segmented_again(tmp_path) -> None:
    src, cache = tmp_path / "labels.png", tmp_path / "cache.json"
    write_labelmap(src, _labels(27))

    def run():
        return isolate_page(PAGE, CHARS, build("labelmap", source=src), cache_path=cache, panels=[])

    first, second = run(), run()
    assert first.sources[1] == "segmenter" and second.sources[1] == "cache"
    write_labelmap(src, _labels(18))  # same path, new contents: a new segmenter
    st = src.stat()
    os.utime(src, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    third = run()
    assert third.sources[1] == "segmenter"
    np.testing.assert_array_equal(third.masks[1], _labels(18) > 0)


class Net:
    """A segmenter holding a torch module (as the sam2 and builtin backends do)."""

    name = "net"

    def __init__(self, seed: int):
        torch.manual_seed(seed)
        self.model = torch.nn.Linear(4, 3)
        self.min_score = 0.5


def test_fingerprint_covers_weights_config_and_checkpoint_files(tmp_path) -> None:
    assert segmenter_fingerprint(Net(0)) == segmenter_fingerprint(Net(0))
    assert segmenter_fingerprint(Net(0)) != segmenter_fingerprint(Net(1))  # other weights, one class
    tuned = Net(0)
    tuned.min_score = 0.7
    assert segmenter_fingerprint(tuned) != segmenter_fingerprint(Net(0))
    assert segmenter_fingerprint(build("flat")) != segmenter_fingerprint(build("flat", ball_radius=3))
    a, b = tmp_path / "a.pt", tmp_path / "b.pt"
    a.write_bytes(b"1" * 10)
    b.write_bytes(b"2" * 10)
    fa = segmenter_fingerprint(Net(0), {"checkpoint": str(a)})
    assert fa != segmenter_fingerprint(Net(0), {"checkpoint": str(b)})
    a.write_bytes(b"1" * 11)  # the same checkpoint path rewritten
    assert fa != segmenter_fingerprint(Net(0), {"checkpoint": str(a)})
    assert segmenter_fingerprint(Net(0), {"weights": "no_such_weights"}) != segmenter_fingerprint(
        Net(0), {"weights": "other_weights"}
    )
