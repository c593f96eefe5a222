"""Reader for manga pages in the DESIGN layout (`segcorr synth manga` writes it).

`page_NNN.png` (grey), `page_NNN.json` = {"characters": [{"id", "body_box", "face_box"?, "depth"?,
"panel"?}], "panels": [[x0, y0, x1, y1], ...]}, and per character `page_NNN_char_<id>_visible.png` /
`_amodal.png` (0/255). Unknown keys are ignored (kept in the character dicts as they are).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from segcorr.errors import InputError

_PAGE = re.compile(r"^page_(\d+)\.png$")


@dataclass
class MangaItem:
    """One page. image: uint8 [H, W]; characters: validated dicts (id, body_box, face_box|None, depth|None,
    panel|None, plus unknown keys); panels: [[x0, y0, x1, y1]]; visible / amodal: id -> bool [H, W] or None."""

    name: str
    image: np.ndarray
    characters: list[dict]
    panels: list[list[float]]
    visible: dict | None
    amodal: dict | None


def _box(value: object, what: str, path: object) -> list[float]:
    ok = (
        isinstance(value, (list, tuple))
        and len(value) == 4
        and all(isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v) for v in value)
    )
    if not ok or value[2] < value[0] or value[3] < value[1]:
        raise InputError(f"expected {what} as [x0, y0, x1, y1] with x1 >= x0 and y1 >= y0, found {value!r}", path)
    return [float(v) for v in value]


def parse_page_spec(doc: object, path: str | os.PathLike | None = None) -> tuple[list[dict], list[list[float]]]:
    """Validate a page JSON document. Returns (characters, panels); InputError names the bad entry."""
    if not isinstance(doc, dict) or not isinstance(doc.get("characters"), list):
        raise InputError('expected a JSON object {"characters": [...], "panels": [...]}', path)
    panels_raw = doc.get("panels", [])
    if not isinstance(panels_raw, list):
        raise InputError(f'expected "panels" to be a list of boxes, found {type(panels_raw).__name__}', path)
    panels = [_box(p, f"panel {i}", path) for i, p in enumerate(panels_raw)]
    chars, seen = [], set()
    for i, ch in enumerate(doc["characters"]):
        if not isinstance(ch, dict) or "id" not in ch or "body_box" not in ch:
            raise InputError(f'expected character {i} as an object with "id" and "body_box", found {ch!r}', path)
        cid = ch["id"]
        if not isinstance(cid, (int, str)) or isinstance(cid, bool) or str(cid) in seen:
            raise InputError(f"expected a unique int or string id for character {i}, found {cid!r}", path)
        seen.add(str(cid))
        out = dict(ch)
        out["body_box"] = _box(ch["body_box"], f"body_box of character {cid}", path)
        out["face_box"] = (
            None if ch.get("face_box") is None else _box(ch["face_box"], f"face_box of character {cid}", path)
        )
        depth, panel = ch.get("depth"), ch.get("panel")
        if depth is not None and (not isinstance(depth, (int, float)) or isinstance(depth, bool)):
            raise InputError(f"expected a number as depth of character {cid}, found {depth!r}", path)
        if panel is not None and (
            not isinstance(panel, int) or isinstance(panel, bool) or not 0 <= panel < max(len(panels), 1)
        ):
            raise InputError(
                f"expected panel of character {cid} to index the {len(panels)} panels, found {panel!r}", path
            )
        out["depth"], out["panel"] = depth, panel
        chars.append(out)
    return chars, panels


def read_page_spec(path: str | os.PathLike) -> tuple[list[dict], list[list[float]]]:
    """Read and validate a page JSON file (also the `--boxes` file of `segcorr isolate`)."""
    p = Path(path)
    if not p.is_file():
        raise InputError("page JSON not found", p)
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise InputError(f"expected valid UTF-8 JSON, found an error ({e})", p) from None
    return parse_page_spec(doc, p)


def _read_mask(path: Path, shape: tuple[int, int]) -> np.ndarray:
    from segcorr.io.image import read_gray

    m = read_gray(path)
    if m.shape != shape:
        raise InputError(
            f"expected a mask of the page's size {shape[1]}x{shape[0]}, found {m.shape[1]}x{m.shape[0]}", path
        )
    return m >= 128


class MangaDataset:
    """Pages of a manga folder, sorted by name. `masks_optional`: pages without mask files load with None."""

    def __init__(self, root: str | os.PathLike, masks_optional: bool = False) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise InputError("expected a folder of manga pages (page_NNN.png + page_NNN.json)", self.root)
        self.names = sorted(
            (p.name[:-4] for p in self.root.iterdir() if _PAGE.match(p.name)), key=lambda n: (len(n), n)
        )
        if not self.names:
            raise InputError("expected manga pages page_NNN.png with page_NNN.json, found none", self.root)
        self.masks_optional = masks_optional

    def __len__(self) -> int:
        return len(self.names)

    def spec(self, index: int) -> tuple[list[dict], list[list[float]]]:
        """(characters, panels) of page `index` without reading any image."""
        return read_page_spec(self.root / f"{self.names[index]}.json")

    def masks(self, index: int, which: str, shape: tuple[int, int]) -> dict | None:
        """id -> bool [H, W] for `which` in {"visible", "amodal"}; None if a file is missing and masks are optional."""
        name = self.names[index]
        out = {}
        for ch in self.spec(index)[0]:
            p = self.root / f"{name}_char_{ch['id']}_{which}.png"
            if not p.exists():
                if self.masks_optional:
                    return None
                raise InputError(f"expected the {which} mask of character {ch['id']}, found no file", p)
            out[ch["id"]] = _read_mask(p, shape)
        return out

    def __getitem__(self, index: int) -> MangaItem:
        from segcorr.io.image import read_gray

        if not -len(self) <= index < len(self):
            raise IndexError(index)
        index %= len(self)
        name = self.names[index]
        image = read_gray(self.root / f"{name}.png")
        chars, panels = self.spec(index)
        return MangaItem(
            name=name,
            image=image,
            characters=chars,
            panels=panels,
            visible=self.masks(index, "visible", image.shape),
            amodal=self.masks(index, "amodal", image.shape),
        )
