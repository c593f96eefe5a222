"""Synthetic manga pages: deterministic, exact visible/amodal ground truth, the documented layout."""

from __future__ import annotations

import json

import numpy as np

from segcorr.data.manga import MangaDataset
from segcorr.data.synth.manga import make_manga_page, write_manga
from segcorr.io.image import read_gray

H, W = 320, 240


def test_same_seed_same_page_other_seed_other_page() -> None:
    a, b, c = make_manga_page(7, H, W), make_manga_page(7, H, W), make_manga_page(8, H, W)
    np.testing.assert_array_equal(a.image, b.image)
    assert a.characters == b.characters and a.panels == b.panels
    assert not np.array_equal(a.image, c.image)


def test_visible_is_amodal_minus_nearer_figures_of_the_panel() -> None:
    for seed in (0, 1, 2):
        p = make_manga_page(seed, H, W)
        assert len(p.characters) >= 2 and p.image.dtype == np.uint8 and p.image.shape == (H, W)
        for ch in p.characters:
            cid = ch["id"]
            nearer = np.zeros((H, W), bool)
            for o in p.characters:
                if o["panel"] == ch["panel"] and o["depth"] < ch["depth"]:
                    nearer |= p.amodal[o["id"]]
            np.testing.assert_array_equal(p.visible[cid], p.amodal[cid] & ~nearer)
            assert p.visible[cid].sum() >= 0.25 * p.amodal[cid].sum() > 0  # nobody hidden behind others
            ys, xs = np.nonzero(p.visible[cid])
            assert ch["body_box"] == [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]
            x0, y0, x1, y1 = p.panels[ch["panel"]]
            assert not p.amodal[cid][:y0].any() and not p.amodal[cid][y1:].any()
            assert not p.amodal[cid][:, :x0].any() and not p.amodal[cid][:, x1:].any()


def test_depth_cues_are_informative_but_not_decisive() -> None:
    """Lower figures tend to be nearer, but children / sitting figures / close-ups exist."""
    kinds, agree, total = set(), 0, 0
    for seed in range(500_000, 500_012):  # validation seeds
        p = make_manga_page(seed, 544, 384)
        kinds |= {c["kind"] for c in p.characters}
        for a in p.characters:
            for b in p.characters:
                if a["panel"] == b["panel"] and a["depth"] < b["depth"]:
                    agree += a["body_box"][3] >= b["body_box"][3]
                    total += 1
    assert kinds == {"standing", "child", "sitting", "closeup"}
    assert 0.6 < agree / total < 1.0


def test_write_manga_layout_reads_back(tmp_path) -> None:
    out = write_manga(tmp_path / "m", 2, seed=5, height=H, width=W, progress=False)
    page = make_manga_page(6, H, W)  # page 1 uses seed + 1
    np.testing.assert_array_equal(read_gray(out / "page_001.png"), page.image)
    doc = json.loads((out / "page_001.json").read_text())
    assert doc["panels"] == page.panels and [c["id"] for c in doc["characters"]] == [c["id"] for c in page.characters]
    meta = json.loads((out / "meta.json").read_text())
    assert meta["count"] == 2 and meta["pages"][1]["seed"] == 6
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]
    item = MangaDataset(out)[1]
    cid = page.characters[0]["id"]
    np.testing.assert_array_equal(item.visible[cid], page.visible[cid])
    np.testing.assert_array_equal(item.amodal[cid], page.amodal[cid])
    assert item.characters[0]["depth"] == page.characters[0]["depth"]
