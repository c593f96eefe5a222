"""COCO RLE round trips and a mask cache that survives corruption without crashing."""

from __future__ import annotations

import json
import logging
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from segcorr.errors import InputError
from segcorr.io.rle import MaskCache, decode_mask, encode_mask, parse_counts

FAST = settings(max_examples=50, deadline=None)
masks = hnp.arrays(np.bool_, st.tuples(st.integers(1, 23), st.integers(1, 17)))


@FAST
@given(masks)
def test_round_trip(mask):
    rle = encode_mask(mask)
    assert isinstance(rle["counts"], str) and rle["size"] == list(mask.shape)
    json.dumps(rle)  # JSON-ready as is
    assert np.array_equal(decode_mask(rle), mask)
    assert np.array_equal(decode_mask({**rle, "counts": rle["counts"].encode()}), mask)
    from pycocotools import mask as mask_utils  # oracle for our own run parser

    with warnings.catch_warnings():  # pycocotools' decode warns under NumPy 2 (its own array protocol)
        warnings.simplefilter("ignore", DeprecationWarning)
        oracle = mask_utils.decode({"size": rle["size"], "counts": rle["counts"].encode()})
    assert np.array_equal(oracle.astype(bool), mask)


@pytest.mark.parametrize("shape", [(1, 1), (3, 7), (64, 65)])
@pytest.mark.parametrize("fill", [False, True])
def test_empty_and_full_masks(shape, fill):
    mask = np.full(shape, fill)
    assert np.array_equal(decode_mask(encode_mask(mask)), mask)


def test_runs_are_column_major_like_coco():
    mask = np.zeros((2, 3), bool)
    mask[0, 1] = True  # column-major position 2
    runs = parse_counts(encode_mask(mask)["counts"], (2, 3))
    assert runs == [2, 1, 3]


@FAST
@given(masks, st.text(alphabet=st.characters(min_codepoint=40, max_codepoint=120), max_size=40))
def test_corrupt_counts_raise_input_error_not_memory_errors(mask, junk):
    h, w = mask.shape
    for counts in (junk, encode_mask(mask)["counts"] + junk[:3]):
        try:
            out = decode_mask({"size": [h, w], "counts": counts})
        except InputError:
            continue
        assert out.shape == (h, w)


def test_bad_rle_dicts_refused():
    for bad in (
        {"size": [2, 2]},
        {"size": [2], "counts": "4"},
        {"size": [2, 2], "counts": [4]},
        {"size": [-1, 2], "counts": "0"},
        "not a dict",
    ):
        with pytest.raises(InputError):
            decode_mask(bad)


def _filled_cache(path, n=4, seed=0):
    rng = np.random.default_rng(seed)
    cache = MaskCache(path)
    want = {f"img{i}.png/{i}": rng.random((9 + i, 7)) > 0.5 for i in range(n)}
    for k, m in want.items():
        cache.put(k, m)
    cache.save()
    return want


def test_cache_save_and_reload(tmp_path):
    want = _filled_cache(tmp_path / "c.json")
    cache = MaskCache(tmp_path / "c.json")
    assert len(cache) == len(want) and set(cache) == set(want)
    for k, m in want.items():
        assert np.array_equal(cache.get(k), m)
    assert cache.get("absent") is None
    assert cache.get("img0.png/0", shape=(1, 1)) is None


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_flipped_bytes_never_crash_and_never_return_wrong_masks(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("cache") / "c.json"
    want = _filled_cache(path)
    raw = bytearray(path.read_bytes())
    for _ in range(data.draw(st.integers(1, 3))):
        raw[data.draw(st.integers(0, len(raw) - 1))] ^= data.draw(st.integers(1, 255))
    path.write_bytes(bytes(raw))
    cache = MaskCache(path)
    for k, m in want.items():
        got = cache.get(k)
        assert got is None or np.array_equal(got, m)
    cache.put("new", np.ones((2, 2), bool))
    cache.save()
    assert np.array_equal(MaskCache(path).get("new"), np.ones((2, 2), bool))


def test_corrupt_entry_dropped_others_kept(tmp_path, caplog):
    path = tmp_path / "c.json"
    want = _filled_cache(path)
    doc = json.loads(path.read_text())
    victim = "img1.png/1"
    counts = doc["entries"][victim]["counts"]
    doc["entries"][victim]["counts"] = counts[:-1] + ("1" if counts[-1] == "0" else "0")
    path.write_text(json.dumps(doc))
    with caplog.at_level(logging.WARNING, logger="segcorr.io.rle"):
        cache = MaskCache(path)
    assert victim not in cache and len(cache) == len(want) - 1
    assert "dropped 1 corrupt entry" in caplog.text


def test_truncated_file_starts_empty_with_warning(tmp_path, caplog):
    path = tmp_path / "c.json"
    _filled_cache(path)
    path.write_bytes(path.read_bytes()[:50])
    with caplog.at_level(logging.WARNING, logger="segcorr.io.rle"):
        cache = MaskCache(path)
    assert len(cache) == 0 and "starting empty" in caplog.text


def test_failed_save_keeps_old_cache(tmp_path, monkeypatch):
    path = tmp_path / "c.json"
    _filled_cache(path)
    before = path.read_bytes()
    cache = MaskCache(path)
    cache.put("more", np.zeros((3, 3), bool))
    import segcorr.io.atomic as atomic

    monkeypatch.setattr(atomic.os, "replace", lambda *a: (_ for _ in ()).throw(OSError("no rename")))
    with pytest.raises(OSError):
        cache.save()
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["c.json"]
