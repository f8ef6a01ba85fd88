"""The one interface every LLM backend implements, and what the backends share.

:class:`LLMClient` is a structural Protocol: the OpenAI-compatible client
(:mod:`stenograph.llm.openai_client`), the embedded llama.cpp engine (:mod:`stenograph.llm.embedded`)
and the scripted fake (:mod:`stenograph.llm.fake`) all satisfy it. The pipeline's correction and
summary steps only ever see this interface.

Token figures are in tokens of the model's own tokenizer where one is known, else the estimate of
:func:`estimate_tokens`; times are in seconds.
"""

from __future__ import annotations

import enum
import math
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol, TypedDict, runtime_checkable
from urllib.parse import urlsplit

from stenograph.settings import is_loopback_host

__all__ = [
    "CHARS_PER_TOKEN",
    "DEFAULT_CONTEXT_TOKENS",
    "ChatAnswer",
    "ChatMessage",
    "LLMClient",
    "LLMDescription",
    "StructuredLevel",
    "endpoint_origin",
    "estimate_tokens",
]

#: Context assumed when neither the settings, the model nor the server tell (tokens). Small on purpose:
#: too small costs a few more calls; too large loses text on servers that truncate silently.
DEFAULT_CONTEXT_TOKENS = 2048

#: Characters per token of the fallback estimate. OpenAI's rule of thumb is about 4 characters of English
#: text per token ("What are tokens and how to count them", help.openai.com); other Latin-script
#: languages, digits and timestamps tokenize worse (about 2.5-3.5 characters per token with 32k-256k
#: vocabularies), so 2.5 over-counts rather than under-counts. A context-overflow retry backs it up.
CHARS_PER_TOKEN = 2.5

#: Tokens counted per CJK/kana/hangul character by the estimate: byte-level BPE vocabularies spend one
#: to two tokens per Han character (Chinese averages about 1.1-1.5 with GPT-style vocabularies).
TOKENS_PER_WIDE_CHAR = 1.5


class ChatMessage(TypedDict):
    """One chat message, as in the OpenAI chat-completions API."""

    role: Literal["system", "user", "assistant"]
    content: str


class StructuredLevel(enum.IntEnum):
    """How a client constrains a JSON answer, best first. A client falls back down this list when its
    server rejects a ``response_format`` and remembers the level that worked.

    * ``JSON_SCHEMA``: ``response_format={"type": "json_schema", ...}`` (OpenAI, vLLM, Ollama >= 0.5,
      llama.cpp server, LM Studio) or a grammar built from the schema (embedded llama.cpp).
    * ``JSON_OBJECT_SCHEMA``: ``{"type": "json_object", "schema": ...}``, the extension of llama.cpp's
      server and llama-cpp-python's server (which rejects ``json_schema``), constrained by the schema.
    * ``JSON_OBJECT``: ``{"type": "json_object"}``: any JSON object; the schema is in the prompt only.
    * ``PROMPT``: no ``response_format``; the schema is in the prompt and a bad answer gets a repair prompt.
    """

    JSON_SCHEMA = 4
    JSON_OBJECT_SCHEMA = 3
    JSON_OBJECT = 2
    PROMPT = 1


@dataclass(frozen=True, slots=True)
class ChatAnswer:
    """A model's answer: its text, the structured level used, token counts (None when the server did
    not say) and the wall-clock seconds the call took."""

    text: str
    level: StructuredLevel | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class LLMDescription:
    """Which LLM a client talks to, for the API, logs and stored results.

    ``kind`` is ``openai`` | ``ollama`` | ``embedded`` | ``fake`` | ``none``; ``endpoint`` is the base URL
    (a file path for ``embedded``, None for ``none``); ``local`` is True when the transcript text stays on
    this machine (a loopback host, or in-process).
    """

    kind: str
    model: str | None
    endpoint: str | None
    local: bool

    @property
    def warning(self) -> str | None:
        """A sentence for the API and the log when transcript text leaves this machine, else None."""
        if self.local or self.endpoint is None:
            return None
        return f"transcript text is sent to {endpoint_origin(self.endpoint)}, which is not on this machine"

    def to_dict(self) -> dict[str, Any]:
        """JSON form: ``{"kind", "model", "endpoint", "local", "warning"}``."""
        return {
            "kind": self.kind,
            "model": self.model,
            "endpoint": self.endpoint,
            "local": self.local,
            "warning": self.warning,
        }

    @classmethod
    def for_url(cls, kind: str, model: str | None, base_url: str) -> LLMDescription:
        """Describe an HTTP endpoint; ``local`` when its host is loopback (see ``is_loopback_host``)."""
        host = urlsplit(base_url).hostname or ""
        return cls(kind=kind, model=model, endpoint=base_url, local=is_loopback_host(host))


@runtime_checkable
class LLMClient(Protocol):
    """A chat model. Implementations must be safe to call from one thread at a time (a task's)."""

    def describe(self) -> LLMDescription:
        """Which model this is, where it runs, whether transcript text leaves the machine."""

    def context_tokens(self) -> int:
        """The context window in tokens (prompt and answer together)."""

    def count_tokens(self, text: str) -> int:
        """Tokens of ``text`` with the model's tokenizer, or a conservative estimate when it has none."""

    def chat(
        self,
        messages: Sequence[ChatMessage],
        *,
        json_schema: Mapping[str, Any] | None = None,
        schema_name: str = "answer",
        max_tokens: int | None = None,
        temperature: float = 0.0,
    ) -> ChatAnswer:
        """One chat completion.

        With ``json_schema`` the client asks for JSON at the best :class:`StructuredLevel` its server
        accepts (the caller still parses and validates; see :mod:`stenograph.llm.structured`).

        Raises:
            LLMUnavailable / LLMTimeout: the server cannot answer now (retryable).
            LLMRequestRejected: a 4xx that will not change on retry (permanent).
            LLMContextOverflow: the prompt plus ``max_tokens`` do not fit the context.
        """


def _is_wide(char: str) -> bool:
    if ord(char) < 0x2E80:
        return False
    return unicodedata.east_asian_width(char) in ("W", "F")


def estimate_tokens(text: str) -> int:
    """A conservative token count for ``text`` when the model's tokenizer is not available.

    Counts ``TOKENS_PER_WIDE_CHAR`` per wide (CJK, kana, hangul) character and one token per
    ``CHARS_PER_TOKEN`` other characters, rounded up. Over-counts English by about 60%.
    """
    wide = sum(1 for char in text if _is_wide(char))
    other = len(text) - wide
    return math.ceil(other / CHARS_PER_TOKEN + wide * TOKENS_PER_WIDE_CHAR)


def endpoint_origin(url: str) -> str:
    """``scheme://host[:port]`` of a URL (no path, no credentials), for messages."""
    parts = urlsplit(url)
    if not parts.scheme or not parts.hostname:
        return url
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}"
