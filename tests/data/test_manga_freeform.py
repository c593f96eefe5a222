"""The second manga page style ("freeform"): depth is not implied by vertical position; exact ground truth;
the default style stays byte-identical."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from segcorr.data.manga import MangaDataset
from segcorr.data.synth.manga import make_manga_page, make_page, write_manga
from segcorr.data.synth.manga_freeform import make_freeform_page

H, W = 320, 240


def test_default_style_is_unchanged() -> None:
    p = make_page(7, H, W)
    assert hashlib.sha1(p.image.tobytes()).hexdigest() == "26c9703ae466612afa65cc764fb2536b36e283d3"
    np.testing.assert_array_equal(p.image, make_manga_page(7, H, W).image)


def test_deterministic_and_visible_is_amodal_minus_nearer() -> None:
    a, b = make_freeform_page(3, H, W), make_page(3, H, W, style="freeform")
    np.testing.assert_array_equal(a.image, b.image)
    assert a.characters == b.characters and not np.array_equal(a.image, make_freeform_page(4, H, W).image)
    for seed in (0, 1, 2):
        p = make_freeform_page(seed, H, W)
        assert len(p.characters) >= 2
        for ch in p.characters:
            nearer = np.zeros((H, W), bool)
            for o in p.characters:
                if o["panel"] == ch["panel"] and o["depth"] < ch["depth"]:
                    nearer |= p.amodal[o["id"]]
            np.testing.assert_array_equal(p.visible[ch["id"]], p.amodal[ch["id"]] & ~nearer)
            assert p.visible[ch["id"]].sum() >= 0.25 * p.amodal[ch["id"]].sum() > 0
            ys, xs = np.nonzero(p.visible[ch["id"]])
            assert ch["body_box"] == [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]
            x0, y0, x1, y1 = p.panels[ch["panel"]]
            assert not p.amodal[ch["id"]][:y0].any() and not p.amodal[ch["id"]][y1:].any()
            assert not p.amodal[ch["id"]][:, :x0].any() and not p.amodal[ch["id"]][:, x1:].any()


def test_height_on_the_page_does_not_tell_depth_and_close_ups_are_cut_twice() -> None:
    lower_nearer = total = cut_twice = 0
    kinds = set()
    for seed in range(500_000, 500_010):  # validation seeds
        p = make_freeform_page(seed, 544, 384)
        kinds |= {c["kind"] for c in p.characters}
        for a in p.characters:
            x0, y0, x1, y1 = p.panels[a["panel"]]
            bx0, by0, bx1, by1 = a["body_box"]
            edges = (by0 <= y0 + 3) + (by1 >= y1 - 3) + (bx0 <= x0 + 3) + (bx1 >= x1 - 3)
            cut_twice += a["kind"] == "closeup" and edges >= 2
            for b in p.characters:
                if a["panel"] == b["panel"] and a["depth"] < b["depth"]:
                    lower_nearer += a["body_box"][3] > b["body_box"][3]
                    total += 1
    assert kinds == {"standing", "child", "sitting", "closeup"} and cut_twice >= 3
    assert total > 40 and 0.35 < lower_nearer / total < 0.65  # the ground style: well above 0.6


def test_write_freeform_reads_back_and_unknown_style_fails(tmp_path) -> None:
    out = write_manga(tmp_path / "f", 2, seed=9, height=H, width=W, progress=False, style="freeform")
    meta = json.loads((out / "meta.json").read_text())
    assert meta["style"] == "freeform" and meta["generator"] == "manga-freeform-1"
    item, page = MangaDataset(out)[1], make_freeform_page(10, H, W)
    np.testing.assert_array_equal(item.image, page.image)
    cid = page.characters[-1]["id"]
    np.testing.assert_array_equal(item.visible[cid], page.visible[cid])
    assert "style" not in json.loads(
        (write_manga(tmp_path / "g", 1, height=H, width=W, progress=False) / "meta.json").read_text()
    )
    with pytest.raises(ValueError, match="freeform"):
        write_manga(tmp_path / "x", 1, style="sketchy")
