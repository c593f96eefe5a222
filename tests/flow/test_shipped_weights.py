"""The shipped AniFlowFormer-T checkpoints: present, small, carded, loadable, and better than zero flow."""

from __future__ import annotations

import numpy as np
import pytest

from segcorr.cli import main
from segcorr.data.synth import make_cel_pair
from segcorr.flow import SHIPPED, load_pretrained, shipped_model
from segcorr.flow.methods import get_method
from segcorr.io.flo import read_flo
from segcorr.io.image import write_image
from segcorr.io.weights import read_model_card, weights_path

STEMS = sorted(m.weights for m in SHIPPED)


def test_one_table_names_every_shipped_model():
    from segcorr.flow import REGISTRY
    from segcorr.flow.methods import LEARNED, available_methods

    for m in SHIPPED:
        assert m.registry in REGISTRY and m.cli in available_methods() and LEARNED[m.cli] == m.weights
        assert shipped_model(m.cli) == shipped_model(m.registry) == shipped_model(m.weights) == m
    assert shipped_model("raft") is None


@pytest.mark.parametrize("stem", STEMS)
def test_weights_present_small_and_carded(stem):
    path = weights_path(stem)
    assert path is not None and path.is_file()
    assert path.stat().st_size <= 20 * 2**20
    card = read_model_card(stem)
    assert card["registry_name"] == shipped_model(stem).registry and card["name"] == stem
    for key in ("command", "data", "steps", "wall_time_s", "metrics", "train_config"):
        assert card[key], key
    assert "segcorr train" in card["command"]
    # training seeds never overlap evaluation (0..499 999) or validation (500 000..999 999) seeds
    assert card["train_config"]["data"]["seed_start"] >= 1_000_000


@pytest.mark.parametrize("stem", STEMS)
def test_shipped_config_is_the_registry_entry(stem):
    """`segcorr train` with the registry name builds the architecture that was shipped (guidance modes included)."""
    from segcorr.flow import build

    assert load_pretrained(stem).config == build(shipped_model(stem).registry).config


def test_v3_reads_segments_and_ablation_does_not():
    assert load_pretrained("aniflowformer_t_v3").uses_segments
    assert not load_pretrained("aniflowformer_t").uses_segments


@pytest.mark.parametrize("method", ["aniflowformer-v3", "aniflowformer"])
def test_shipped_model_beats_zero_flow_on_unseen_cels(method):
    fn = get_method(method)
    err_model, err_zero = [], []
    for seed in (11, 12, 13, 14):  # evaluation seeds, never trained on
        p = make_cel_pair(seed, height=192, width=256)
        f = fn(p.img0, p.img1, {"seg0": p.seg0, "seg1": p.seg1})
        assert f.shape == (2, 192, 256) and np.isfinite(f).all()
        err_model.append(np.linalg.norm(f - p.flow_fw, axis=0).mean())
        err_zero.append(np.linalg.norm(p.flow_fw, axis=0).mean())
    assert np.mean(err_model) < 0.7 * np.mean(err_zero)


def test_cli_flow_default_is_shipped_v3_with_flat_masks(tmp_path):
    p = make_cel_pair(13, height=96, width=128)
    write_image(tmp_path / "a.png", p.img0)
    write_image(tmp_path / "b.png", p.img1)
    try:
        main(["flow", str(tmp_path / "a.png"), str(tmp_path / "b.png"), "--out", str(tmp_path / "f.flo")])
    except SystemExit as e:
        assert e.code in (0, None)
    f = read_flo(tmp_path / "f.flo")
    assert np.linalg.norm(f - p.flow_fw, axis=0).mean() < np.linalg.norm(p.flow_fw, axis=0).mean()


