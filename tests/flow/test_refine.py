"""Segment-level flow refinement: robust per-segment affine fits and photometric fusion of candidates."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from segcorr.errors import InputError
from segcorr.flow.refine import fuse_segments, propagate_segments, refine_flow, textured_segments
from segcorr.flow.refine_config import RefineConfig
from segcorr.flow.segment_fit import (
    SegmentSamples,
    affine_field,
    compact_labels,
    robust_segment_affines,
    segment_affine,
    segment_neighbours,
)
from segcorr.flow.warp_cost import photometric_error


def _affine_field(h, w, p):
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    return np.stack([p[0] + p[1] * xs + p[2] * ys, p[3] + p[4] * xs + p[5] * ys]).astype(np.float32)


def test_affine_fit_recovers_each_segment_through_noise_and_outliers():
    rng = np.random.default_rng(0)
    h, w = 60, 80
    labels = np.zeros((h, w), np.int32)
    labels[:, 40:] = 7  # two segments with different ids, not 0..n-1
    truth = np.where(
        labels[None] == 0,
        _affine_field(h, w, (3, 0.02, 0, -1, 0, 0.03)),
        _affine_field(h, w, (-5, 0, -0.05, 2, 0.01, 0)),
    )
    noisy = truth + rng.normal(0, 0.3, truth.shape).astype(np.float32)
    bad = rng.random((h, w)) < 0.2  # 20 % gross outliers
    noisy[:, bad] += rng.uniform(-30, 30, (2, int(bad.sum()))).astype(np.float32)
    fit = segment_affine(noisy, labels)
    assert fit.shape == truth.shape and fit.dtype == np.float32
    assert np.abs(fit - truth).max() < 0.5
    # a plain mean of the noisy flow would be far off: the fit must beat the raw flow by a wide margin
    assert np.linalg.norm(fit - truth, axis=0).mean() < 0.1 * np.linalg.norm(noisy - truth, axis=0).mean()


def test_thin_and_tiny_segments_fall_back_to_translation():
    h, w = 20, 30
    labels = np.zeros((h, w), np.int32)
    labels[5, :] = 1  # a one-pixel-high line
    labels[12, 12] = 2  # a single pixel
    flow = np.zeros((2, h, w), np.float32)
    flow[0][labels == 1] = 4.0
    flow[:, 12, 12] = (-2.0, 1.0)
    fit = segment_affine(flow, labels, RefineConfig(fit_stride=3))
    assert np.isfinite(fit).all()
    assert np.allclose(fit[0][labels == 1], 4.0, atol=1e-3)
    assert np.allclose(fit[:, 12, 12], (-2.0, 1.0), atol=1e-3)


def test_a_long_line_between_sample_rows_is_still_fitted_and_costed():
    h, w = 24, 160
    labels = np.zeros((h, w), np.int32)
    labels[5, :] = 1  # 160 px, but on no row of the stride-2 grid
    flow = np.zeros((2, h, w), np.float32)
    flow[0][labels == 1] = 4.0
    fit = segment_affine(flow, labels, RefineConfig(fit_stride=2))
    assert np.allclose(fit[0][labels == 1], 4.0, atol=1e-3)
    # the line's photometric cost must come from its own pixels: a bright line that moved 3 px right
    img0 = np.full((h, w, 3), 128, np.uint8)
    img0[5, ::8] = 255
    img1 = np.roll(img0, 3, axis=1)
    right = np.zeros((2, h, w), np.float32)
    right[0][labels == 1] = 3.0
    wrong = np.zeros((2, h, w), np.float32)
    fused = fuse_segments(img0, img1, labels, [wrong, right], cfg=RefineConfig(cost_stride=2))
    assert np.array_equal(fused[:, labels == 1], right[:, labels == 1])


def test_compact_labels_handles_sparse_and_negative_ids():
    lab = np.array([[5, 5, -3], [10**9, 5, -3]])
    ids, n = compact_labels(lab)
    assert n == 3
    assert len(set(ids.tolist())) == 3 and ids.min() == 0 and ids.max() == 2
    assert ids[0] == ids[1] == ids[4] and ids[2] == ids[5]


def _textured_shift(dx, dy, h=64, w=80, seed=1):
    rng = np.random.default_rng(seed)
    big = (rng.random((h + 20, w + 20, 3)) * 255).astype(np.uint8)
    img0 = big[10 : 10 + h, 10 : 10 + w]
    img1 = big[10 - dy : 10 - dy + h, 10 - dx : 10 - dx + w]  # img1(x + d) = img0(x)
    return np.ascontiguousarray(img0), np.ascontiguousarray(img1)


def test_photometric_error_is_zero_for_the_true_flow_and_high_otherwise():
    img0, img1 = _textured_shift(3, -2)
    true = np.zeros((2, 64, 80), np.float32)
    true[0], true[1] = 3, -2
    err_true = photometric_error(img0, img1, true, trunc=10.0)
    inside = err_true[4:-4, 4:-4]
    assert inside.max() < 1e-3
    assert photometric_error(img0, img1, np.zeros_like(true), trunc=40.0)[4:-4, 4:-4].mean() > 20
    far = np.full_like(true, 500.0)
    assert np.allclose(photometric_error(img0, img1, far, trunc=40.0), 20.0)


def test_fusion_picks_the_aligning_candidate_per_segment_and_respects_penalties():
    img0, img1 = _textured_shift(3, -2)
    labels = np.zeros((64, 80), np.int32)
    labels[:, 40:] = 1
    true = np.zeros((2, 64, 80), np.float32)
    true[0], true[1] = 3, -2
    wrong = np.zeros_like(true)
    fused = fuse_segments(img0, img1, labels, [wrong, true])
    assert np.array_equal(fused, true)
    # a penalty larger than any truncated error overrules the photometric choice
    assert np.array_equal(fuse_segments(img0, img1, labels, [wrong, true], [0.0, 100.0]), wrong)
    # mixed: segment 0 gets the true flow, segment 1 has only wrong candidates
    half = np.where(labels[None] == 0, true, wrong + 9)
    fused = fuse_segments(img0, img1, labels, [wrong + 9, half])
    assert np.array_equal(fused[:, :, :40], true[:, :, :40])


def test_refine_flow_modes():
    img0, img1 = _textured_shift(4, 1)
    labels = np.ones((64, 80), np.int32)  # one segment (0 is "no segment" in the refinement)
    true = np.zeros((2, 64, 80), np.float32)
    true[0], true[1] = 4, 1
    rng = np.random.default_rng(3)
    noisy = true + rng.normal(0, 1.0, true.shape).astype(np.float32)
    assert refine_flow(img0, img1, noisy, None) is noisy  # no segments: unchanged
    assert refine_flow(img0, img1, noisy, labels, RefineConfig(mode="none")) is noisy
    for mode in ("affine", "fuse"):
        out = refine_flow(img0, img1, noisy, labels, RefineConfig(mode=mode))
        assert np.linalg.norm(out - true, axis=0).mean() < 0.3 * np.linalg.norm(noisy - true, axis=0).mean()
    # fuse falls back to the classical candidate when the network's flow is wrong everywhere
    out = refine_flow(img0, img1, np.zeros_like(true), labels, RefineConfig(mode="fuse"))
    assert np.linalg.norm(out - true, axis=0).mean() < 1.0
    with pytest.raises(InputError, match="refine mode"):
        RefineConfig(mode="magic")


def test_fuse_keeps_the_network_flow_where_the_motion_is_not_affine(non_affine_case):
    img0, img1, bend, labels = non_affine_case
    fit = segment_affine(bend, labels)
    assert np.linalg.norm(fit - bend, axis=0).mean() > 1.0  # the affine fit cannot follow the bend
    out = refine_flow(img0, img1, bend, labels, RefineConfig(mode="fuse", variational_iters=0))  # the choice alone
    assert np.array_equal(out, bend)


def test_fit_parameters_in_pixel_coordinates_and_neighbours_by_border_length():
    h, w = 40, 60
    labels = np.full((h, w), 3, np.int32)
    labels[:, 20:] = 9
    labels[30:, 20:40] = 4
    truth = _affine_field(h, w, (1.5, 0.01, -0.02, -2, 0.03, 0.0))
    lab, params = robust_segment_affines(truth, labels)
    assert params.shape == (3, 2, 3)
    assert np.allclose(params[:, 0], [1.5, 0.01, -0.02], atol=1e-3)  # every segment: the same map, in px
    assert np.abs(affine_field(lab, params) - truth).max() < 1e-3
    nb = segment_neighbours(lab, 3, 3)  # compact ids: 3 -> 0, 4 -> 1, 9 -> 2
    assert nb[0].tolist() == [2, 1, 0]  # left strip: 30 px of border with 9, 10 px with 4; itself fills the rest
    assert nb[1].tolist() == [2, 0, 1]  # 4: 20 + 10 px with 9, 10 px with 3
    assert nb[2].tolist() == [0, 1, 2]  # 9: 30 px with 3 and 30 px with 4: a tie goes to the lower id


def test_propagation_gives_a_flat_region_the_motion_of_its_neighbour():
    import cv2

    rng = np.random.default_rng(7)
    h, w = 72, 96
    big = cv2.GaussianBlur((rng.random((h + 20, w + 20, 3)) * 255).astype(np.uint8), (3, 3), 0)
    big[30:60, 35:75] = (40, 200, 90)  # a flat patch on a textured plate: both pan by (5, 2)
    img0 = big[10 : 10 + h, 10 : 10 + w]
    img1 = big[8 : 8 + h, 5 : 5 + w]  # img1(x + (5, 2)) = img0(x)
    labels = np.full((h, w), 2, np.int32)
    labels[20:50, 25:65] = 1  # the patch in frame 0
    flow = np.zeros((2, h, w), np.float32)
    flow[0], flow[1] = 5, 2
    wrong = flow.copy()
    wrong[:, labels == 1] = ((-3.0,), (4.0,))  # the patch's own estimate is off
    out = propagate_segments(img0, img1, wrong, labels)
    assert np.abs(out - flow).max() < 0.25  # was 8 px off; the dominant fit may keep a slight bias
    assert np.array_equal(propagate_segments(img0, img1, flow, labels), flow)  # a right flow is kept


def test_propagation_rejects_motions_far_beyond_the_frame_s_own():
    rng = np.random.default_rng(11)
    h, w = 64, 96
    img0 = (rng.random((h, w, 3)) * 255).astype(np.uint8)  # unrelated frames: every motion mismatches
    img1 = (rng.random((h, w, 3)) * 255).astype(np.uint8)
    labels = np.full((h, w), 2, np.int32)
    labels[:6, 88:] = 1  # a small segment with a steep affine motion
    flow = np.zeros((2, h, w), np.float32)
    xs = np.arange(w, dtype=np.float32)
    flow[0, :6, 88:] = 0.5 * (xs[88:] - 92)
    # extrapolated over the large segment, that motion sends a third of it out of the frame, which costs less
    # than a mismatch; the guard must refuse it
    out = propagate_segments(img0, img1, flow, labels)
    assert np.abs(out[:, labels == 2]).max() < 1.0


def test_textured_segments_tells_flat_cel_regions_from_texture_and_keeps_lines():
    rng = np.random.default_rng(3)
    h, w = 48, 96
    img = np.full((h, w, 3), 200, np.uint8)  # segment 0: flat colour
    img[:, 48:] = (rng.random((h, 48, 3)) * 255).astype(np.uint8)  # segment 1: texture
    img[20, :40] = 0  # segment 2: a 1-px line on the flat part
    lab = np.zeros((h, w), np.int64)
    lab[:, 48:] = 1
    lab[20, :40] = 2
    assert textured_segments(img, lab, 3).tolist() == [False, True, True]
    # a smooth ramp of 0.5 grey levels per px is still flat; 3 per px is texture
    ramp = np.tile(np.arange(w, dtype=np.float32), (h, 1))
    flat_ramp = np.repeat((100 + 0.5 * ramp)[..., None], 3, -1).astype(np.uint8)
    steep = np.repeat((3.0 * ramp % 250)[..., None], 3, -1).astype(np.uint8)
    one = np.zeros((h, w), np.int64)
    assert textured_segments(flat_ramp, one, 1).tolist() == [False]
    assert textured_segments(steep, one, 1).tolist() == [True]


def test_affine_field_on_a_subsampled_label_map_matches_the_full_field():
    lab = np.zeros((37, 53), np.int64)
    lab[:, 20:] = 1
    lab[25:, 5:30] = 2
    params = np.array(
        [
            [[1.0, 0.02, -0.01], [-2.0, 0.0, 0.03]],
            [[0.5, -0.04, 0.0], [3.0, 0.01, 0.01]],
            [[-4.0, 0.0, 0.05], [0.0, 0.02, -0.02]],
        ]
    )
    full = affine_field(lab, params)
    for step in (2, 3, 8):
        assert np.array_equal(affine_field(lab[::step, ::step], params, step), full[:, ::step, ::step])


def test_refine_flow_equals_fusion_then_the_propagation_pass():
    """refine_flow chooses the propagation's candidates on the sampled fused flow; the result must be what a
    separate propagation pass over the fused field gives."""
    import cv2

    rng = np.random.default_rng(5)
    h, w = 72, 96
    big = cv2.GaussianBlur((rng.random((h + 20, w + 20, 3)) * 255).astype(np.uint8), (3, 3), 0)
    big[30:60, 35:75] = (40, 200, 90)
    img0, img1 = big[10 : 10 + h, 10 : 10 + w], big[8 : 8 + h, 5 : 5 + w]
    labels = np.full((h, w), 3, np.int32)
    labels[20:50, 25:65] = 1
    labels[:, 80:] = 2
    flow = np.zeros((2, h, w), np.float32)
    flow[0], flow[1] = 5, 2
    noisy = flow + rng.normal(0, 0.5, flow.shape).astype(np.float32)
    noisy[:, labels == 1] = ((-3.0,), (4.0,))
    fused = refine_flow(img0, img1, noisy, labels, RefineConfig(neighbours=0, polish_iters=0, variational_iters=0))
    # the polish and the variational step come after both
    both = refine_flow(img0, img1, noisy, labels, RefineConfig(polish_iters=0, variational_iters=0))
    assert np.allclose(both, propagate_segments(img0, img1, fused, labels), atol=1e-4)
    assert np.abs(both - flow).max() < np.abs(fused - flow).max()  # the pass fixed the flat patch


def test_one_sample_set_serves_the_fits_and_the_costs():
    """`SegmentSamples` holds both: a fit on its grid recovers each segment's motion, and the costs of the true
    flow at the same samples are zero while a wrong flow's are not."""
    img0, img1 = _textured_shift(3, -2)
    labels = np.zeros((64, 80), np.int32)
    labels[:, 40:] = 5
    true = np.zeros((2, 64, 80), np.float32)
    true[0], true[1] = 3, -2
    s = SegmentSamples.of(labels, stride=3, min_samples=32, img0=img0, img1=img1)
    assert s.n == 2 and s.index.size < 64 * 80 and np.array_equal(s.seg, s.lab.ravel()[s.index])
    params = s.fit(true, tau=2.0, iters=3, scale_mult=1.5)
    assert np.abs(affine_field(s.lab, params) - true).max() < 1e-3
    inner = (s.x > 4) & (s.x < 75) & (s.y > 4) & (s.y < 59)
    assert s.error(s.take(true), 10.0)[inner].max() < 1e-3
    assert s.error(s.affine(params), 10.0)[inner].max() < 1e-2
    pick, _ = s.choose([s.error(s.take(np.zeros_like(true)), 10.0), s.error(s.take(true), 10.0)], np.zeros(2))
    assert pick.tolist() == [1, 1]
    with pytest.raises(ValueError):
        SegmentSamples.of(labels, 3, 32).error(s.take(true)[:, :5], 10.0, np.arange(5))  # no frames: no costs


