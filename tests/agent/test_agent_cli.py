"""`segcorr agent` end to end: offline by default, against a scripted server, and every bad input as one line."""

from __future__ import annotations

import json
import socket

import numpy as np
import pytest
from agent_doubles import (
    GIRL_A,
    GIRL_C,
    PHRASES,
    BoxSegmenter,
    NotJson,
    Sleep,
    box_mask,
    sample_image,
    tool,
    verdict,
)

from segcorr import segment
from segcorr.cli import main
from segcorr.io.image import read_gray, read_image, write_image


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


@pytest.fixture
def builtin(monkeypatch) -> BoxSegmenter:
    """The default segmenter name answered by the deterministic test segmenter."""
    seg = BoxSegmenter(PHRASES)
    monkeypatch.setitem(segment._REGISTRY, "builtin", lambda **kw: seg)
    if "builtin" not in segment.NAMES:
        monkeypatch.setattr(segment, "NAMES", (*segment.NAMES, "builtin"))
    return seg


@pytest.fixture
def image_file(tmp_path):
    path = tmp_path / "girls.png"
    write_image(path, sample_image())
    return path


def check_outputs(out, boxes):
    index = json.loads((out / "masks.json").read_text())
    assert index["status"] == "selected" and index["presence"] == pytest.approx(0.85)
    assert [m["file"] for m in index["masks"]] == [f"mask_{i:02d}.png" for i in range(len(boxes))]
    for entry, box in zip(index["masks"], boxes):
        assert set(entry) == {"file", "score", "iou_pred", "box", "prompt"}
        png = read_gray(out / entry["file"])
        assert set(np.unique(png)) <= {0, 255}
        assert np.array_equal(png == 255, box_mask(box))
        assert entry["box"] == [float(v) for v in box]
    assert read_image(out / "overlay.png").shape == (48, 80, 3)
    return index, json.loads((out / "transcript.json").read_text())


def test_offline_by_default(builtin, image_file, tmp_path, capsys):
    out = tmp_path / "out"
    assert run(["agent", image_file, "--query", "the girl holding the umbrella", "--out", out]) == 0
    index, transcript = check_outputs(out, [GIRL_A, GIRL_C])
    assert index["masks"][0]["prompt"] == "girl" and index["masks"][0]["iou_pred"] == pytest.approx(0.8)
    assert transcript["model"]["kind"] == "offline" and transcript["status"] == "selected"
    assert "selected: wrote 2 mask(s)" in capsys.readouterr().out


def test_against_a_server_with_a_named_key(builtin, image_file, tmp_path, server, monkeypatch):
    monkeypatch.setenv("SEGCORR_CLI_KEY", "sk-cli-secret-2718")
    server.push(
        tool("segment_phrase", text_prompt="girl"),
        tool("examine_each_mask"),
        verdict(True),
        verdict(True),
        verdict(False),
        tool("select_masks_and_return", final_answer_masks=[1, 2]),
    )
    out = tmp_path / "out"
    assert (
        run(
            [
                "agent",
                image_file,
                "--query",
                "the girls",
                "--out",
                out,
                "--base-url",
                server.base_url,
                "--model",
                "scripted",
                "--api-key-env",
                "SEGCORR_CLI_KEY",
                "--max-generations",
                "4",
            ]
        )
        == 0
    )
    _, transcript = check_outputs(out, [GIRL_A, GIRL_C])
    text = (out / "transcript.json").read_text()
    assert "sk-cli-secret-2718" not in text and "base64" not in text
    assert transcript["model"] == {
        "kind": "openai-compatible",
        "base_url": server.base_url,
        "model": "scripted",
        "api_key_env": "SEGCORR_CLI_KEY",
    }
    assert server.requests[0]["headers"]["authorization"] == "Bearer sk-cli-secret-2718"


def test_budget_spent_writes_an_empty_answer(builtin, image_file, tmp_path, server, capsys):
    server.push("hmm", "hmm")
    out = tmp_path / "out"
    assert (
        run(
            [
                "agent",
                image_file,
                "--query",
                "girl",
                "--out",
                out,
                "--base-url",
                server.base_url,
                "--model",
                "m",
                "--max-generations",
                "2",
            ]
        )
        == 0
    )
    assert json.loads((out / "masks.json").read_text()) == {"presence": None, "status": "max_generations", "masks": []}
    assert "no answer within 2 generations" in capsys.readouterr().err


def test_server_time_out_is_one_line(builtin, image_file, tmp_path, server, capsys):
    server.push(Sleep(30))
    out = tmp_path / "out"
    assert (
        run(
            [
                "agent",
                image_file,
                "--query",
                "girl",
                "--out",
                out,
                "--base-url",
                server.base_url,
                "--model",
                "m",
                "--timeout",
                "0.3",
                "--retries",
                "0",
            ]
        )
        == 2
    )
    assert "time-out" in one_error_line(capsys)
    assert not (out / "masks.json").exists()


def test_answer_that_is_not_json_is_one_line(builtin, image_file, tmp_path, server, capsys):
    server.push(NotJson())
    out = tmp_path / "out"
    argv = ["agent", image_file, "--query", "girl", "--out", out, "--base-url", server.base_url, "--model", "m"]
    assert run(argv) == 2
    line = one_error_line(capsys)
    assert "not JSON" in line and "internal error" not in line
    assert len(server.requests) == 1  # not retried: the same server would answer the same page
    assert not (out / "masks.json").exists()


def test_unreachable_server_is_one_line(builtin, image_file, tmp_path, capsys):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = tmp_path / "out"
    assert (
        run(
            [
                "agent",
                image_file,
                "--query",
                "girl",
                "--out",
                out,
                "--base-url",
                f"http://127.0.0.1:{port}/v1",
                "--model",
                "m",
                "--retries",
                "1",
                "--backoff",
                "0.01",
            ]
        )
        == 2
    )
    assert "cannot connect after 2 tries" in one_error_line(capsys)
    assert not out.exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--query", "  "], "--query is empty"),
        (["--query", "girl", "--model", "m"], "--model needs --base-url"),
        (["--query", "girl", "--segmenter", "flat"], "cannot answer text prompts"),
        (["--query", "girl", "--base-url", "localhost:8000"], "expected an http(s) URL"),
    ],
)
def test_bad_arguments_are_one_line(builtin, image_file, tmp_path, capsys, args, message):
    assert run(["agent", image_file, "--out", tmp_path / "out", *args]) == 2
    assert message in one_error_line(capsys)
    assert not (tmp_path / "out").exists()


def test_missing_image_is_one_line(builtin, tmp_path, capsys):
    assert run(["agent", tmp_path / "nope.png", "--query", "girl", "--out", tmp_path / "out"]) == 2
    assert "nope.png" in one_error_line(capsys)


def test_without_the_builtin_segmenter_the_default_fails_clearly(image_file, tmp_path, monkeypatch, capsys):
    monkeypatch.delitem(segment._REGISTRY, "builtin", raising=False)
    monkeypatch.setattr(segment, "NAMES", tuple(n for n in segment.NAMES if n != "builtin"))
    assert run(["agent", image_file, "--query", "girl", "--out", tmp_path / "out"]) == 2
    line = one_error_line(capsys)
    assert "'builtin' is not available" in line and "--segmenter" in line
