"""MangaDataset / page JSON: unknown keys ignored, bad input named, optional masks."""

from __future__ import annotations

import json

import numpy as np
import pytest

from segcorr.data.manga import MangaDataset, parse_page_spec, read_page_spec
from segcorr.errors import InputError
from segcorr.io.image import write_image


def _page(root, chars, masks=True) -> None:
    root.mkdir(exist_ok=True)
    write_image(root / "page_000.png", np.full((40, 30), 255, np.uint8))
    (root / "page_000.json").write_text(json.dumps({"characters": chars, "panels": [[0, 0, 30, 40]], "extra": 1}))
    if masks:
        for c in chars:
            m = np.zeros((40, 30), np.uint8)
            m[5:20, 5:15] = 255
            write_image(root / f"page_000_char_{c['id']}_visible.png", m)
            write_image(root / f"page_000_char_{c['id']}_amodal.png", m)


def test_reader_ignores_unknown_keys_and_accepts_string_ids(tmp_path) -> None:
    _page(tmp_path, [{"id": "hero", "body_box": [5, 5, 15, 20], "pose": "run"}])
    item = MangaDataset(tmp_path)[0]
    ch = item.characters[0]
    assert ch["id"] == "hero" and ch["face_box"] is None and ch["depth"] is None and ch["pose"] == "run"
    assert item.visible["hero"].dtype == bool and item.visible["hero"].sum() == 15 * 10


def test_missing_mask_is_an_input_error_unless_optional(tmp_path) -> None:
    _page(tmp_path, [{"id": 1, "body_box": [5, 5, 15, 20]}], masks=False)
    with pytest.raises(InputError, match="visible mask of character 1"):
        MangaDataset(tmp_path)[0]
    item = MangaDataset(tmp_path, masks_optional=True)[0]
    assert item.visible is None and item.amodal is None


@pytest.mark.parametrize(
    "doc, message",
    [
        ([], "JSON object"),
        ({"characters": [{"id": 1}]}, "body_box"),
        ({"characters": [{"id": 1, "body_box": [5, 5, 1, 1]}]}, "x1 >= x0"),
        ({"characters": [{"id": 1, "body_box": [0, 0, 1, 1]}, {"id": 1, "body_box": [0, 0, 1, 1]}]}, "unique"),
        ({"characters": [{"id": 1, "body_box": [0, 0, 1, 1], "panel": 3}], "panels": [[0, 0, 9, 9]]}, "panel"),
    ],
)
def test_bad_page_json_is_named(doc, message) -> None:
    with pytest.raises(InputError, match=message):
        parse_page_spec(doc, "b.json")


def test_unreadable_json_and_empty_folder(tmp_path) -> None:
    (tmp_path / "b.json").write_bytes(b"{not json")
    with pytest.raises(InputError, match="b.json"):
        read_page_spec(tmp_path / "b.json")
    with pytest.raises(InputError, match="found none"):
        MangaDataset(tmp_path)