def test_min_samples_keeps_thin_segments_on_a_coarse_grid():
    h, w = 24, 160
    labels = np.zeros((h, w), np.int32)
    labels[5, :] = 1  # on no row of the stride-3 grid
    flow = np.zeros((2, h, w), np.float32)
    flow[0][labels == 1] = 4.0
    kept = segment_affine(flow, labels, RefineConfig(fit_stride=3))
    assert np.allclose(kept[0][labels == 1], 4.0, atol=1e-3)
    lost = segment_affine(flow, labels, RefineConfig(fit_stride=3, min_samples=0))  # no fallback: no samples
    assert not np.allclose(lost[0][labels == 1], 4.0, atol=1e-3)


def test_the_speed_bound_of_the_propagation_is_the_config_s():
    rng = np.random.default_rng(11)
    h, w = 64, 96
    img0 = (rng.random((h, w, 3)) * 255).astype(np.uint8)
    img1 = (rng.random((h, w, 3)) * 255).astype(np.uint8)
    labels = np.full((h, w), 2, np.int32)
    labels[:6, 88:] = 1
    flow = np.zeros((2, h, w), np.float32)
    flow[0, :6, 88:] = 0.5 * (np.arange(88, 96, dtype=np.float32) - 92)
    guarded = propagate_segments(img0, img1, flow, labels)
    loose = propagate_segments(img0, img1, flow, labels, RefineConfig(speed_margin=100.0, speed_slack=1000.0))
    assert np.abs(guarded[:, labels == 2]).max() < 1.0
    assert np.abs(loose[:, labels == 2]).max() > 1.0  # without the bound the far motion wins, as the guard's test says


