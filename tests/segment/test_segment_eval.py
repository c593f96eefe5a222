"""Segmentation evaluation: prompts, the layouts' reader, metric plumbing (an oracle scores 1, a contrary
segmenter 0) and the `segcorr eval segment` command end to end with the flat segmenter."""

import hashlib
import json

import numpy as np
import pytest

from segcorr.cli import main
from segcorr.data.concepts import VOCABULARY, scene_queries
from segcorr.data.synth import write_cels
from segcorr.errors import InputError
from segcorr.io.image import write_image
from segcorr.io.labelmap import write_labelmap
from segcorr.segment.base import Masks
from segcorr.segment.evalset import SegmentSet
from segcorr.segment.evaluate import (
    EvalProtocol,
    TextAnswer,
    attribute_table,
    evaluate_segmenter,
    innermost_point,
    prompt_segments,
    text_queries,
    tight_box,
)
from segcorr.segment.prompting import box_bounds


@pytest.fixture(scope="module")
def cels(tmp_path_factory):
    return write_cels(tmp_path_factory.mktemp("cels"), 2, seed=0, height=96, width=128, progress=False)


def _key(image):
    return hashlib.sha1(np.ascontiguousarray(image).tobytes()).hexdigest()


class Oracle:
    """Answers every prompt from the ground truth (or, contrary=True, wrongly: the complement of each
    answer, presence inverted): a test double for the metric plumbing."""

    name = "oracle"

    def __init__(self, dataset, contrary=False):
        self.samples = {_key(s.image): s for s in (dataset[i] for i in range(len(dataset)))}
        self.contrary = contrary
        self.calls = 0

    def segment(self, image, prompts):
        self.calls += 1
        s = self.samples[_key(image)]
        if prompts.text:
            present = scene_queries(s.seg, s.inst, s.concepts, s.instance_concepts)
            masks = present.get(prompts.text[0], np.zeros((0, *s.seg.shape), bool))
            presence = float(len(masks) > 0)
            if self.contrary:
                masks, presence = ~masks.any(0, keepdims=True), 1.0 - presence
            return Masks(masks=masks, scores=np.ones(len(masks)), presence=presence)
        if prompts.boxes is not None:
            found = [m for m in prompt_segments(s.seg, 1) if np.array_equal(tight_box(m), prompts.boxes[0])]
            want = found[0] if found else np.zeros(s.seg.shape, bool)
        else:
            x, y = prompts.points[0]
            want = s.seg == s.seg[int(y), int(x)]
        want = ~want if self.contrary else want
        return Masks(masks=want[None], scores=np.ones(1))


def test_innermost_point_is_farthest_from_boundary_and_image_borders():
    m = np.zeros((20, 30), bool)
    m[2:9, 3:20] = True  # 7 rows: centre row 5
    x, y = innermost_point(m)
    assert y == 5 and 3 + 3 <= x <= 19 - 3 and m[int(y), int(x)]
    edge = np.zeros((9, 30), bool)
    edge[:, :10] = True  # touches the image's left, top and bottom borders, which count as boundary
    x, y = innermost_point(edge)
    assert y == 4 and 4 <= x <= 5
    ring = np.zeros((30, 30), bool)
    ring[5:25, 5:25] = True
    ring[10:20, 10:20] = False
    x, y = innermost_point(ring)
    assert ring[int(y), int(x)]  # inside the shape, never in its hole


def test_tight_box_edges_lie_on_pixel_edges():
    m = np.zeros((10, 12), bool)
    m[2:5, 3:8] = True
    box = tight_box(m)
    assert box.tolist() == [3, 2, 8, 5]
    assert box_bounds(box, m.shape) == (2, 5, 3, 8)  # the flat backend reads back exactly these rows/cols


def test_prompt_segments_skip_small_and_zero():
    seg = np.zeros((10, 10), np.int32)
    seg[:5] = 1
    seg[5:, :2] = 2  # 10 px
    assert [int(m.sum()) for m in prompt_segments(seg, 20)] == [50]
    assert len(prompt_segments(seg, 1)) == 2  # id 0 is never a segment


