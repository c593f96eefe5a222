"""`segcorr match`, `segcorr eval match` and their bad-input paths, through `segcorr.cli.main`."""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent / "matching"))
from match_cases import H_TRUE, warped_pair, write_homography_set, write_pose_set

from segcorr.cli import main
from segcorr.io.image import read_image, write_image
from segcorr.metrics.matching import MATCH_KEYS


def run(args: list) -> int:
    try:
        main([str(a) for a in args])
    except SystemExit as e:
        return int(e.code or 0)
    return 0


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert "Traceback" not in err[0]
    return err[0]


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("m")
    a, b = warped_pair()
    write_image(d / "a.png", a)
    write_image(d / "b.png", b)
    write_image(d / "grey.png", a[:, :, 0])
    rgba = np.concatenate([b, np.full(b.shape[:2] + (1,), 255, np.uint8)], axis=2)
    import cv2

    cv2.imwrite(str(d / "rgba.png"), rgba[:, :, [2, 1, 0, 3]])
    write_image(d / "tiny.png", a[:10, :10])
    write_image(d / "small.png", b[:48, :56])
    write_image(d / "mid.png", b[:100, :140])
    (d / "junk.png").write_bytes(b"not an image")
    (d / "list.txt").write_text("# two pairs\na.png b.png\ngrey.png rgba.png\n")
    return {p.stem: p for p in d.iterdir()} | {"dir": d}


def test_match_writes_json_with_h_and_viz(files, tmp_path):
    out, viz = tmp_path / "m.json", tmp_path / "m.png"
    assert (
        run(
            [
                "match",
                files["a"],
                files["b"],
                "--method",
                "sift",
                "--out",
                out,
                "--viz",
                viz,
                "--estimate",
                "H",
                "--longer-side",
                "160",
            ]
        )
        == 0
    )
    m = json.loads(out.read_text())
    assert {"mkpts0", "mkpts1", "mconf", "H"} <= set(m)
    assert len(m["mkpts0"]) == len(m["mconf"]) > 10
    H = np.array(m["H"])
    from segcorr.geometry import corner_error

    assert corner_error(H, H_TRUE, 120, 160) < 3.0
    v = read_image(viz)
    assert v.shape[1] >= 2 * 160 and v.shape[0] >= 120


def test_match_grey_rgba_and_different_sizes(files, tmp_path):
    assert run(["match", files["grey"], files["rgba"], "--method", "orb", "--out", tmp_path / "g.json"]) == 0
    assert run(["match", files["a"], files["small"], "--method", "sift", "--out", tmp_path / "s.json"]) == 0
    m = json.loads((tmp_path / "s.json").read_text())
    assert all(x <= 56 and y <= 48 for x, y in m["mkpts1"])


def test_match_essential_with_intrinsics(tmp_path):
    root = write_pose_set(tmp_path / "p")
    line = (root / "pairs_with_gt.txt").read_text().splitlines()[0].split()
    K = np.array([float(v) for v in line[4:13]]).reshape(3, 3)
    k = f"{K[0, 0]},{K[1, 1]},{K[0, 2]},{K[1, 2]}"
    K1 = ",".join(line[13:22])
    out = tmp_path / "e.json"
    assert (
        run(
            [
                "match",
                root / "a0.png",
                root / "b0.png",
                "--method",
                "sift",
                "--out",
                out,
                "--estimate",
                "E",
                "--K0",
                k,
                "--K1",
                K1,
            ]
        )
        == 0
    )
    m = json.loads(out.read_text())
    assert np.array(m["E"]).shape == (3, 3) and np.array(m["R"]).shape == (3, 3)


def test_match_batch_over_pairs_list(files, tmp_path):
    out = tmp_path / "batch"
    assert run(["match", "--pairs", files["list"], "--out", out, "--method", "sift", "--viz", tmp_path / "v"]) == 0
    js = sorted(out.glob("*.json"))
    assert len(js) == 2 and len(sorted((tmp_path / "v").glob("*.png"))) == 2
    assert "mkpts0" in json.loads(js[0].read_text())


def test_batch_over_superglue_pairs_estimates_e(tmp_path):
    root = write_pose_set(tmp_path / "p")
    assert (
        run(
            [
                "match",
                "--pairs",
                root / "pairs_with_gt.txt",
                "--out",
                tmp_path / "o",
                "--method",
                "sift",
                "--estimate",
                "E",
            ]
        )
        == 0
    )
    assert all("E" in json.loads(p.read_text()) for p in (tmp_path / "o").glob("*.json"))


def test_eval_match_table_and_json(tmp_path, capsys):
    root = write_homography_set(tmp_path / "h")
    js = tmp_path / "r.json"
    assert run(["eval", "match", "--data", root, "--method", "sift", "--json", js, "--longer-side", "160"]) == 0
    r = json.loads(js.read_text())
    assert set(r) == {"method", "data", "count", "ms_per_item", *MATCH_KEYS}
    assert r["method"] == "sift" and r["count"] == 2 and r["auc10"] > 0.5
    assert "auc5" in capsys.readouterr().out


