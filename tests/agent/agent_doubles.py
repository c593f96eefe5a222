"""Test doubles for the agent: a scripted OpenAI-compatible HTTP server and a deterministic segmenter.

The server is real (stdlib ThreadingHTTPServer on 127.0.0.1, port 0, in a thread): the openai client talks
to it over a socket. It replays queued replies in order and records every request (body and headers).
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np

from segcorr.segment.base import Masks, Prompts


@dataclass(frozen=True)
class Status:
    """Answer the request with this HTTP error status."""

    code: int


@dataclass(frozen=True)
class Sleep:
    """Answer only after `seconds` (or when the server closes)."""

    seconds: float


@dataclass(frozen=True)
class NotJson:
    """Answer HTTP 200 with this body, which is not JSON (a web page where the API should be)."""

    body: str = "<html>not an API</html>"


def completion(content: str) -> dict:
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 0,
        "model": "scripted",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


class ScriptedChatServer:
    """POST /v1/chat/completions answered from a queue of str (a reply), Status, Sleep or NotJson items."""

    def __init__(self) -> None:
        self.script: deque = deque()
        self.requests: list[dict] = []
        self._lock = threading.Lock()
        self._closing = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep test output clean
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                headers = {k.lower(): v for k, v in self.headers.items()}
                with server._lock:
                    server.requests.append({"path": self.path, "headers": headers, "body": json.loads(body or b"{}")})
                    item = server.script.popleft() if server.script else Status(400)
                if self.path != "/v1/chat/completions":
                    return self._send(404, {"error": {"message": f"no route {self.path}"}})
                if isinstance(item, Sleep):
                    server._closing.wait(item.seconds)
                    item = "late reply"
                if isinstance(item, NotJson):
                    return self._send(200, item.body)
                if isinstance(item, Status):
                    return self._send(
                        item.code, {"error": {"message": f"scripted status {item.code}", "type": "scripted"}}
                    )
                self._send(200, completion(item))

            def _send(self, code: int, obj: dict | str) -> None:
                data = obj.encode() if isinstance(obj, str) else json.dumps(obj).encode()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.send_response(code)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def push(self, *items) -> None:
        with self._lock:
            self.script.extend(items)

    def messages(self, i: int) -> list[dict]:
        """The chat messages of request i."""
        return self.requests[i]["body"]["messages"]

    def __enter__(self) -> ScriptedChatServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._closing.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


def tool(name: str, **parameters) -> str:
    """A reply holding one tool call, with some prose around it as a real model writes."""
    return f"Let me think.\n<tool>{json.dumps({'name': name, 'parameters': parameters})}</tool>"


def verdict(accept: bool) -> str:
    return f"Looks {'right' if accept else 'wrong'}.\n<verdict>{'Accept' if accept else 'Reject'}</verdict>"


class BoxSegmenter:
    """Deterministic segmenter: known phrases map to fixed rectangles with fixed scores and presence.

    phrases: {phrase: (presence, [((x0, y0, x1, y1), score), ...])}; any other phrase finds nothing
    (presence 0.02). `calls` records the phrases asked, in order.
    """

    name = "box-test"

    def __init__(self, phrases: dict) -> None:
        self.phrases = phrases
        self.calls: list[str] = []

    def segment(self, image: np.ndarray, prompts: Prompts) -> Masks:
        h, w = image.shape[:2]
        phrase = prompts.text[0]
        self.calls.append(phrase)
        presence, items = self.phrases.get(phrase, (0.02, []))
        masks = np.zeros((len(items), h, w), bool)
        for i, ((x0, y0, x1, y1), _) in enumerate(items):
            masks[i, y0:y1, x0:x1] = True
        return Masks(
            masks=masks,
            scores=np.array([s for _, s in items], np.float32),
            presence=presence,
            iou_pred=np.full(len(items), 0.8, np.float32),
        )

    def segment_all(self, image: np.ndarray) -> np.ndarray:
        return np.zeros(image.shape[:2], np.int32)


# Three "girls" (scores 0.9, 0.3, 0.7); the loop shows them sorted by score: 1 -> A, 2 -> C, 3 -> B.
GIRL_A, GIRL_B, GIRL_C = (4, 4, 20, 30), (30, 10, 44, 40), (50, 6, 70, 44)
PHRASES = {"girl": (0.85, [(GIRL_A, 0.9), (GIRL_B, 0.3), (GIRL_C, 0.7)])}


def box_mask(box: tuple[int, int, int, int], shape: tuple[int, int] = (48, 80)) -> np.ndarray:
    m = np.zeros(shape, bool)
    x0, y0, x1, y1 = box
    m[y0:y1, x0:x1] = True
    return m


def sample_image() -> np.ndarray:
    """uint8 [48, 80, 3], deterministic."""
    return np.random.default_rng(7).integers(0, 256, (48, 80, 3), dtype=np.uint8)
