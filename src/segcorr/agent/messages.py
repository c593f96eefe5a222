"""Chat messages of the agent: text and images, in one form for the loop, the wire and the transcript.

The loop builds `Message`s; `to_openai` turns them into the chat-completions wire format (images as
base64 PNG data URLs); `to_transcript` turns them into JSON where each image is a placeholder such as
"<image 640x480>", so a transcript never holds image bytes.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np


@dataclass(frozen=True)
class ImagePart:
    """An image encoded once as PNG (the conversation is resent every turn; encoding is not)."""

    png: bytes
    width: int
    height: int

    @classmethod
    def from_array(cls, image: np.ndarray) -> ImagePart:
        """image: uint8 [H, W, 3] RGB or [H, W] grey."""
        from segcorr.io.image import encode_image

        return cls(png=encode_image(image, ".png"), width=int(image.shape[1]), height=int(image.shape[0]))

    def data_url(self) -> str:
        return "data:image/png;base64," + base64.b64encode(self.png).decode("ascii")

    def placeholder(self) -> str:
        return f"<image {self.width}x{self.height}>"


Part = str | ImagePart


@dataclass(frozen=True)
class Message:
    """One chat message: role is "system", "user" or "assistant"; parts are text and images in order."""

    role: str
    parts: tuple[Part, ...]

    @classmethod
    def of(cls, role: str, *parts: Part) -> Message:
        return cls(role=role, parts=tuple(parts))

    @property
    def text(self) -> str:
        """The text parts joined by newlines (images left out)."""
        return "\n".join(p for p in self.parts if isinstance(p, str))

    @property
    def images(self) -> list[ImagePart]:
        return [p for p in self.parts if isinstance(p, ImagePart)]


class ChatModel(Protocol):
    """What the loop talks to: the HTTP client (`client.OpenAIChat`) or the offline verifier."""

    def complete(self, messages: Sequence[Message]) -> str:
        """The model's reply (plain text) to the conversation so far."""
        ...

    def describe(self) -> dict:
        """What to record in the transcript about this model (never a secret)."""
        ...


def to_openai(messages: Sequence[Message]) -> list[dict]:
    """Chat-completions messages: text-only messages as a string, mixed ones as text / image_url parts."""
    out = []
    for m in messages:
        if not m.images:
            out.append({"role": m.role, "content": m.text})
            continue
        content = [
            {"type": "text", "text": p}
            if isinstance(p, str)
            else {"type": "image_url", "image_url": {"url": p.data_url()}}
            for p in m.parts
        ]
        out.append({"role": m.role, "content": content})
    return out


def to_transcript(messages: Sequence[Message]) -> list[dict]:
    """JSON-ready messages with every image replaced by its placeholder "<image WxH>"."""
    return [
        {"role": m.role, "content": [p if isinstance(p, str) else p.placeholder() for p in m.parts]} for m in messages
    ]