@pytest.mark.parametrize(
    "case, needle",
    [
        (lambda f, t: ["match", f["tiny"], f["b"], "--method", "sift", "--out", t / "x.json"], "at least 16 px"),
        (lambda f, t: ["match", f["junk"], f["b"], "--method", "sift", "--out", t / "x.json"], "junk.png"),
        (lambda f, t: ["match", f["a"], t / "nope.png", "--method", "sift", "--out", t / "x.json"], "not found"),
        (lambda f, t: ["match", f["a"], f["b"], "--method", "sift", "--out", t / "x.txt"], ".json"),
        (lambda f, t: ["match", f["a"], f["b"], "--method", "sift", "--out", t / "x.json", "--estimate", "E"], "--K0"),
        (
            lambda f, t: [
                "match",
                f["a"],
                f["b"],
                "--method",
                "sift",
                "--out",
                t / "x.json",
                "--estimate",
                "E",
                "--K0",
                "1,2,3",
            ],
            "--K0",
        ),
        (
            lambda f, t: [
                "match",
                f["a"],
                f["b"],
                "--method",
                "sift",
                "--out",
                t / "x.json",
                "--estimate",
                "E",
                "--K0",
                "-5,5,1,1",
            ],
            "fx, fy > 0",
        ),
        (lambda f, t: ["match", f["a"], f["b"], "--method", "nope", "--out", t / "x.json"], "unknown matching method"),
        (lambda f, t: ["match", f["a"], f["b"], "--refine", "sharp", "--out", t / "x.json"], "unknown refinement"),
        (lambda f, t: ["eval", "match", "--data", t, "--method", "sift"], "no homography pairs"),
        (lambda f, t: ["match", f["a"], f["b"], "--pairs", f["list"], "--out", t / "x.json"], "not both"),
        # checked before matching: no JSON is left behind by a picture that cannot be written
        (
            lambda f, t: ["match", f["a"], f["b"], "--method", "sift", "--out", t / "x.json", "--viz", t / "v.txt"],
            ".txt",
        ),
    ],
)
def test_bad_input_is_one_line_exit_2(files, tmp_path, capsys, case, needle):
    assert run(case(files, tmp_path)) == 2
    assert needle in one_error_line(capsys)
    assert not (tmp_path / "x.json").exists()


def test_corrupt_pairs_files_name_file_and_line(files, tmp_path, capsys):
    bad = tmp_path / "bad.txt"
    bad.write_text("a.png b.png\na.png\n")
    assert run(["match", "--pairs", bad, "--out", tmp_path / "o", "--method", "sift"]) == 2
    line = one_error_line(capsys)
    assert "bad.txt" in line and "line 2" in line
    root = tmp_path / "p"
    root.mkdir()
    (root / "pairs_with_gt.txt").write_text("a b 0 0 " + "1 " * 20 + "\n")
    assert run(["eval", "match", "--data", root, "--method", "sift"]) == 2
    line = one_error_line(capsys)
    assert "pairs_with_gt.txt" in line and "line 1" in line
    zero_k = tmp_path / "zero_k.txt"  # SuperGlue fields with all-zero intrinsics: refused as eval match does
    zero_k.write_text("a.png b.png 0 0 " + "0 " * 18 + "\n")
    assert run(["match", "--pairs", zero_k, "--out", tmp_path / "z", "--method", "sift", "--estimate", "E"]) == 2
    line = one_error_line(capsys)
    assert "zero_k.txt" in line and "line 1" in line and "fx, fy > 0" in line
    assert not (tmp_path / "z").exists()


def test_export_onnx_agrees_with_pytorch(tmp_path):
    import onnxruntime as ort
    import torch

    from segcorr.matching.export import DenseWrapper, load_matching_model

    out = tmp_path / "m.onnx"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        argv = ["export", "as-mamba", "--model", "as_mamba-test", "--out", out, "--height", "64", "--width", "96"]
        assert run(argv) == 0
    # the tracer's notes about constants at a fixed size (dozens of lines on stderr) stay quiet
    assert not [w for w in caught if issubclass(w.category, torch.jit.TracerWarning)]
    model = load_matching_model(model_name="as_mamba-test")  # same seed-0 init as the export
    g = torch.Generator().manual_seed(1)
    a, b = torch.rand(1, 1, 64, 96, generator=g), torch.rand(1, 1, 64, 96, generator=g)
    with torch.no_grad():
        ref = DenseWrapper(model)(a, b)
    got = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"]).run(
        None, {"image0": a.numpy(), "image1": b.numpy()}
    )
    assert len(got) == 4 and got[0].shape == (1, 96, 96) and got[2].shape == (1, 96, 2)
    for r, o in zip(ref, got):
        np.testing.assert_allclose(o, r.numpy(), atol=1e-4)


