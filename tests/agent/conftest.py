from __future__ import annotations

import pytest
from agent_doubles import PHRASES, BoxSegmenter, ScriptedChatServer


@pytest.fixture
def server():
    with ScriptedChatServer() as s:
        yield s


@pytest.fixture
def segmenter() -> BoxSegmenter:
    return BoxSegmenter(PHRASES)
