"""An OpenAI-compatible chat-completions client (the ``openai`` SDK) for OpenAI, Ollama, llama.cpp
server, llama-cpp-python's server, vLLM and LM Studio.

Structured output: the client first sends ``response_format={"type": "json_schema", ...}``; when the
server rejects it (a 400/422, or llama-cpp-python's 500 validation error, naming ``response_format``/
``json_schema``), it retries the same call with ``{"type": "json_object", "schema": ...}`` (llama.cpp's
extension), then ``{"type": "json_object"}``, then with none (the schema is in the prompt at every level;
see :mod:`stenograph.llm.structured`). The level that worked is remembered for the client's lifetime.

Context size, first that answers: the ``context_tokens`` argument (``settings.llm_context_tokens``);
for Ollama 2048 (its OpenAI-compatible endpoint runs the model at its ``num_ctx``, 2048 by default
before 0.6 and truncates longer prompts silently, so a larger guess would lose text); llama.cpp server's
``GET /props`` (``default_generation_settings.n_ctx``); vLLM's ``GET /v1/models`` (``max_model_len``);
else :data:`~stenograph.llm.base.DEFAULT_CONTEXT_TOKENS`.

Token counting: llama.cpp server ``POST /tokenize`` (``{"content"}``), vLLM ``POST /tokenize``
(``{"model", "prompt"}``), llama-cpp-python ``POST /extras/tokenize`` (``{"input"}``), the first that
answers; else :func:`~stenograph.llm.base.estimate_tokens`. Nothing is downloaded.

Errors: connection failures, timeouts, 5xx and 429 raise :class:`LLMUnavailable`/:class:`LLMTimeout`
(retryable) naming the endpoint; a context-length error raises :class:`LLMContextOverflow`; other 4xx
raise :class:`LLMRequestRejected` (permanent). The SDK's own retries are off (the task queue retries).
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, cast

import httpx
import openai

from stenograph.llm.base import (
    DEFAULT_CONTEXT_TOKENS,
    ChatAnswer,
    ChatMessage,
    LLMDescription,
    StructuredLevel,
    estimate_tokens,
)
from stenograph.llm.errors import (
    LLMBadAnswer,
    LLMContextOverflow,
    LLMRequestRejected,
    LLMTimeout,
    LLMUnavailable,
    LLMUnsupportedFormat,
)

__all__ = ["OLLAMA_CONTEXT_TOKENS", "OpenAICompatibleClient", "classify_status_error"]

#: Context assumed for Ollama's OpenAI-compatible endpoint (its default ``num_ctx``; see module doc).
OLLAMA_CONTEXT_TOKENS = 2048

#: Seconds allowed for the metadata probes (/props, /models, /tokenize).
PROBE_TIMEOUT_S = 3.0

_OVERFLOW = re.compile(
    r"context[ _](length|window|size)|maximum context|exceed_context_size|context_length_exceeded"
    r"|prompt is too long|too many tokens|input is too long",
    re.IGNORECASE,
)
_OVERFLOW_SIZE = re.compile(
    r"maximum context length is (\d+)|context window of (\d+)|\"n_ctx\"\s*:\s*(\d+)", re.IGNORECASE
)
_FORMAT = re.compile(r"response_format|json_schema|json_object|structured output|grammar", re.IGNORECASE)


def _body_text(error: openai.APIStatusError) -> str:
    try:
        return error.response.text
    except Exception:  # the body may be a stream already closed
        return json.dumps(error.body) if error.body is not None else str(error)


def classify_status_error(
    status: int, body: str, *, endpoint: str, sent_format: bool
) -> LLMUnavailable | LLMContextOverflow | LLMUnsupportedFormat | LLMRequestRejected:
    """Map an HTTP error answer to this package's error tree.

    Args:
        status: the HTTP status code.
        body: the answer's body text (JSON error objects of OpenAI, vLLM, Ollama and llama.cpp differ;
            this matches their message texts, see ``tests/llm/fixtures``).
        endpoint: the base URL, named in messages.
        sent_format: whether the request carried a ``response_format``.
    """
    snippet = body.strip().replace("\n", " ")[:300]
    # llama-cpp-python answers 500 to a response_format its request model does not know (a pydantic error).
    about_format = sent_format and _FORMAT.search(body) is not None and _OVERFLOW.search(body) is None
    validation = status < 500 or "literal_error" in body or "validation error" in body
    if about_format and status in (400, 415, 422, 500, 501) and validation:
        return LLMUnsupportedFormat(f"LLM server at {endpoint} rejected the response_format: {snippet}")
    if status >= 500 or status in (408, 429):
        message = f"LLM server at {endpoint} answered HTTP {status}: {snippet}"
        return LLMUnavailable(message, endpoint=endpoint)
    if _OVERFLOW.search(body):
        size = next((int(g) for m in _OVERFLOW_SIZE.finditer(body) for g in m.groups() if g), None)
        message = f"the prompt does not fit the model's context: {snippet}"
        return LLMContextOverflow(message, context_tokens=size)
    message = f"LLM server at {endpoint} refused the request (HTTP {status}): {snippet}"
    return LLMRequestRejected(message, endpoint=endpoint, status=status)


class OpenAICompatibleClient:
    """A chat model behind an OpenAI-compatible ``/v1/chat/completions`` endpoint.

    Args:
        base_url: e.g. ``http://127.0.0.1:8080/v1`` (the ``/v1`` prefix is part of it).
        model: the model name; None asks ``GET {base_url}/models`` and takes the first one.
        api_key: bearer token; local servers accept any (``"not-needed"`` is sent when None).
        timeout_s: seconds per request (``settings.llm_timeout_seconds``).
        kind: ``openai`` or ``ollama``, for :meth:`describe` and the context rule above.
        context_tokens: an override of the context size (``settings.llm_context_tokens``).
    """

    def __init__(
        self,
        *,
        base_url: str,
        model: str | None,
        api_key: str | None = None,
        timeout_s: float = 120.0,
        kind: str = "openai",
        context_tokens: int | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.kind = kind
        self._model = model
        self._api_key = api_key
        self._timeout_s = timeout_s
        self._context_override = context_tokens
        self._context: int | None = None
        self._tokenizer: tuple[str, str] | bool | None = False  # False: not probed yet; None: none found
        self._lock = threading.Lock()
        self.level = StructuredLevel.JSON_SCHEMA
        self._sdk = openai.OpenAI(
            base_url=self.base_url, api_key=api_key or "not-needed", timeout=timeout_s, max_retries=0
        )
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.Client(timeout=PROBE_TIMEOUT_S, headers=headers)

    # --- description and metadata ---------------------------------------------------------------
    @property
    def root_url(self) -> str:
        """The server root: the base URL without a trailing ``/v1``."""
        return self.base_url[:-3] if self.base_url.endswith("/v1") else self.base_url

    @property
    def model(self) -> str:
        """The model name (asks the server once when none was configured)."""
        if self._model is None:
            self._model = self._first_model()
        return self._model

    def describe(self) -> LLMDescription:
        return LLMDescription.for_url(self.kind, self._model, self.base_url)

    def _get_json(self, url: str) -> Any:
        response = self._http.get(url)
        response.raise_for_status()
        return response.json()

    def _first_model(self) -> str:
        url = self.base_url
        try:
            data = self._get_json(f"{url}/models")
            return str(data["data"][0]["id"])
        except httpx.TransportError as exc:
            raise LLMUnavailable(f"LLM server at {url} is unreachable: {exc}", endpoint=url) from exc
        except (httpx.HTTPStatusError, KeyError, IndexError, TypeError, ValueError) as exc:
            raise LLMRequestRejected(
                f"no llm_model is set and {self.base_url}/models names none ({exc})", endpoint=self.base_url
            ) from exc

    def context_tokens(self) -> int:
        """The context window in tokens (see the module doc for where it comes from)."""
        if self._context_override is not None:
            return self._context_override
        if self._context is None:
            self._context = self._probe_context()
        return self._context

    def _probe_context(self) -> int:
        if self.kind == "ollama":
            return OLLAMA_CONTEXT_TOKENS
        try:
            props = self._get_json(f"{self.root_url}/props")
            n_ctx = props.get("default_generation_settings", {}).get("n_ctx") or props.get("n_ctx")
            if isinstance(n_ctx, int) and n_ctx > 0:
                return n_ctx
        except (httpx.HTTPError, ValueError, AttributeError):
            pass
        try:
            models = self._get_json(f"{self.base_url}/models").get("data", [])
            for entry in models:
                if (self._model is None or entry.get("id") == self._model) and entry.get("max_model_len"):
                    return int(entry["max_model_len"])
        except (httpx.HTTPError, ValueError, AttributeError, TypeError):
            pass
        return DEFAULT_CONTEXT_TOKENS

    def count_tokens(self, text: str) -> int:
        """Tokens of ``text`` by the server's tokenizer endpoint, else :func:`estimate_tokens`."""
        if self._tokenizer is False:
            self._tokenizer = self._probe_tokenizer()
        if self._tokenizer is None or self._tokenizer is True:
            return estimate_tokens(text)
        count = self._tokenize(self._tokenizer, text)
        return estimate_tokens(text) if count is None else count

    def _tokenize(self, route: tuple[str, str], text: str) -> int | None:
        path, key = route
        payload: dict[str, Any] = {key: text}
        if key == "prompt":
            payload["model"] = self._model or ""
        try:
            response = self._http.post(f"{self.root_url}{path}", json=payload)
            if response.status_code != 200:
                return None
            data = response.json()
        except (httpx.HTTPError, ValueError):
            return None
        if isinstance(data, dict):
            if isinstance(data.get("count"), int):
                return int(data["count"])
            if isinstance(data.get("tokens"), list):
                return len(data["tokens"])
        return None

    def _probe_tokenizer(self) -> tuple[str, str] | None:
        if self.kind == "ollama":
            return None
        for route in (("/tokenize", "content"), ("/tokenize", "prompt"), ("/extras/tokenize", "input")):
            if self._tokenize(route, "hello world") is not None:
                return route
        return None

    # --- chat ------------------------------------------------------------------------------------
    def _response_format(self, level: StructuredLevel, schema: Mapping[str, Any], name: str) -> Any:
        if level == StructuredLevel.JSON_SCHEMA:
            spec = {"name": name, "schema": dict(schema), "strict": True}
            return {"type": "json_schema", "json_schema": spec}
        if level == StructuredLevel.JSON_OBJECT_SCHEMA:
            return {"type": "json_object", "schema": dict(schema)}
        if level == StructuredLevel.JSON_OBJECT:
            return {"type": "json_object"}
        return None

    def chat(
        self,
        messages: Sequence[ChatMessage],
        *,
        json_schema: Mapping[str, Any] | None = None,
        schema_name: str = "answer",
        max_tokens: int | None = None,
        temperature: float = 0.0,
    ) -> ChatAnswer:
        """One chat completion; see :class:`stenograph.llm.base.LLMClient` for the errors raised."""
        with self._lock:
            while True:
                level = self.level if json_schema is not None else None
                try:
                    return self._chat_once(messages, level, json_schema, schema_name, max_tokens, temperature)
                except LLMUnsupportedFormat:
                    if level is None or level == StructuredLevel.PROMPT:
                        raise
                    self.level = StructuredLevel(level - 1)

    def _chat_once(
        self,
        messages: Sequence[ChatMessage],
        level: StructuredLevel | None,
        schema: Mapping[str, Any] | None,
        schema_name: str,
        max_tokens: int | None,
        temperature: float,
    ) -> ChatAnswer:
        options: dict[str, Any] = {}
        if level is not None and schema is not None:
            response_format = self._response_format(level, schema, schema_name)
            if response_format is not None:
                options["response_format"] = response_format
        if max_tokens is not None:
            options["max_tokens"] = max_tokens
        url = self.base_url
        started = time.perf_counter()
        with self._sdk_errors(sent_format="response_format" in options):
            completion = self._sdk.chat.completions.create(
                model=self.model,
                messages=[dict(message) for message in messages],  # type: ignore[misc]
                temperature=temperature,
                **options,
            )
        seconds = time.perf_counter() - started
        choices = getattr(completion, "choices", None)
        if not isinstance(choices, list) or not choices or getattr(choices[0], "message", None) is None:
            shown = str(completion).strip().replace("\n", " ")[:120]
            raise LLMBadAnswer(
                f"LLM server at {url} answered, but not with a chat completion (no choices): {shown!r}", endpoint=url
            )
        completion_text = choices[0].message.content
        text = completion_text if isinstance(completion_text, str) else ""
        usage = getattr(completion, "usage", None)
        return ChatAnswer(
            text=text,
            level=level,
            prompt_tokens=usage.prompt_tokens if usage else None,
            completion_tokens=usage.completion_tokens if usage else None,
            seconds=seconds,
        )

    @contextlib.contextmanager
    def _sdk_errors(self, *, sent_format: bool) -> Iterator[None]:
        """The SDK's errors as :mod:`stenograph.llm.errors` (see :class:`~stenograph.llm.base.LLMClient`)."""
        url = self.base_url
        try:
            yield
        except openai.APITimeoutError as exc:
            message = f"LLM server at {url} did not answer within {self._timeout_s:g} s"
            raise LLMTimeout(message, endpoint=url) from exc
        except openai.APIConnectionError as exc:
            message = f"LLM server at {url} is unreachable: {exc.__cause__ or exc}"
            raise LLMUnavailable(message, endpoint=url) from exc
        except openai.APIStatusError as exc:
            raise classify_status_error(
                exc.status_code, _body_text(exc), endpoint=url, sent_format=sent_format
            ) from exc
        except (ValueError, openai.APIResponseValidationError) as exc:  # the body is not JSON
            raise LLMBadAnswer(
                f"LLM server at {url} answered with something that is not JSON ({exc}): "
                "is the LLM base URL that of an OpenAI-compatible server (ending in /v1)?",
                endpoint=url,
            ) from exc
        except openai.APIError as exc:  # an error event in the middle of a stream (the SDK's base class)
            raise LLMUnavailable(f"LLM server at {url} failed while answering: {exc.message}", endpoint=url) from exc

    def stream_chat(
        self, messages: Sequence[ChatMessage], *, max_tokens: int | None = None, temperature: float = 0.0
    ) -> Iterator[str]:
        """The answer in pieces as the server writes them (``stream: true``), for a person watching it (the
        ask step). Raises as :meth:`chat`."""
        options: dict[str, Any] = {} if max_tokens is None else {"max_tokens": max_tokens}
        with self._lock, self._sdk_errors(sent_format=False):
            chunks = cast(
                "openai.Stream[Any]",
                self._sdk.chat.completions.create(
                    model=self.model,
                    messages=[dict(message) for message in messages],  # type: ignore[misc]
                    temperature=temperature,
                    stream=True,
                    **options,
                ),
            )
            try:
                for chunk in chunks:
                    choices = getattr(chunk, "choices", None) or []
                    piece = choices[0].delta.content if choices and choices[0].delta is not None else None
                    if piece:
                        yield piece
            finally:
                chunks.close()

    def close(self) -> None:
        """Close the HTTP connections."""
        self._http.close()
        self._sdk.close()