def test_export_bad_size_is_one_line(tmp_path, capsys):
    assert run(["export", "as-mamba", "--model", "as_mamba-test", "--out", tmp_path / "m.onnx", "--height", "70"]) == 2
    assert "multiples of 32" in one_error_line(capsys)
    assert not (tmp_path / "m.onnx").exists()


@pytest.fixture(scope="module")
def test_weights(tmp_path_factory) -> Path:
    import torch

    from segcorr.matching import build, save_pretrained

    torch.manual_seed(0)
    return save_pretrained(build("as_mamba-test"), tmp_path_factory.mktemp("w") / "t.safetensors", "as_mamba-test")


def test_as_mamba_weights_path_through_match_and_eval(files, tmp_path, test_weights, capsys):
    out = tmp_path / "m.json"
    assert (
        run(
            [
                "match",
                files["a"],
                files["mid"],
                "--method",
                test_weights,
                "--out",
                out,
                "--viz",
                tmp_path / "m.png",
                "--longer-side",
                "128",
            ]
        )
        == 0
    )
    m = json.loads(out.read_text())
    assert len(m["mkpts0"]) == len(m["mkpts1"]) == len(m["mconf"])
    assert all(0 <= x <= 159 and 0 <= y <= 119 for x, y in m["mkpts0"])  # original pixels of img0
    root = write_homography_set(tmp_path / "h", 1)
    js = tmp_path / "r.json"
    assert run(["eval", "match", "--data", root, "--method", test_weights, "--json", js, "--longer-side", "128"]) == 0
    r = json.loads(js.read_text())
    assert r["count"] == 1 and r["method"] == str(test_weights) and 0 <= r["auc10"] <= 1


def test_as_mamba_tiny_image_is_one_line(files, tmp_path, test_weights, capsys):
    assert run(["match", files["tiny"], files["b"], "--method", test_weights, "--out", tmp_path / "x.json"]) == 2
    assert "tiny.png" in one_error_line(capsys)
    assert run(["match", files["small"], files["b"], "--method", test_weights, "--out", tmp_path / "x.json"]) == 2
    line = one_error_line(capsys)
    assert "at least 64 px" in line and "small.png" in line
    assert not (tmp_path / "x.json").exists()


def test_shipped_as_mamba_tiny_loads_and_matches(files, tmp_path):
    """The shipped weights fit the registry's as_mamba_tiny (strict load) and `segcorr match` uses them by
    default; its card names the same config."""
    from segcorr.io.weights import read_model_card
    from segcorr.matching import build, load_pretrained

    model = load_pretrained("as_mamba_tiny")
    tiny = build("as_mamba_tiny").config
    assert model.config.to_dict() | {"scan_backend": None} == tiny.to_dict() | {"scan_backend": None}
    card = read_model_card("as_mamba_tiny")
    assert card["config"] == json.loads(json.dumps(model.config.to_dict())) and card["task"] == "match"
    out = tmp_path / "m.json"
    assert run(["match", files["a"], files["b"], "--out", out, "--longer-side", "128"]) == 0
    assert {"mkpts0", "mkpts1", "mconf"} <= set(json.loads(out.read_text()))


def test_refine_none_keeps_the_network_points_and_patch_moves_only_image_1(files, tmp_path):
    """--refine patch (default; here without the orientation search and the pre-alignment) keeps a subset of
    --refine none's matches (the consistency check drops some) with the same image-0 points and confidences; only
    image 1's points move, by at most the search radius plus the half-pixel parabola step per round."""
    outs = {}
    for refine in ("patch", "none"):
        out = tmp_path / f"{refine}.json"
        cmd = ["match", files["a"], files["b"], "--out", out, "--longer-side", "128", "--refine", refine]
        cmd += ["--no-turns", "--no-prealign"]
        assert run(cmd) == 0
        outs[refine] = {k: np.asarray(v) for k, v in json.loads(out.read_text()).items()}
    p, n = outs["patch"], outs["none"]
    assert 0 < len(p["mkpts0"]) <= len(n["mkpts0"])
    rows = [
        int(np.flatnonzero((n["mkpts0"] == q).all(1) & (n["mconf"] == c))[0]) for q, c in zip(p["mkpts0"], p["mconf"])
    ]
    assert rows == sorted(rows)  # the same order, most confident first
    shift = np.abs(p["mkpts1"] - n["mkpts1"][rows]).max()
    scale = max(read_image(files["b"]).shape[:2]) / 128
    assert shift <= (4 + 1.5) * scale * 5 + 1e-4  # 3 + 2 rounds of +-4 px search and a sub-pixel step each