def test_refine_config_rejects_unknown_modes_methods_and_strides():
    for bad in (
        {"mode": "magic"},
        {"classical": "raft"},
        {"cost_stride": 0},
        {"fit_stride": 0},
        {"max_side": 0},
        {"neighbours": -1},
        {"min_samples": -1},
    ):
        with pytest.raises(InputError):
            RefineConfig(**bad)


def test_every_entry_point_raises_the_same_input_error_for_the_same_mistake():
    img0, img1 = _textured_shift(1, 0)
    labels = np.zeros((64, 80), np.int32)
    flow = np.zeros((2, 64, 80), np.float32)
    calls = {
        "refine": lambda a, b, f, lab: refine_flow(a, b, f, lab),
        "propagate": lambda a, b, f, lab: propagate_segments(a, b, f, lab),
        "fuse": lambda a, b, f, lab: fuse_segments(a, b, lab, [f]),
    }
    mistakes = {
        "img1: expected uint8": (img0, img1.astype(np.float32), flow, labels),
        "differ in size": (img0, img1[:-1], flow, labels),
        r"expected shape \(2, 64, 80\)": (img0, img1, flow[:, :-1], labels),
        "labels: expected an integer label map": (img0, img1, flow, labels[:-1]),
    }
    for message, args in mistakes.items():
        seen = set()
        for call in calls.values():
            with pytest.raises(InputError, match=message) as e:
                call(*args)
            seen.add(str(e.value))
        assert len(seen) == 1, (message, seen)
    from segcorr.flow.classical import estimate_flow

    with pytest.raises(InputError, match="differ in size"):
        estimate_flow(img0, img1[:-1], "zero")


