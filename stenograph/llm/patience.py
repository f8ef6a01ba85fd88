"""Waiting out an LLM server that is down: :class:`PatientLLM` retries its calls over minutes.

A restarting server (Ollama loading a model, llama.cpp server restarted by its supervisor) takes longer
than the queue's own retries, whose backoff adds up to seconds: a correction would fail for good, and the
summary after it fall back to the extractive method, while the server was only restarting. So a call that
finds the server unreachable, answering 5xx or 429, or timing out is tried again after 1, 2, 4 ... up to
:data:`MAX_WAIT_SECONDS` seconds, for up to ``patience_s`` seconds in all (``settings.llm_patience_seconds``),
before the error is raised. The same rule as fetching a recording from the API server
(:mod:`stenograph.worker.fetch`). Other errors are raised at once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from stenograph.errors import TaskCancelled
from stenograph.llm.base import ChatAnswer, ChatMessage, LLMClient, LLMDescription
from stenograph.llm.errors import LLMUnavailable

log = logging.getLogger("stenograph.llm")

FIRST_WAIT_SECONDS = 1.0
MAX_WAIT_SECONDS = 30.0


class PatientLLM:
    """An :class:`~stenograph.llm.base.LLMClient` that retries ``client``'s chat calls on
    :class:`~stenograph.llm.errors.LLMUnavailable` (and :class:`~stenograph.llm.errors.LLMTimeout`) for up to
    ``patience_s`` seconds.

    Args:
        client: the client to call.
        patience_s: seconds to keep trying (0: no retry).
        should_stop: polled during waits; True raises :class:`~stenograph.errors.TaskCancelled`.
        on_wait: called with a message before each wait (the task's progress message).
        sleep: the pause function (tests pass a fake; default :func:`time.sleep`, in steps of 0.2 s).
        monotonic: the clock (seconds).
    """

    def __init__(
        self,
        client: LLMClient,
        patience_s: float,
        *,
        should_stop: Callable[[], bool] = lambda: False,
        on_wait: Callable[[str], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.patience_s = patience_s
        self._should_stop = should_stop
        self._on_wait = on_wait
        self._sleep = sleep
        self._monotonic = monotonic

    def describe(self) -> LLMDescription:
        return self.client.describe()

    def context_tokens(self) -> int:
        return self.client.context_tokens()

    def count_tokens(self, text: str) -> int:
        return self.client.count_tokens(text)

    def chat(
        self,
        messages: Sequence[ChatMessage],
        *,
        json_schema: Mapping[str, Any] | None = None,
        schema_name: str = "answer",
        max_tokens: int | None = None,
        temperature: float = 0.0,
    ) -> ChatAnswer:
        """``client.chat``, tried again while the server is unavailable (see the module doc).

        Raises:
            LLMUnavailable: still unavailable after ``patience_s`` seconds (the last error).
            TaskCancelled: ``should_stop`` became true during a wait.
            Any other error of ``client.chat`` at once.
        """
        began = self._monotonic()
        delay = FIRST_WAIT_SECONDS
        while True:
            try:
                return self.client.chat(
                    messages,
                    json_schema=json_schema,
                    schema_name=schema_name,
                    max_tokens=max_tokens,
                    temperature=temperature,
                )
            except LLMUnavailable as exc:
                left = self.patience_s - (self._monotonic() - began)
                if left <= 0:
                    raise
                delay = min(delay, left)
                log.warning("%s; trying again in %.0f s", exc, delay)
                if self._on_wait is not None:
                    self._on_wait(f"waiting for the LLM server ({exc}); trying again in {delay:.0f} s")
                self._pause(delay)
                delay = min(delay * 2, MAX_WAIT_SECONDS)

    def _pause(self, seconds: float) -> None:
        deadline = self._monotonic() + seconds
        while (left := deadline - self._monotonic()) > 0:
            if self._should_stop():
                raise TaskCancelled("cancelled while waiting for the LLM server")
            self._sleep(min(0.2, left))
        if self._should_stop():
            raise TaskCancelled("cancelled while waiting for the LLM server")
