"""Errors of the LLM backends, a sub-tree of :class:`stenograph.errors.LLMError`.

::

    LLMError
    ├── LLMUnavailable        (also RetryableError) server unreachable, 5xx, 429: names the endpoint
    │   └── LLMTimeout        (also RetryableError) no answer within llm_timeout_seconds
    ├── LLMBadAnswer          (also RetryableError) the server's answer is not a chat completion (a proxy's
    │                         error page, the wrong URL): names the server and what was wrong
    ├── LLMRequestRejected    (also PermanentError) a 4xx the server will answer the same way again
    ├── LLMOutputError        (also PermanentError) the answer does not match the schema, after one repair
    ├── LLMNotConfigured      (also ConfigurationError) settings name a backend that cannot be built
    ├── LLMContextOverflow    the prompt does not fit the model's context (callers retry with smaller chunks)
    └── LLMUnsupportedFormat  the server rejected a ``response_format`` (the client falls back a level)

The retryable members derive from :class:`stenograph.errors.RetryableError`, so a task handler can let
them propagate and the queue retries with backoff; ``isinstance(err, RetryableError)`` recognises them.
The last two are internal signals, handled inside this package and the pipeline.
"""

from __future__ import annotations

from stenograph.errors import ConfigurationError, LLMError, PermanentError, RetryableError

__all__ = [
    "LLMBadAnswer",
    "LLMContextOverflow",
    "LLMError",
    "LLMNotConfigured",
    "LLMOutputError",
    "LLMRequestRejected",
    "LLMTimeout",
    "LLMUnavailable",
    "LLMUnsupportedFormat",
]


class LLMUnavailable(LLMError, RetryableError):
    """The LLM server at ``endpoint`` could not answer now (connection refused, 5xx, 429): retry later."""

    code = "llm_unavailable"
    kind = "llm_unavailable"

    def __init__(self, message: str, *, endpoint: str | None = None) -> None:
        super().__init__(message)
        self.endpoint = endpoint


class LLMTimeout(LLMUnavailable):
    """The LLM server at ``endpoint`` did not answer within the timeout."""

    code = "llm_timeout"
    kind = "llm_timeout"


class LLMBadAnswer(LLMError, RetryableError):
    """The server at ``endpoint`` answered, but not with an OpenAI chat completion (not JSON, no choices)."""

    code = "llm_bad_answer"
    kind = "llm_bad_answer"

    def __init__(self, message: str, *, endpoint: str | None = None) -> None:
        super().__init__(message)
        self.endpoint = endpoint


class LLMRequestRejected(LLMError, PermanentError):
    """The server refused the request with a 4xx (bad model name, bad API key...): retrying cannot help."""

    code = "llm_rejected"
    kind = "llm_rejected"

    def __init__(self, message: str, *, endpoint: str | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.endpoint = endpoint
        self.status = status


class LLMOutputError(LLMError, PermanentError):
    """The model's answer did not match the expected JSON schema, even after one repair attempt."""

    code = "llm_bad_output"
    kind = "llm_bad_output"


class LLMNotConfigured(LLMError, ConfigurationError):
    """``settings.llm`` names a backend whose settings are missing (no model, no GGUF file...)."""

    code = "llm_not_configured"


class LLMContextOverflow(LLMError):
    """The prompt plus the requested answer exceed the model's context window.

    Attributes:
        context_tokens: the context size the server reported, when it said (tokens), else None.
    """

    code = "llm_context_overflow"

    def __init__(self, message: str, *, context_tokens: int | None = None) -> None:
        super().__init__(message)
        self.context_tokens = context_tokens


class LLMUnsupportedFormat(LLMError):
    """The server rejected the ``response_format`` sent; the client retries one level lower."""

    code = "llm_unsupported_format"
