"""The chat client over a real socket: retries on 500 / 429 / time-out, bounded; clear errors; no hang."""

from __future__ import annotations

import socket
import subprocess
import sys

import numpy as np
import pytest
from agent_doubles import Sleep, Status

from segcorr.agent import ClientConfig, ImagePart, Message, OpenAIChat
from segcorr.agent.client import backoff_delays
from segcorr.errors import InputError

FAST = dict(backoff_s=0.01, backoff_max_s=0.02)
HELLO = [Message.of("user", "hello")]


def chat(server, **config) -> OpenAIChat:
    return OpenAIChat(server.base_url, "scripted", config=ClientConfig(**{"timeout_s": 5.0, **FAST, **config}))


@pytest.mark.parametrize("code", [500, 503, 429])
def test_retryable_status_then_success(server, code):
    server.push(Status(code), "fine now")
    client = chat(server, retries=2)
    assert client.complete(HELLO) == "fine now"
    assert len(server.requests) == 2 and client.requests == 2


def test_retries_are_bounded_and_end_in_one_clear_error(server):
    server.push(*[Status(500)] * 5)
    with pytest.raises(InputError, match=r"HTTP 500 .*after 3 tries") as e:
        chat(server, retries=2).complete(HELLO)
    assert len(server.requests) == 3 and "\n" not in str(e.value) and server.base_url in str(e.value)


def test_timeout_is_retried_then_reported_not_hung(server):
    server.push(Sleep(30), Sleep(30), "never reached")
    with pytest.raises(InputError, match=r"no answer within 0.3 s \(time-out\) after 2 tries"):
        chat(server, timeout_s=0.3, retries=1).complete(HELLO)
    assert len(server.requests) == 2


def test_client_errors_are_not_retried_and_never_show_the_key(server, monkeypatch):
    monkeypatch.setenv("MY_KEY", "sk-very-secret")
    server.push(Status(401), Status(404))
    client = OpenAIChat(server.base_url, "scripted", api_key_env="MY_KEY", config=ClientConfig(retries=3, **FAST))
    with pytest.raises(InputError, match=r"authentication failed \(401\); set the key in \$MY_KEY") as e:
        client.complete(HELLO)
    assert "sk-very-secret" not in str(e.value) and "sk-very-secret" not in str(client.describe())
    with pytest.raises(InputError, match="HTTP 404"):
        client.complete(HELLO)
    assert len(server.requests) == 2


def test_unset_key_sends_the_empty_placeholder(server, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    server.push("ok")
    assert chat(server).complete(HELLO) == "ok"
    assert server.requests[0]["headers"]["authorization"] == "Bearer EMPTY"


def test_unreachable_server_is_one_error_after_retries():
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = OpenAIChat(f"http://127.0.0.1:{port}/v1", "m", config=ClientConfig(retries=1, timeout_s=2.0, **FAST))
    with pytest.raises(InputError, match="cannot connect after 2 tries"):
        client.complete(HELLO)
    assert client.requests == 2


def test_request_carries_model_text_and_images_as_data_urls(server):
    server.push("ok")
    img = np.zeros((6, 9, 3), np.uint8)
    chat(server, temperature=0.0, max_tokens=64).complete(
        [Message.of("system", "sys"), Message.of("user", ImagePart.from_array(img), "what is this?")]
    )
    body = server.requests[0]["body"]
    assert body["model"] == "scripted" and body["temperature"] == 0.0 and body["max_tokens"] == 64
    assert body["messages"][0] == {"role": "system", "content": "sys"}
    parts = body["messages"][1]["content"]
    assert parts[0]["type"] == "image_url" and parts[0]["image_url"]["url"].startswith("data:image/png;base64,")
    assert parts[1] == {"type": "text", "text": "what is this?"}


def test_backoff_doubles_and_is_capped():
    assert backoff_delays(ClientConfig(retries=5, backoff_s=1.0, backoff_max_s=5.0)) == [1.0, 2.0, 4.0, 5.0, 5.0]
    assert backoff_delays(ClientConfig(retries=0)) == []


def test_bad_settings_and_urls_are_input_errors():
    with pytest.raises(InputError, match="http"):
        OpenAIChat("127.0.0.1:8000", "m")
    with pytest.raises(InputError, match="model"):
        OpenAIChat("http://127.0.0.1:8000/v1", "")
    with pytest.raises(ValueError):
        ClientConfig(timeout_s=0)


def test_without_openai_the_package_imports_and_the_client_says_what_to_install():
    code = (
        "import sys; sys.modules['openai'] = None\n"
        "import segcorr.agent, segcorr.cli\n"
        "from segcorr.errors import InputError\n"
        "try:\n    segcorr.agent.OpenAIChat('http://127.0.0.1:1/v1', 'm')\n"
        "except InputError as e:\n    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "pip install 'segcorr[agent]'" in out.stdout
