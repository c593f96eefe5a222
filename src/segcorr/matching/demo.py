"""The matching section of `segcorr demo`: AS-Mamba beside SIFT and ORB on warped held-out photos and ray-cast
scenes, one protocol (``segcorr.matching.evaluate``), lines coloured by whether each match is right.

The pairs are written to ``OUT/match_samples`` in the two matching layouts (``photos``: homography, ``scenes``:
pose), so ``segcorr match`` and ``segcorr eval match --data`` can be tried on them. Photos: scikit-image's
held-out photos at evaluation seeds (the first pairs of the warped held-out set); scenes: validation seeds.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

METHODS = ("as-mamba", "sift", "orb")
SCENE_SEED = 500_000  # validation range of ``write_scene_pairs`` (training draws from 1_000_000 on)


def correct_matches(pair, k0: np.ndarray, k1: np.ndarray) -> np.ndarray:
    """bool [N]: which matches agree with the pair's truth, by the protocol's precision rule
    (``segcorr.metrics.matching.homography_correct`` / ``epipolar_correct``)."""
    from segcorr.metrics.matching import epipolar_correct, homography_correct

    if pair.kind == "homography":
        return homography_correct(k0, k1, pair.H)
    return epipolar_correct(k0, k1, pair.T_0to1, pair.K0, pair.K1)


def _write_samples(root: Path, quick: bool) -> list:
    """Write the demo's pairs under ``root`` and open them -> [homography set, pose set]."""
    from segcorr.data.matchsets import open_match_dataset
    from segcorr.data.matchsynth.write import write_homography_pairs, write_scene_pairs

    h, w = (240, 320) if quick else (480, 640)
    n_photos, n_scenes = (1, 1) if quick else (3, 2)
    write_homography_pairs(root / "photos", n_photos, seed=0, height=h, width=w)
    write_scene_pairs(root / "scenes", n_scenes, seed=SCENE_SEED, height=h, width=w)
    return [open_match_dataset(root / "photos"), open_match_dataset(root / "scenes")]


def _error(pair, scores: dict) -> float:
    """The corner error in px of a homography pair, the pose error (max of rotation, translation) in degrees of a
    scene, from ``score_pair``'s figures."""
    err = scores["corner_error"] if pair.kind == "homography" else max(scores["err_R"], scores["err_t"])
    return round(float(err), 2)


def _match_pair(pair, name: str, matcher, protocol) -> tuple[dict, np.ndarray, np.ndarray, np.ndarray]:
    """One method on one pair -> (table row, k0, k1, correct [N])."""
    from segcorr.matching.classical import top_matches
    from segcorr.matching.evaluate import score_pair

    t0 = time.perf_counter()
    out = top_matches(matcher(pair.img0, pair.img1), protocol.max_matches)
    ms = (time.perf_counter() - t0) * 1000
    k0 = np.asarray(out["mkpts0"], np.float64).reshape(-1, 2)
    k1 = np.asarray(out["mkpts1"], np.float64).reshape(-1, 2)
    ok = correct_matches(pair, k0, k1)
    row = {
        "pair": pair.name,
        "kind": "photo (homography)" if pair.kind == "homography" else "scene (pose)",
        "method": name,
        "matches": len(k0),
        "correct": int(ok.sum()),
        "error": _error(pair, score_pair(pair, k0, k1, protocol)),
        "ms": round(ms),
    }
    return row, k0, k1, ok


def _picture(pair, name: str, k0, k1, ok, row: dict) -> tuple[np.ndarray, str]:
    from segcorr.viz.matches import draw_matches

    unit = "px corner error" if pair.kind == "homography" else "deg pose error"
    title = f"{name}: {row['correct']} of {row['matches']} right (green), {row['error']:.3g} {unit}"
    # the title goes above the picture at the report's readable size (page_panel), not into its small header
    return draw_matches(pair.img0, pair.img1, k0, k1, ok.astype(np.float64), title="", legend=""), title


def demo_matching(report, out: Path, quick: bool = False, progress=None) -> list[dict]:
    """Add the section to ``report`` (a ``segcorr.viz.report.Report``); pairs go to ``out/match_samples``.
    ``quick``: one photo and one scene at 320x240. Returns the table rows."""
    from segcorr.matching.evaluate import MatchProtocol, build_matcher

    root = Path(out) / "match_samples"
    sets = _write_samples(root, quick)
    protocol = MatchProtocol()
    matchers = {m: build_matcher(m) for m in METHODS}
    pairs = [(i, ds[i]) for ds in sets for i in range(len(ds))]
    for matcher in matchers.values():  # one-time costs (first-call set-up) stay out of the timings
        matcher(pairs[0][1].img0, pairs[0][1].img1)
    task = None if progress is None else progress.add_task("matching", total=len(pairs) * len(METHODS))
    rows, figures = [], []
    for i, pair in pairs:
        shown = []
        for name, matcher in matchers.items():
            row, k0, k1, ok = _match_pair(pair, name, matcher, protocol)
            rows.append(row)
            if name != "orb" and i == 0:  # the first pair of each set: AS-Mamba above SIFT
                shown.append(_picture(pair, name, k0, k1, ok, row))
            if task is not None:
                progress.advance(task)
        if shown:
            figures.append((pair, shown))
    _matching_results(report, root, rows, figures)
    return rows


def _matching_results(report, root: Path, rows: list[dict], figures: list) -> None:
    """The section's text, the pictures (AS-Mamba above SIFT, per shown pair) and the table."""
    from segcorr.viz.panel import page_panel

    report.section(
        "Image matching (AS-Mamba, shipped as_mamba_tiny)",
        "Detector-free matches between two views, beside SIFT and ORB (OpenCV, ratio test) under one protocol: "
        "images at a longer side of 640 px, at most 2048 matches, homography or essential matrix by OpenCV "
        "RANSAC. Photos: scikit-image pictures no training split uses, warped by a random homography with "
        "photometric changes. Scenes: ray-cast boxes and walls seen by two calibrated cameras. A line is green "
        "when the match agrees with the truth (within 3 px of the true homography, or on its epipolar line), "
        "red otherwise; the error is the mean corner error (px) or max(rotation, translation) error (deg). "
        f"The pairs are in {root.name}/ of this folder: try `segcorr match A.png B.png --out m.json --viz m.png` "
        "or `segcorr eval match --data match_samples/photos --method as-mamba`. Evaluation on real pairs "
        "(homography8, scannet15): src/segcorr/weights/as_mamba_tiny.json.",
    )
    for i, (pair, shown) in enumerate(figures):
        kind = "warped photo" if pair.kind == "homography" else "ray-cast scene"
        report.image(
            f"matches_{i}",
            page_panel([p for p, _ in shown], [t for _, t in shown], cols=1),
            f"A {kind} ({pair.name}): AS-Mamba above, SIFT below.",
        )
    report.table(rows, caption="Per pair and method (ms: the matcher's wall time on this machine, estimation excluded)")
