"""Label maps for a folder of images with any segmenter (`segcorr precompute-masks`,
`scripts/precompute_sam_masks.py`).

- Output: one 16-bit label-map PNG per image, `OUT/<relative path>/<stem>.png`, written atomically.
- Resume: an output that exists and decodes as a label map is kept; a corrupt one is redone.
- Ranks: under torchrun (`RANK`, `WORLD_SIZE` in the environment) rank r takes files r::WORLD_SIZE of
  the sorted list, so ranks never write the same file and no process group is needed.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from segcorr.errors import InputError
from segcorr.segment import NAMES

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")
# The defaults `segcorr precompute-masks` and `scripts/precompute_sam_masks.py` both read.
DEFAULT_SEGMENTER = "flat"
SEGMENTER_HELP = f"{' | '.join(NAMES)} (default {DEFAULT_SEGMENTER})"


@dataclass(frozen=True)
class PrecomputeStats:
    total: int  # images in the folder (all ranks)
    mine: int  # images this rank is responsible for
    written: int  # label maps written by this call (new ones and redone ones)
    skipped: int  # valid outputs already there
    redone: int  # corrupt outputs found and rewritten (counted in written too)

    def __str__(self) -> str:
        return (
            f"{self.written} written ({self.redone} redone), {self.skipped} already done, "
            f"{self.mine} of {self.total} images on this rank"
        )


def list_images(input_dir: Path, exclude: Path | None = None, recursive: bool = True) -> list[Path]:
    """Image files under input_dir (sorted relative paths), leaving out anything under `exclude`."""
    it = input_dir.rglob("*") if recursive else input_dir.glob("*")
    ex = exclude.resolve() if exclude is not None else None
    files = []
    for p in it:
        if p.suffix.lower() not in IMAGE_SUFFIXES or not p.is_file() or p.name.startswith("."):
            continue
        if ex is not None and (p.resolve() == ex or ex in p.resolve().parents):
            continue
        files.append(p.relative_to(input_dir))
    return sorted(files)


def rank_and_world(rank: int | None = None, world_size: int | None = None) -> tuple[int, int]:
    """(rank, world size) from the arguments, else from torchrun's RANK / WORLD_SIZE, else (0, 1)."""
    try:
        r = int(os.environ.get("RANK", "0")) if rank is None else int(rank)
        w = int(os.environ.get("WORLD_SIZE", "1")) if world_size is None else int(world_size)
    except ValueError:
        raise InputError(
            f"expected integer RANK and WORLD_SIZE, found {os.environ.get('RANK')!r} and "
            f"{os.environ.get('WORLD_SIZE')!r}"
        ) from None
    if w < 1 or not 0 <= r < w:
        raise InputError(f"expected 0 <= RANK < WORLD_SIZE, found RANK={r} WORLD_SIZE={w}")
    return r, w


def _is_valid_output(path: Path) -> bool:
    from segcorr.io.labelmap import read_labelmap

    if not path.is_file():
        return False
    try:
        read_labelmap(path)
    except InputError:
        return False
    return True


def precompute_masks(
    input_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    segmenter_name: str = DEFAULT_SEGMENTER,
    *,
    rank: int | None = None,
    world_size: int | None = None,
    recursive: bool = True,
    progress: bool = True,
    **segmenter_kwargs,
) -> PrecomputeStats:
    """Write `segment_all` label maps for every image under input_dir into out_dir (see module docstring).

    segmenter_kwargs go to `segcorr.segment.build(segmenter_name, ...)`.
    """
    from segcorr.io.image import read_image
    from segcorr.io.labelmap import write_labelmap
    from segcorr.segment import build

    input_dir, out_dir = Path(input_dir), Path(out_dir)
    if not input_dir.is_dir():
        raise InputError("expected a folder of images", input_dir)
    r, w = rank_and_world(rank, world_size)
    files = list_images(input_dir, exclude=out_dir, recursive=recursive)
    outputs = [out_dir / rel.with_suffix(".png") for rel in files]
    seen: dict[Path, Path] = {}
    for rel, out in zip(files, outputs):
        if out in seen:
            raise InputError(f"two images map to the same label map {out.name}: {seen[out]} and {rel}", input_dir)
        seen[out] = rel
    mine = list(range(r, len(files), w))
    todo = []
    skipped = redone = 0
    for i in mine:
        if _is_valid_output(outputs[i]):
            skipped += 1
        else:
            redone += outputs[i].exists()
            todo.append(i)
    if redone:
        log.warning("rank %d: %d corrupt label map(s) in %s will be redone", r, redone, out_dir)
    written = 0
    if todo:
        segmenter = build(segmenter_name, **segmenter_kwargs)
        from rich.progress import track

        for i in track(todo, description=f"label maps (rank {r}/{w})", disable=not progress):
            image = read_image(input_dir / files[i])
            seg = (
                segmenter.with_key(files[i].with_suffix("").as_posix()) if hasattr(segmenter, "with_key") else segmenter
            )
            write_labelmap(outputs[i], seg.segment_all(image))
            written += 1
    return PrecomputeStats(total=len(files), mine=len(mine), written=written, skipped=skipped, redone=redone)