def test_text_queries_are_deterministic_with_hard_negatives(cels):
    s = SegmentSet(cels)[0]
    proto = EvalProtocol(negatives=8)
    qs = text_queries(s, 3, proto)
    assert [q.text for q in qs] == [q.text for q in text_queries(s, 3, proto)]
    present = scene_queries(s.seg, s.inst, s.concepts, s.instance_concepts)
    pos, neg = [q for q in qs if q.positive], [q for q in qs if not q.positive]
    assert sorted(q.text for q in pos) == sorted(present) and len(neg) == 8
    assert all(q.text in VOCABULARY and q.text not in present for q in neg)
    nouns = {p.split(" ", 1)[1] for p in present if " " in p}
    assert sum(q.text.split(" ", 1)[-1] in nouns for q in neg) >= 4  # half are hard negatives


def test_oracle_scores_one_on_every_metric(cels):
    ds = SegmentSet(cels)
    r = evaluate_segmenter(ds, Oracle(ds), prompt="all", method_name="oracle", progress=False)
    assert r["count"] == 2 and r["segments"] > 10 and r["queries"] > 2 * EvalProtocol().negatives
    for key in ("miou_point", "miou_box", "cf1", "cap", "il_mcc"):
        assert r[key] == pytest.approx(1.0), key
    assert r["ms_per_item"] > 0 and r["ms_per_prompt"] > 0
    table = r["attribute_table"]
    assert table and all(row["right"] in (None, 1.0) and row["wrong"] in (None, 0.0) for row in table.values())
    assert any(row["n_wrong"] > 0 for row in table.values())


def test_contrary_segmenter_scores_zero(cels):
    ds = SegmentSet(cels)
    r = evaluate_segmenter(ds, Oracle(ds, contrary=True), prompt="all", progress=False)
    assert r["miou_point"] < 0.2 and r["miou_box"] < 0.2
    assert r["cf1"] == 0.0 and r["cap"] == 0.0 and r["il_mcc"] == pytest.approx(-1.0)


def test_only_the_asked_prompt_kind_runs(cels):
    ds = SegmentSet(cels)
    oracle = Oracle(ds)
    r = evaluate_segmenter(ds, oracle, prompt="box", limit=1, progress=False)
    assert r["count"] == 1 and r["miou_box"] == 1.0 and r["miou_point"] is None and r["cf1"] is None
    assert oracle.calls == 1 + r["segments"]  # one warm-up call, then one per segment
    r = evaluate_segmenter(ds, Oracle(ds), prompt="text", limit=1, progress=False)
    assert r["miou_point"] is None and r["miou_box"] is None and r["cf1"] == 1.0 and r["segments"] == 0


class NoText(Oracle):
    def segment(self, image, prompts):
        if prompts.text:
            raise InputError("no text here")
        return super().segment(image, prompts)


def test_segmenter_without_text_all_gives_null_text_metrics_text_is_an_error(cels):
    ds = SegmentSet(cels)
    r = evaluate_segmenter(ds, NoText(ds), prompt="all", progress=False)
    assert r["miou_point"] == 1.0 and r["cf1"] is None and r["cap"] is None and r["il_mcc"] is None
    assert "attribute_table" not in r and r["queries"] == 0
    with pytest.raises(InputError, match="no text here"):
        evaluate_segmenter(ds, NoText(ds), prompt="text", progress=False)


def test_wrong_answer_shape_is_reported(cels):
    ds = SegmentSet(cels)

    class Bad:
        def segment(self, image, prompts):
            return Masks(masks=np.zeros((1, 5, 5), bool), scores=np.ones(1))

    with pytest.raises(ValueError, match="expected"):
        evaluate_segmenter(ds, Bad(), prompt="point", progress=False)


def test_attribute_table_right_vs_wrong_colour():
    answers = [
        TextAnswer(0, "hair", True, 0.9),
        TextAnswer(0, "red hair", True, 0.8),
        TextAnswer(0, "blue hair", False, 0.4),
        TextAnswer(0, "blue shoes", False, 0.7),  # shoes not in 0
        TextAnswer(1, "hair", True, 0.9),
        TextAnswer(1, "blue hair", True, 0.6),
        TextAnswer(1, "red hair", False, 0.2),
        TextAnswer(1, "striped chair", False, 0.5),
    ]
    t = attribute_table(answers)
    assert set(t) == {"hair"}
    assert t["hair"]["right"] == pytest.approx(0.7) and t["hair"]["n_right"] == 2
    assert t["hair"]["wrong"] == pytest.approx(0.3) and t["hair"]["n_wrong"] == 2


