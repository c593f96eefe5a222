"""The `labelmap` backend: segmentations computed earlier (by any backend, or by hand).

Sources:
- a label map array int [H, W] (the same for every image);
- a single label-map PNG (16-bit or 8-bit grey);
- a folder of label-map PNGs named by image stem (`<stem>.png`, as `precompute_masks` writes them);
- a COCO RLE mask cache (`.json`, `segcorr.io.rle.MaskCache`) whose keys are `<stem>/<segment id>`,
  one binary mask per segment (write one with `save_labelmap_to_cache`).

Folders and caches hold many images, so the image must be named: pass `key=<stem>` to the constructor,
to `with_key`, or to `segment_all` / `segment`.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from segcorr.errors import InputError
from segcorr.segment.base import Masks, Prompts
from segcorr.segment.prompting import BoxRule, masks_from_labelmap


def save_labelmap_to_cache(cache_path: str | os.PathLike, key: str, labels: np.ndarray) -> None:
    """Store label map int [H, W] under image stem `key` in an RLE MaskCache (one entry per segment id)."""
    from segcorr.io.rle import MaskCache

    labels = np.asarray(labels)
    cache = MaskCache(cache_path)
    # A re-segmented image must not keep segments of its old map; the cache cannot delete, so old ids
    # are overwritten with empty masks, which readers skip.
    for old in [k for k in cache if k.startswith(f"{key}/")]:
        cache.put(old, np.zeros(labels.shape, bool))
    for i in np.unique(labels):
        if i > 0:
            cache.put(f"{key}/{int(i)}", labels == i)
    cache.save()


class LabelMapSegmenter:
    """Answers prompts from precomputed label maps (see the module docstring for the sources)."""

    name = "labelmap"

    def __init__(
        self, source: str | os.PathLike | np.ndarray, key: str | None = None, box_rule: BoxRule | None = None
    ) -> None:
        self.key = key
        self.box_rule = box_rule or BoxRule()
        self._array: np.ndarray | None = None
        self._cache = None
        self.source: Path | None = None
        if isinstance(source, np.ndarray):
            if source.ndim != 2 or not np.issubdtype(source.dtype, np.integer):
                raise InputError(f"expected a label map int [H, W], found {source.dtype} {list(source.shape)}")
            self._array = source.astype(np.int32)
            return
        self.source = Path(source)
        if not self.source.exists():
            raise InputError(
                "label map source not found (expected a PNG, a folder of PNGs or an RLE cache .json)", self.source
            )
        if self.source.is_file() and self.source.suffix.lower() == ".json":
            from segcorr.io.rle import MaskCache

            self._cache = MaskCache(self.source)
        elif self.source.is_file():
            from segcorr.io.labelmap import read_labelmap

            self._array = read_labelmap(self.source)

    def with_key(self, key: str) -> LabelMapSegmenter:
        """The same source, answering for the image with stem `key`."""
        twin = object.__new__(LabelMapSegmenter)
        twin.__dict__.update(self.__dict__)
        twin.key = key
        return twin

    def cache_settings(self) -> dict:
        """What this segmenter's answers depend on, for caches of its masks: the source (the label-map array, or
        the path of the file or folder, which a cache stamps with its size and modification time), the image
        key and the box rule."""
        source = self._array if self.source is None else self.source
        return {"source": source, "key": self.key, "box_rule": self.box_rule}

    def labels_for(self, key: str | None, shape: tuple[int, int]) -> np.ndarray:
        """The label map int32 [H, W] of image `key`; InputError if missing or of another size."""
        key = key if key is not None else self.key
        if self._array is not None:
            labels, where = self._array, self.source
        else:
            if key is None:
                raise InputError(
                    "the labelmap backend over a folder or cache needs the image's name: pass key=<image stem>",
                    self.source,
                )
            labels, where = self._lookup(key, shape)
        if labels.shape != tuple(shape):
            raise InputError(
                f"label map is {labels.shape[1]}x{labels.shape[0]}, the image is {shape[1]}x{shape[0]}", where
            )
        return labels

    def _lookup(self, key: str, shape: tuple[int, int]) -> tuple[np.ndarray, Path]:
        if self._cache is not None:
            labels = np.zeros(shape, np.int32)
            ids = sorted(
                int(k.rsplit("/", 1)[1])
                for k in self._cache
                if k.rsplit("/", 1)[0] == key and k.rsplit("/", 1)[1].isdigit()
            )
            if not ids:
                raise InputError(f"no cached masks for image {key!r} (expected keys '{key}/<id>')", self.source)
            for i in ids:
                m = self._cache.get(f"{key}/{i}", shape)
                if m is None:
                    raise InputError(f"cached mask '{key}/{i}' is not {shape[1]}x{shape[0]}", self.source)
                labels[m] = i  # empty masks (ids retired by a later save) change nothing
            return labels, self.source
        from segcorr.io.labelmap import read_labelmap

        path = self.source / f"{key}.png"
        if not path.is_file():
            raise InputError(f"no precomputed label map for image {key!r}", path)
        return read_labelmap(path), path

    def segment_all(self, image: np.ndarray, key: str | None = None) -> np.ndarray:
        """image: [H, W(, 3)] (only its size is used) -> the stored label map int32 [H, W]."""
        return self.labels_for(key, np.asarray(image).shape[:2]).copy()

    def segment(self, image: np.ndarray, prompts: Prompts, key: str | None = None) -> Masks:
        """Boxes: the stored segments mostly inside each box; points: the segment under them."""
        if prompts.text:
            raise InputError(
                f"the labelmap segmenter cannot answer text prompts ({prompts.text!r}); give boxes or points"
            )
        return masks_from_labelmap(self.labels_for(key, np.asarray(image).shape[:2]), prompts, self.box_rule)