def _coarse(flow: np.ndarray, cell: int = 16) -> np.ndarray:
    """flow [2, H, W] as cell x cell blocks of its mean (a network's coarse estimate of a non-affine motion)."""
    c, h, w = flow.shape
    blocks = flow.reshape(c, h // cell, cell, w // cell, cell).mean((2, 4), keepdims=True)
    return np.broadcast_to(blocks, (c, h // cell, cell, w // cell, cell)).reshape(c, h, w).copy()


def test_fuse_takes_the_classical_flow_itself_where_no_affine_map_fits(non_affine_case):
    """A textured segment bends; the network saw the bend only in 16-px blocks. The classical flow started from it
    follows the bend, and the fourth candidate (`own_penalty`) gives it to the segment."""
    img0, img1, bend, labels = non_affine_case
    coarse = _coarse(bend)
    base = RefineConfig(polish_iters=0, variational_iters=0)
    without = refine_flow(img0, img1, coarse, labels, replace(base, own_penalty=float("inf")))
    with_own = refine_flow(img0, img1, coarse, labels, base)
    err = lambda f: float(np.linalg.norm(f - bend, axis=0)[8:-8, 8:-8].mean())  # noqa: E731
    assert err(with_own) < 0.5 * err(without)
    assert err(with_own) < 0.5 * err(coarse)


def test_own_max_dev_holds_the_classical_flow_to_the_network_s(non_affine_case):
    """With a bound of 0 px the fourth candidate is the network's flow itself (with a larger penalty than the
    unfitted candidate), so the output is the one without the candidate; a bound of inf lets the classical flow
    through."""
    img0, img1, bend, labels = non_affine_case
    coarse = _coarse(bend)
    base = RefineConfig(polish_iters=0, variational_iters=0)
    off = refine_flow(img0, img1, coarse, labels, replace(base, own_penalty=float("inf")))
    assert np.array_equal(refine_flow(img0, img1, coarse, labels, replace(base, own_max_dev=0.0)), off)
    assert not np.array_equal(refine_flow(img0, img1, coarse, labels, replace(base, own_max_dev=float("inf"))), off)


def test_the_classical_flow_itself_is_never_given_to_lines_or_flat_segments():
    """A flat segment and a 1-px line: a per-pixel match there cannot be checked, so neither keeps the classical
    flow even at no penalty; the output equals the one without the candidate."""
    import cv2

    rng = np.random.default_rng(2)
    h, w = 64, 80
    img = cv2.GaussianBlur((rng.random((h + 8, w + 8, 3)) * 255).astype(np.uint8), (3, 3), 0)
    img[10:50, 10:50] = (90, 140, 200)  # a flat region
    img[55, :] = 0  # a line
    img0, img1 = img[4 : 4 + h, 4 : 4 + w], img[2 : 2 + h, 1 : 1 + w]
    labels = np.ones((h, w), np.int32)
    labels[6:46, 6:46] = 2
    labels[51, :] = 3
    flow = rng.normal(0, 2.0, (2, h, w)).astype(np.float32) + np.array([3.0, 2.0], np.float32)[:, None, None]
    base = RefineConfig(polish_iters=0, variational_iters=0, neighbours=0, raw_penalty=float("inf"))
    off = refine_flow(img0, img1, flow, labels, replace(base, own_penalty=float("inf")))
    on = refine_flow(img0, img1, flow, labels, replace(base, own_penalty=0.0, own_max_dev=float("inf")))
    inner = labels != 1
    assert np.array_equal(on[:, inner], off[:, inner])


def test_refine_config_rejects_negative_own_settings():
    for kw in ({"own_penalty": -1.0}, {"own_max_dev": -0.5}, {"own_penalty": float("nan")}):
        with pytest.raises(InputError, match="own_"):
            RefineConfig(**kw)