def test_work_side_runs_large_frames_at_training_scale_and_returns_full_size():
    p = make_cel_pair(15, height=192, width=256)
    sample = {"seg0": p.seg0, "seg1": p.seg1}
    small = get_method("aniflowformer-v3", work_side=128)(p.img0, p.img1, sample)
    full = get_method("aniflowformer-v3", work_side=None)(p.img0, p.img1, sample)
    assert small.shape == full.shape == (2, 192, 256)
    assert np.isfinite(small).all() and not np.allclose(small, full)
    zero = np.linalg.norm(p.flow_fw, axis=0).mean()
    assert np.linalg.norm(small - p.flow_fw, axis=0).mean() < zero


def test_segment_refinement_improves_the_shipped_model_on_unseen_cels():
    """The default `fuse` refinement beats the network's own flow, with the data's label maps and with flat ones."""
    for masks, factor in (("given", 0.85), ("segmenter", 1.0)):
        raw = get_method("aniflowformer-v3", masks=masks, refine="none")
        fused = get_method("aniflowformer-v3", masks=masks)
        err_raw, err_fused = [], []
        for seed in (11, 12, 13, 14):  # evaluation seeds, never trained on
            p = make_cel_pair(seed, height=192, width=256)
            sample = {"seg0": p.seg0, "seg1": p.seg1}
            err_raw.append(np.linalg.norm(raw(p.img0, p.img1, sample) - p.flow_fw, axis=0).mean())
            f = fused(p.img0, p.img1, sample)
            assert f.shape == (2, 192, 256) and f.dtype == np.float32
            err_fused.append(np.linalg.norm(f - p.flow_fw, axis=0).mean())
        assert np.mean(err_fused) < factor * np.mean(err_raw), masks


def test_frames_above_the_refine_limit_are_refined_at_a_bounded_size():
    from segcorr.flow.predictor import FlowPredictor
    from segcorr.flow.refine_config import RefineConfig

    p = make_cel_pair(16, height=192, width=256)
    f = FlowPredictor.from_weights("aniflowformer_t_v3", refine=RefineConfig(max_side=128))(p.img0, p.img1)
    assert f.shape == (2, 192, 256) and np.isfinite(f).all()
    assert np.linalg.norm(f - p.flow_fw, axis=0).mean() < np.linalg.norm(p.flow_fw, axis=0).mean()


def test_readme_evaluation_figures_are_the_cards():
    """The README's flow table and FlyingChairs line show the cards' numbers (generated by
    benchmarks/flow_readme_table.py), so neither can change without the other."""
    import importlib.util
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    spec = importlib.util.spec_from_file_location("flow_readme_table", root / "benchmarks" / "flow_readme_table.py")
    table = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(table)
    readme = (root / "src" / "segcorr" / "weights" / "README.md").read_text().replace("**", "")
    for label, cells in table.table_rows().items():
        assert f"| {label} | " + " | ".join(cells) + " |" in readme, label
    fc = {
        stem: {r: table.card_metrics(stem, f"flyingchairs9_refine_{r}")["epe"] for r in ("fuse", "none")}
        for stem in ("aniflowformer_t_v3", "aniflowformer_t")
    }
    dis = table.card_metrics("aniflowformer_t_v3", "baseline_dis_medium.flyingchairs9")["epe"]
    line = (
        f"dis-medium {dis:.2f}; aniflowformer-v3 fused {fc['aniflowformer_t_v3']['fuse']:.2f}, network "
        f"{fc['aniflowformer_t_v3']['none']:.2f}; aniflowformer fused {fc['aniflowformer_t']['fuse']:.2f}, "
        f"network {fc['aniflowformer_t']['none']:.2f}"
    )
    assert line in re.sub(r"\s+", " ", readme)
    pol = {s: table.card_metrics(s, "flyingchairs9_refine_fuse_polish3")["epe"] for s in fc}
    polished = f"aniflowformer-v3 {pol['aniflowformer_t_v3']:.2f}, aniflowformer {pol['aniflowformer_t']:.2f}"
    assert polished in re.sub(r"\s+", " ", readme)
