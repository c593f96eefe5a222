"""Synthetic clips: consecutive-frame flows are exact, masklets are the visible instance masks."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from segcorr.data.synth import make_clip


def test_clip_shapes_and_masklets_match_instance_maps() -> None:
    c = make_clip(3, num_frames=4, height=72, width=96)
    assert len(c.frames) == len(c.seg) == len(c.inst) == len(c.line) == 4
    assert len(c.flows) == len(c.occ) == 3
    assert c.frames[0].shape == (72, 96, 3) and c.flows[0].shape == (2, 72, 96) and c.flows[0].dtype == np.float32
    assert sorted(c.masklets) == sorted(c.instance_concepts) == sorted(c.depth)
    for k, m in c.masklets.items():
        assert m.shape == (4, 72, 96) and m.dtype == bool
        for t in range(4):
            np.testing.assert_array_equal(m[t], c.inst[t] == k)
    assert any(m.any() for m in c.masklets.values())


def test_clip_flows_are_exact_between_consecutive_frames() -> None:
    c = make_clip(5, num_frames=3, height=128, width=160)
    ys, xs = np.mgrid[0:128, 0:160].astype(np.float32)
    for t in range(2):
        mx, my = xs + c.flows[t][0], ys + c.flows[t][1]
        warped = cv2.remap(c.frames[t + 1], mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        near_line = cv2.dilate(c.line[t].astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
        keep = ~c.occ[t] & ~near_line
        err = np.abs(warped.astype(np.float32) - c.frames[t].astype(np.float32)).mean(-1)[keep].mean()
        assert err < 3.0
        xi = np.clip(np.floor(mx + 0.5), 0, 159).astype(int)
        yi = np.clip(np.floor(my + 0.5), 0, 127).astype(int)
        assert (c.seg[t + 1][yi, xi] == c.seg[t])[~c.occ[t]].mean() >= 0.99


def test_clip_is_deterministic_and_ids_are_stable() -> None:
    a, b = make_clip(9, 3, 48, 64), make_clip(9, 3, 48, 64)
    for t in range(3):
        np.testing.assert_array_equal(a.frames[t], b.frames[t])
        np.testing.assert_array_equal(a.seg[t], b.seg[t])
    assert a.concepts == b.concepts
    ids = set().union(*(np.unique(s) for s in a.seg))
    assert ids <= set(a.concepts)


def test_clip_rejects_too_few_frames() -> None:
    with pytest.raises(ValueError, match="num_frames"):
        make_clip(0, num_frames=1)
