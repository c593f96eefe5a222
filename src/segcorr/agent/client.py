"""A chat model behind any OpenAI-compatible server, through the official `openai` client (optional extra).

Images travel as base64 PNG data URLs (`messages.to_openai`). Tool calls are plain text in the reply, so
servers without native tool calling work too. Time-outs, connection failures, 429 and 5xx answers are
retried with exponential back-off (`backoff_s * 2**attempt`, capped at `backoff_max_s`); after the last
try, and on any other refusal (401, 404, 400...), the run stops with one `InputError` naming the server.
The key is read from the environment and never recorded.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass

from segcorr.agent.messages import Message, to_openai
from segcorr.errors import InputError


@dataclass(frozen=True)
class ClientConfig:
    """timeout_s: per request; retries: further tries after a retryable failure; backoff_*: waits between."""

    timeout_s: float = 120.0
    retries: int = 3
    backoff_s: float = 1.0
    backoff_max_s: float = 16.0
    temperature: float | None = None
    max_tokens: int | None = None

    def __post_init__(self) -> None:
        if self.timeout_s <= 0 or self.retries < 0 or self.backoff_s < 0 or self.backoff_max_s < 0:
            raise ValueError(f"bad client settings: {self}")


def backoff_delays(config: ClientConfig) -> list[float]:
    """The waits before each retry: [backoff_s, 2 backoff_s, 4 backoff_s, ...] capped at backoff_max_s."""
    return [min(config.backoff_max_s, config.backoff_s * 2.0**k) for k in range(config.retries)]


class OpenAIChat:
    """`complete(messages) -> str` against `base_url` (e.g. http://127.0.0.1:8000/v1) with `model`.

    The key comes from the environment variable `api_key_env` (default OPENAI_API_KEY); when it is unset
    the placeholder "EMPTY" is sent, which local servers (vLLM, llama.cpp, SGLang...) accept.
    """

    def __init__(
        self, base_url: str, model: str, api_key_env: str = "OPENAI_API_KEY", config: ClientConfig = ClientConfig()
    ) -> None:
        try:
            import openai
        except ModuleNotFoundError:
            raise InputError(
                "the agent's chat client needs the `openai` package: pip install 'segcorr[agent]'"
            ) from None
        if not base_url.startswith(("http://", "https://")):
            raise InputError(f"expected an http(s) URL for the chat server, found {base_url!r}")
        if not model:
            raise InputError("a chat server needs a model name (--model)")
        self.base_url, self.model, self.api_key_env, self.config = base_url, model, api_key_env, config
        self._openai = openai
        # retries are ours (tested, bounded, one error message at the end), so the client's own are off
        self._client = openai.OpenAI(
            base_url=base_url, api_key=os.environ.get(api_key_env) or "EMPTY", timeout=config.timeout_s, max_retries=0
        )
        self.requests = 0  # HTTP requests sent, retries included

    def describe(self) -> dict:
        return {
            "kind": "openai-compatible",
            "base_url": self.base_url,
            "model": self.model,
            "api_key_env": self.api_key_env,
        }

    def complete(self, messages: Sequence[Message]) -> str:
        """The assistant's text for the conversation. Raises InputError when the server cannot answer."""
        kwargs = {"model": self.model, "messages": to_openai(messages)}
        if self.config.temperature is not None:
            kwargs["temperature"] = self.config.temperature
        if self.config.max_tokens is not None:
            kwargs["max_tokens"] = self.config.max_tokens
        delays = backoff_delays(self.config)
        for attempt in range(len(delays) + 1):
            self.requests += 1
            try:
                response = self._client.chat.completions.create(**kwargs)
            except Exception as e:
                reason, retryable = self._classify(e)
                if not retryable or attempt == len(delays):
                    tries = f" after {attempt + 1} tries" if attempt else ""
                    raise InputError(f"chat server {self.base_url} (model {self.model!r}): {reason}{tries}") from None
                time.sleep(delays[attempt])
                continue
            if not response.choices:
                raise InputError(f"chat server {self.base_url}: the answer holds no choices")
            return response.choices[0].message.content or ""
        raise AssertionError("unreachable")

    def _classify(self, e: Exception) -> tuple[str, bool]:
        """(one-line reason, whether to retry) for an exception of the openai client."""
        o = self._openai
        if isinstance(e, o.APITimeoutError):
            return f"no answer within {self.config.timeout_s:g} s (time-out)", True
        if isinstance(e, o.APIConnectionError):
            return "cannot connect", True
        if isinstance(e, o.APIStatusError):
            code = e.status_code
            detail = " ".join(str(getattr(e, "message", "") or "").split())[:200]
            if code == 401:
                return f"authentication failed (401); set the key in ${self.api_key_env}", False
            return f"HTTP {code} {detail}".rstrip(), code == 429 or code >= 500
        if isinstance(e, o.OpenAIError):
            return f"{type(e).__name__}: {e}", False
        if isinstance(e, json.JSONDecodeError):  # an answer, but not JSON: not an OpenAI-compatible endpoint
            return "the answer is not JSON (is --base-url the /v1 root of an OpenAI-compatible server?)", False
        raise e
