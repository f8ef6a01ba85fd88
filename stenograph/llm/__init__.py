"""LLM backends behind one interface (:class:`~stenograph.llm.base.LLMClient`), and the choice among them.

* :mod:`stenograph.llm.base`: the Protocol, messages, descriptions, the token estimate.
* :mod:`stenograph.llm.openai_client`: OpenAI-compatible servers (OpenAI, Ollama, llama.cpp, vLLM, LM Studio).
* :mod:`stenograph.llm.embedded`: llama-cpp-python in process (optional extra, imported lazily).
* :mod:`stenograph.llm.select`: ``settings.llm`` -> a client; :func:`describe` for the API and logs.
* :mod:`stenograph.llm.structured`: JSON answers with one repair attempt.
* :mod:`stenograph.llm.models`: the Gemma 3 270M GGUF from PyPI (tests and demonstrations only).
* :mod:`stenograph.llm.fake`: a scripted client for tests.
* :mod:`stenograph.llm.errors`: the error sub-tree.
"""

from __future__ import annotations

from stenograph.llm.base import ChatAnswer, ChatMessage, LLMClient, LLMDescription, StructuredLevel
from stenograph.llm.select import LLMChoice, build_llm, choose_llm, describe

__all__ = [
    "ChatAnswer",
    "ChatMessage",
    "LLMChoice",
    "LLMClient",
    "LLMDescription",
    "StructuredLevel",
    "build_llm",
    "choose_llm",
    "describe",
]
