"""Reader of the segmentation evaluation layouts (DESIGN, "Segmentation evaluation").

- pairs layout (what ``segcorr synth cels`` writes): ``NNNNN_img0.png`` + ``NNNNN_seg0.png`` (16-bit label
  map), optionally ``NNNNN_inst0.png`` (16-bit instance map) and ``meta.json`` whose ``"pairs"`` entries
  (``"name"`` = NNNNN) give ``"concepts"`` (segment id -> name) and ``"instance_concepts"`` (instance id ->
  name); the other files of the layout (``_img1``, ``_flow``...) are ignored;
- a folder of ``NNNNN_img.png`` + ``NNNNN_seg.png`` (optionally ``NNNNN_inst.png`` and the same meta).

A sample has text ground truth when its segment names, instance names and instance map are all present.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from segcorr.errors import InputError

_LAYOUTS = (("_img0.png", "_seg0.png", "_inst0.png"), ("_img.png", "_seg.png", "_inst.png"))


@dataclass(frozen=True)
class SegSample:
    """One image with its ground truth. image: uint8 [H, W, 3] RGB; seg: int32 [H, W] segment ids (0 = none);
    inst: int32 [H, W] instance ids (0 = background) or None; concepts: segment id -> name or None;
    instance_concepts: instance id -> name or None."""

    name: str
    image: np.ndarray
    seg: np.ndarray
    inst: np.ndarray | None = None
    concepts: dict[int, str] | None = None
    instance_concepts: dict[int, str] | None = None

    @property
    def has_text(self) -> bool:
        return self.inst is not None and bool(self.concepts) and self.instance_concepts is not None


def _id_map(entry: dict, key: str, path: Path) -> dict[int, str] | None:
    raw = entry.get(key)
    if raw is None:
        return None
    try:
        return {int(k): str(v) for k, v in raw.items()}
    except (AttributeError, ValueError) as e:
        raise InputError(f"expected {key!r} to map integer ids to names, found {raw!r:.80}", path) from e


class SegmentSet:
    """Lazy segmentation set; samples sorted by stem. ``root``: a folder in one of the two layouts."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise InputError("expected a folder of images and label maps", self.root)
        names = {p.name for p in self.root.iterdir() if p.is_file()}
        for img_suffix, seg_suffix, inst_suffix in _LAYOUTS:  # noqa: B007 (the matching layout is used below)
            pattern = re.compile(rf"^(.+){re.escape(img_suffix)}$")
            stems = sorted(m[1] for n in names if (m := pattern.match(n)))
            if stems:
                break
        else:
            raise InputError(
                "no segmentation samples found (expected NNNNN_img0.png + NNNNN_seg0.png, or "
                "NNNNN_img.png + NNNNN_seg.png)",
                self.root,
            )
        for stem in stems:
            if stem + seg_suffix not in names:
                raise InputError(f"missing label map for {stem}{img_suffix}", self.root / (stem + seg_suffix))
        self.stems = stems
        self.suffixes = (img_suffix, seg_suffix, inst_suffix)
        self.meta = self._read_meta()

    def _read_meta(self) -> dict[str, dict]:
        path = self.root / "meta.json"
        if not path.is_file():
            return {}
        try:
            meta = json.loads(path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise InputError(f"not valid JSON: {e}", path) from e
        entries = meta.get("pairs", []) if isinstance(meta, dict) else []
        return {str(e["name"]): e for e in entries if isinstance(e, dict) and "name" in e}

    def __len__(self) -> int:
        return len(self.stems)

    def __getitem__(self, index: int) -> SegSample:
        from segcorr.data.flowsets import check_same_size
        from segcorr.io.image import read_image
        from segcorr.io.labelmap import read_labelmap

        stem = self.stems[index]
        img_suffix, seg_suffix, inst_suffix = self.suffixes
        image = read_image(self.root / (stem + img_suffix))
        shape = image.shape[:2]
        seg = read_labelmap(self.root / (stem + seg_suffix))
        check_same_size(shape, seg, self.root / (stem + seg_suffix), "label map")
        inst_path = self.root / (stem + inst_suffix)
        inst = read_labelmap(inst_path) if inst_path.is_file() else None
        check_same_size(shape, inst, inst_path, "instance map")
        entry = self.meta.get(stem, {})
        meta_path = self.root / "meta.json"
        return SegSample(
            name=stem,
            image=image,
            seg=seg,
            inst=inst,
            concepts=_id_map(entry, "concepts", meta_path),
            instance_concepts=_id_map(entry, "instance_concepts", meta_path),
        )