def _folder(tmp_path, n=2):
    for i in range(n):
        seg = np.ones((40, 50), np.int32)
        seg[5:20, 5:25] = 2
        seg[25:38, 30:48] = 3
        img = np.stack([seg * 60] * 3, -1).astype(np.uint8)
        write_image(tmp_path / f"{i:05d}_img.png", img)
        write_labelmap(tmp_path / f"{i:05d}_seg.png", seg)
    return tmp_path


def test_folder_layout_points_and_boxes_only(tmp_path):
    ds = SegmentSet(_folder(tmp_path))
    s = ds[0]
    assert len(ds) == 2 and s.seg.shape == (40, 50) and not s.has_text
    r = evaluate_segmenter(ds, Oracle(ds), prompt="all", progress=False)
    assert r["miou_point"] == 1.0 and r["segments"] == 6 and r["cf1"] is None
    with pytest.raises(InputError, match="concept names"):
        evaluate_segmenter(ds, Oracle(ds), prompt="text", progress=False)


def test_reader_bad_inputs(tmp_path):
    with pytest.raises(InputError, match="no segmentation samples"):
        SegmentSet(tmp_path)
    write_image(tmp_path / "00000_img0.png", np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(InputError, match="missing label map"):
        SegmentSet(tmp_path)
    write_labelmap(tmp_path / "00000_seg0.png", np.ones((9, 8), np.int32))
    with pytest.raises(InputError, match="label map is 8x9"):
        SegmentSet(tmp_path)[0]
    (tmp_path / "meta.json").write_text("{not json")
    with pytest.raises(InputError, match="JSON"):
        SegmentSet(tmp_path)


def _run(args):
    try:
        main([str(a) for a in args])
    except SystemExit as e:
        return int(e.code or 0)
    return 0


def test_cli_flat_point_and_box(cels, tmp_path, capsys):
    out = tmp_path / "m.json"
    assert _run(["eval", "segment", "--data", cels, "--method", "flat", "--prompt", "all", "--json", out]) == 0
    r = json.loads(out.read_text())
    assert r["method"] == "flat" and r["count"] == 2 and r["segments"] > 10
    assert 0.2 < r["miou_point"] <= 1 and 0.1 < r["miou_box"] <= 1
    assert r["cf1"] is None and r["cap"] is None and r["il_mcc"] is None and "attribute_table" not in r
    assert r["ms_per_item"] > 0 and r["ms_per_prompt"] > 0
    assert "miou_point" in capsys.readouterr().out


def test_cli_errors_are_one_line(cels, tmp_path, capsys):
    for args in (
        ["--prompt", "text"],
        ["--prompt", "lasso"],
        ["--method", "nosuch"],
        ["--checkpoint", str(tmp_path / "w.pt")],
    ):
        assert _run(["eval", "segment", "--data", cels, "--method", "flat", *args, "--json", tmp_path / "x"]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("segcorr: error:") and "\n" not in err
    assert not (tmp_path / "x").exists()


def test_cli_checkpoint_goes_to_the_backends_weights_option(cels, tmp_path, monkeypatch):
    import segcorr.segment as segment_pkg

    seen = {}

    def fake_build(name, **kw):
        seen.update(name=name, **kw)
        return Oracle(SegmentSet(cels))

    monkeypatch.setattr(segment_pkg, "build", fake_build)
    ckpt = tmp_path / "w.safetensors"
    ckpt.write_bytes(b"x")
    assert (
        _run(
            [
                "eval",
                "segment",
                "--data",
                cels,
                "--method",
                "builtin",
                "--prompt",
                "box",
                "--limit",
                "1",
                "--checkpoint",
                ckpt,
            ]
        )
        == 0
    )
    assert seen == {"name": "builtin", "weights": str(ckpt)}
    assert (
        _run(
            [
                "eval",
                "segment",
                "--data",
                cels,
                "--method",
                "sam2",
                "--prompt",
                "box",
                "--limit",
                "1",
                "--checkpoint",
                ckpt,
            ]
        )
        == 0
    )
    assert seen["checkpoint"] == str(ckpt)
