"""ZBufferCalculator: sign convention on hand-built cases, renormalisation, and the ONNX depth path."""

from __future__ import annotations

import numpy as np
import pytest

from segcorr.errors import InputError
from segcorr.layering.zbuffer import ZBufferCalculator, ZBufferConfig, order_by_panel

PANEL = [[0, 0, 100, 100]]


def _ch(cid, box, face=None, **kw) -> dict:
    return {"id": cid, "body_box": box, "face_box": face, "panel": 0, **kw}


def test_lower_and_larger_character_is_in_front() -> None:
    chars = [_ch("far", [10, 10, 30, 50]), _ch("near", [40, 30, 80, 95])]
    keys = ZBufferCalculator().keys(chars, PANEL, (100, 100))
    assert keys["near"].d < keys["far"].d  # smaller key = nearer
    assert keys["near"].y == 0.0 and keys["far"].y == 1.0 and keys["near"].area == 0.0
    assert order_by_panel(keys) == {0: ["near", "far"]}


def test_key_matches_the_formula_with_renormalised_weights() -> None:
    """Without a depth model w_depth drops out: weights 0.4, 0.3, 0.2 over 0.9."""
    chars = [_ch(1, [0, 0, 10, 20]), _ch(2, [0, 40, 20, 60]), _ch(3, [0, 60, 20, 100])]
    zb = ZBufferCalculator(ZBufferConfig(y_norm="panel"))
    assert zb.weights(False) == pytest.approx((0.4 / 0.9, 0.3 / 0.9, 0.2 / 0.9, 0.0))
    assert sum(zb.weights(True)) == pytest.approx(1.0) and zb.weights(True)[3] == pytest.approx(0.1)
    keys = zb.keys(chars, PANEL, (100, 100))
    hy = (100 - 10) / 100  # centre y 10 in a panel 0..100
    area = 1 - 200 / 800
    assert keys[1].d == pytest.approx((0.4 * hy + 0.3 * area + 0.2 * 0.5) / 0.9)
    per_chars = ZBufferCalculator().keys(chars, PANEL, (100, 100))  # y spans the characters: 10..80
    assert per_chars[1].y == pytest.approx(1.0) and per_chars[2].y == pytest.approx((80 - 50) / 70)


def test_close_up_face_goes_in_front_of_a_lower_body() -> None:
    """A face item (tau 0) beats a body item (tau 0.5) when the other cues are even."""
    chars = [_ch("body", [0, 50, 40, 90]), _ch("face", [50, 50, 90, 90], face=[55, 52, 85, 80])]
    keys = ZBufferCalculator().keys(chars, PANEL, (100, 100))
    assert keys["face"].type == "face" and keys["body"].type == "body"
    assert keys["face"].d < keys["body"].d
    chars[1]["type"] = "body"  # an explicit type wins over the face-share rule
    assert ZBufferCalculator().keys(chars, PANEL, (100, 100))["face"].type == "body"


def test_mask_areas_override_box_areas_and_panels_are_separate() -> None:
    m_small, m_big = np.zeros((100, 200), bool), np.zeros((100, 200), bool)
    m_small[50:60, 10:20] = True
    m_big[40:90, 20:60] = True
    chars = [
        {"id": 1, "body_box": [10, 40, 60, 90]},
        {"id": 2, "body_box": [20, 40, 60, 90]},
        {"id": 3, "body_box": [120, 10, 130, 20]},
    ]
    keys = ZBufferCalculator().keys(
        chars, [[0, 0, 100, 100], [100, 0, 200, 100]], (100, 200), masks={1: m_small, 2: m_big}
    )
    assert keys[1].area_px == 100 and keys[2].area_px == 2000 and keys[1].d > keys[2].d
    assert keys[3].panel == 1 and keys[3].area == 0.0  # alone in its panel: largest there
    assert set(order_by_panel(keys)) == {0, 1}


def test_same_plane_tolerance() -> None:
    zb = ZBufferCalculator(ZBufferConfig(same_plane_tol=0.05))
    keys = zb.keys([_ch(1, [0, 50, 20, 90]), _ch(2, [30, 50, 50, 91])], PANEL, (100, 100))
    assert zb.same_plane(keys[1], keys[2])
    assert not ZBufferCalculator(ZBufferConfig(same_plane_tol=0.0)).same_plane(keys[1], keys[2])


def _tiny_depth_onnx(path) -> None:
    """A 2-layer 1x1 conv net: inverse depth = 2 * relu(mean of the RGB channels) (brighter = nearer)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    w1 = numpy_helper.from_array(np.full((1, 3, 1, 1), 1 / 3, np.float32), "w1")
    w2 = numpy_helper.from_array(np.full((1, 1, 1, 1), 2.0, np.float32), "w2")
    axes = numpy_helper.from_array(np.array([1], np.int64), "axes")
    graph = helper.make_graph(
        [
            helper.make_node("Conv", ["image", "w1"], ["a"]),
            helper.make_node("Relu", ["a"], ["b"]),
            helper.make_node("Conv", ["b", "w2"], ["c"]),
            helper.make_node("Squeeze", ["c", "axes"], ["depth"]),
        ],
        "tiny_depth",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, 16, 16])],
        [helper.make_tensor_value_info("depth", TensorProto.FLOAT, [1, 16, 16])],
        initializer=[w1, w2, axes],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def test_onnx_depth_term_orders_characters_the_cues_cannot(tmp_path) -> None:
    _tiny_depth_onnx(tmp_path / "tiny.onnx")
    image = np.full((64, 64), 20, np.uint8)
    image[:, 32:] = 230  # the right character stands on bright (near) ground
    chars = [_ch("left", [4, 20, 24, 60]), _ch("right", [40, 20, 60, 60])]
    plain = ZBufferCalculator().keys(chars, [[0, 0, 64, 64]], (64, 64), image=image)
    assert plain["left"].d == plain["right"].d and plain["left"].depth is None
    zb = ZBufferCalculator(depth_model=tmp_path / "tiny.onnx")
    assert zb.depth.size == (16, 16)
    depth_map = zb.depth(image)
    assert depth_map.shape == (64, 64) and depth_map[:, 40:].mean() > depth_map[:, :24].mean()
    keys = zb.keys(chars, [[0, 0, 64, 64]], (64, 64), image=image)
    assert keys["right"].depth == pytest.approx(0.0, abs=1e-3) and keys["left"].depth == pytest.approx(1.0, abs=1e-3)
    assert keys["right"].d < keys["left"].d
    assert keys["left"].d - keys["right"].d == pytest.approx(0.1, abs=1e-3)  # w_depth 0.1 of normalised weights


def test_bad_depth_model_and_config_are_input_errors(tmp_path) -> None:
    (tmp_path / "bad.onnx").write_bytes(b"not a model")
    with pytest.raises(InputError, match="bad.onnx"):
        ZBufferCalculator(depth_model=tmp_path / "bad.onnx")
    with pytest.raises(InputError, match="not found"):
        ZBufferCalculator(depth_model=tmp_path / "missing.onnx")
    with pytest.raises(InputError, match="y_ref"):
        ZBufferCalculator(ZBufferConfig(y_ref="top"))
    with pytest.raises(InputError, match="weights"):
        ZBufferCalculator(ZBufferConfig(w_y=0, w_area=0, w_type=0, w_depth=0)).weights(False)
