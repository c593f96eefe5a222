"""The generate-verify-refine agent (SAM 3-style) around a segmenter and a multimodal chat model.

`Agent(segmenter, model).run(image, query) -> AgentResult`; the model is `OpenAIChat` (any
OpenAI-compatible server; needs the `agent` extra) or `OfflineVerifier` (scripted, no server).
"""

from segcorr.agent.client import ClientConfig, OpenAIChat
from segcorr.agent.loop import Agent, AgentConfig, AgentMask, AgentResult
from segcorr.agent.messages import ChatModel, ImagePart, Message
from segcorr.agent.offline import OfflineVerifier, noun_phrase_variants

__all__ = [
    "Agent",
    "AgentConfig",
    "AgentMask",
    "AgentResult",
    "ChatModel",
    "ClientConfig",
    "ImagePart",
    "Message",
    "OfflineVerifier",
    "OpenAIChat",
    "noun_phrase_variants",
]
