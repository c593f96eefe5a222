"""COCO run-length encoding of binary masks, and a JSON cache of named masks.

COCO RLE runs down COLUMNS (Fortran order): counts alternate 0-runs and 1-runs, starting with zeros,
compressed into a printable string (pycocotools' format). In JSON the counts are stored as a str.

Encoding uses pycocotools. Decoding parses the counts here: pycocotools' C decoder trusts them
blindly (a corrupt string can write past the mask buffer), and once the runs are parsed and checked
a NumPy repeat expands them.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from segcorr.errors import InputError
from segcorr.io.atomic import atomic_write_text

log = logging.getLogger(__name__)

CACHE_VERSION = 1
_MAX_PIXELS = 2**31 - 1  # pycocotools keeps counts in uint32


def encode_mask(mask: np.ndarray) -> dict:
    """mask: bool [H, W] -> {"size": [H, W], "counts": str} (COCO compressed RLE)."""
    from pycocotools import mask as mask_utils

    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise ValueError(f"expected a mask of shape [H, W], found {mask.shape}")
    rle = mask_utils.encode(np.asfortranarray(mask.astype(bool).astype(np.uint8)))
    return {"size": [int(mask.shape[0]), int(mask.shape[1])], "counts": rle["counts"].decode("ascii")}


def parse_counts(counts: str, size: tuple[int, int]) -> list[int]:
    """Expand a compressed COCO counts string into run lengths; InputError unless they cover H*W exactly."""
    h, w = size
    total = h * w
    runs: list[int] = []
    p, n = 0, len(counts)
    while p < n:
        x, k = 0, 0
        while True:
            if p >= n:
                raise InputError("corrupt RLE counts: string ends inside a number")
            c = ord(counts[p]) - 48
            if not 0 <= c < 64:
                raise InputError(f"corrupt RLE counts: character {counts[p]!r} is outside '0'..'o'")
            x |= (c & 0x1F) << (5 * k)
            p, k = p + 1, k + 1
            if not c & 0x20:
                if c & 0x10:
                    x -= 1 << (5 * k)  # sign-extend the last 5-bit group
                break
            if k > 12:
                raise InputError("corrupt RLE counts: a run length has too many digits")
        if len(runs) > 2:
            x += runs[-2]
        if not 0 <= x <= total:
            raise InputError(f"corrupt RLE counts: run length {x} outside 0..{total}")
        runs.append(x)
    if sum(runs) != total:
        raise InputError(f"corrupt RLE counts: runs cover {sum(runs)} pixels, the mask has {h}x{w} = {total}")
    return runs


def _check_rle(rle: object) -> tuple[int, int, str]:
    if not isinstance(rle, dict) or "size" not in rle or "counts" not in rle:
        raise InputError('expected an RLE dict {"size": [H, W], "counts": str}')
    size, counts = rle["size"], rle["counts"]
    if (
        not isinstance(size, (list, tuple))
        or len(size) != 2
        or not all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) for s in size)
    ):
        raise InputError(f"expected RLE size [H, W] of two integers, found {size!r}")
    h, w = int(size[0]), int(size[1])
    if h < 0 or w < 0 or h * w > _MAX_PIXELS:
        raise InputError(f"expected RLE size with 0 <= H*W <= {_MAX_PIXELS}, found {h}x{w}")
    if isinstance(counts, bytes):
        try:
            counts = counts.decode("ascii")
        except UnicodeDecodeError:
            raise InputError("corrupt RLE counts: not ASCII") from None
    if not isinstance(counts, str):
        raise InputError(
            f"expected RLE counts as a string (uncompressed lists are not supported), found {type(counts).__name__}"
        )
    return h, w, counts


def decode_mask(rle: dict) -> np.ndarray:
    """{"size": [H, W], "counts": str | bytes} -> bool [H, W]. Corrupt input raises InputError."""
    h, w, counts = _check_rle(rle)
    runs = parse_counts(counts, (h, w))
    values = np.arange(len(runs)) % 2 == 1  # runs alternate 0, 1, 0, ... starting with zeros
    return np.repeat(values, runs).reshape(w, h).T.copy()


def _entry_sha1(key: str, h: int, w: int, counts: str) -> str:
    return hashlib.sha1(f"{key}\n{h} {w}\n{counts}".encode()).hexdigest()


def _entries_sha1(entries: dict) -> str:
    return hashlib.sha1(json.dumps(entries, sort_keys=True, separators=(",", ":")).encode("utf-8")).hexdigest()


class MaskCache:
    """Named masks in one JSON file, each entry checksummed, the whole file too.

    File: ``{"version": 1, "sha1": <of entries>, "entries": {key: {"size": [H, W], "counts": str, "sha1": str}}}``.
    A file that is not valid JSON (or of another version) is treated as empty; an entry whose checksum
    or RLE does not verify is dropped. Both cases log a warning and never raise: a cache only saves time.
    Nothing is written until `save()`, which replaces the file atomically.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self._entries: dict[str, dict] = {}
        self._load()

    def _load(self) -> None:
        if not self.path.exists():
            return
        try:
            doc = json.loads(self.path.read_bytes().decode("utf-8"))
        except (OSError, ValueError) as e:
            log.warning("mask cache %s is unreadable (%s); starting empty", self.path, e)
            return
        if not isinstance(doc, dict) or doc.get("version") != CACHE_VERSION or not isinstance(doc.get("entries"), dict):
            log.warning("mask cache %s is not a version-%d cache; starting empty", self.path, CACHE_VERSION)
            return
        entries = doc["entries"]
        if doc.get("sha1") != _entries_sha1(entries):
            log.warning("mask cache %s fails its file checksum; keeping only entries that verify", self.path)
        dropped = 0
        for key, entry in entries.items():
            if self._verify(key, entry):
                self._entries[key] = entry
            else:
                dropped += 1
        if dropped:
            log.warning("mask cache %s: dropped %d corrupt entr%s", self.path, dropped, "y" if dropped == 1 else "ies")

    @staticmethod
    def _verify(key: str, entry: object) -> bool:
        try:
            h, w, counts = _check_rle(entry)
            if entry.get("sha1") != _entry_sha1(key, h, w, counts):  # type: ignore[union-attr]
                return False
            parse_counts(counts, (h, w))
        except InputError:
            return False
        return True

    def get(self, key: str, shape: tuple[int, int] | None = None) -> np.ndarray | None:
        """The mask stored under `key` as bool [H, W], or None (missing, or not of the given shape)."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        if shape is not None and tuple(entry["size"]) != tuple(shape):
            return None
        return decode_mask(entry)

    def put(self, key: str, mask: np.ndarray) -> None:
        """Store bool [H, W] under `key` (replacing any previous mask)."""
        if not isinstance(key, str):
            raise TypeError(f"mask cache keys are str, got {type(key).__name__}")
        rle = encode_mask(mask)
        h, w = rle["size"]
        self._entries[key] = {**rle, "sha1": _entry_sha1(key, h, w, rle["counts"])}

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._entries))

    def save(self) -> Path:
        """Write the cache atomically. Returns its path."""
        doc = {"version": CACHE_VERSION, "sha1": _entries_sha1(self._entries), "entries": self._entries}
        atomic_write_text(self.path, json.dumps(doc, sort_keys=True, separators=(",", ":")) + "\n")
        return self.path
