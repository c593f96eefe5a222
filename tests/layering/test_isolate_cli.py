"""The isolation commands: isolate with a memory budget and an order, eval isolate --order, synth manga --style,
precompute-masks --segmenter labelmap."""

from __future__ import annotations

import json

import numpy as np
import pytest

from segcorr.cli import main
from segcorr.data.synth.manga import make_manga_page
from segcorr.io.image import write_image
from segcorr.io.labelmap import read_labelmap, write_labelmap


def _page(tmp_path):
    page = make_manga_page(3, 320, 240)
    write_image(tmp_path / "p.png", page.image)
    spec = {
        "characters": [{k: v for k, v in c.items() if k != "depth"} for c in page.characters],
        "panels": page.panels,
    }
    (tmp_path / "b.json").write_text(json.dumps(spec))
    return page


def test_isolate_with_budget_and_order(tmp_path, capsys) -> None:
    page = _page(tmp_path)
    base = ["isolate", str(tmp_path / "p.png"), "--boxes", str(tmp_path / "b.json")]
    main([*base, "--out", str(tmp_path / "o"), "--memory-budget-mb", "0.0001", "--order", "both"])
    doc = json.loads((tmp_path / "o" / "order.json").read_text())
    sources = [c["source"] for c in doc["characters"]]
    assert sources.count("box:budget") == len(page.characters) - min(2, len(page.characters)) > 0
    assert all("d_adr" in c for c in doc["characters"])  # the evidence took part
    main([*base, "--out", str(tmp_path / "auto"), "--memory-budget-mb", "auto", "--order", "adr"])
    doc = json.loads((tmp_path / "auto" / "order.json").read_text())
    assert "box:budget" not in [c["source"] for c in doc["characters"]]
    for bad in (["--memory-budget-mb", "lots"], ["--order", "sideways"]):
        with pytest.raises(SystemExit) as e:
            main([*base, "--out", str(tmp_path / "bad"), *bad])
        assert e.value.code == 2
    assert not (tmp_path / "bad").exists()
    assert "expected" in capsys.readouterr().err


def test_synth_freeform_and_eval_isolate_orders(tmp_path, capsys) -> None:
    main(["synth", "manga", "--out", str(tmp_path / "m"), "--count", "1", "--seed", "500001", "--style", "freeform"])
    assert json.loads((tmp_path / "m" / "meta.json").read_text())["style"] == "freeform"
    methods = []
    for order in ("adr", "evidence", "both"):
        out = tmp_path / f"{order}.json"
        main(["eval", "isolate", "--data", str(tmp_path / "m"), "--order", order, "--json", str(out)])
        r = json.loads(out.read_text())
        methods.append(r["method"])
        assert r["count"] == 1 and 0 <= r["order_acc"] <= 1
    assert methods == ["zbuffer+amodal", "evidence+amodal", "zbuffer+evidence+amodal"]


def test_precompute_masks_with_the_labelmap_segmenter(tmp_path) -> None:
    (tmp_path / "img" / "sub").mkdir(parents=True)
    (tmp_path / "maps" / "sub").mkdir(parents=True)
    for name, v in (("a", 3), ("sub/b", 7)):
        write_image(tmp_path / "img" / f"{name}.png", np.full((12, 16), 200, np.uint8))
        lab = np.zeros((12, 16), np.int32)
        lab[2:6, 3:9] = v
        write_labelmap(tmp_path / "maps" / f"{name}.png", lab)
    main(["precompute-masks", str(tmp_path / "img"), "--out", str(tmp_path / "out"), "--segmenter", "labelmap",
          "--labels", str(tmp_path / "maps")])  # fmt: skip
    np.testing.assert_array_equal(
        read_labelmap(tmp_path / "out" / "sub" / "b.png"), read_labelmap(tmp_path / "maps" / "sub" / "b.png")
    )
    assert read_labelmap(tmp_path / "out" / "a.png").max() == 3
    with pytest.raises(SystemExit) as e:  # without --labels the backend says what it needs
        main(["precompute-masks", str(tmp_path / "img"), "--out", str(tmp_path / "o2"), "--segmenter", "labelmap"])
    assert e.value.code == 2
