"""A scripted LLM behind the :class:`~stenograph.llm.base.LLMClient` interface, for tests and demos.

A :class:`ScriptedLLM` answers each call with the next scripted step (a string, an exception to raise,
or a function of the request), then with its ``responder`` when the script is used up. Every call is
recorded in :attr:`ScriptedLLM.calls`. Factories build the common behaviours:

* :meth:`ScriptedLLM.corrections`: perfect corrections from a mapping ``{segment index: text}`` (or a
  function), answering every correction request by id; :meth:`ScriptedLLM.reference` takes the
  reference text of every segment;
* :meth:`ScriptedLLM.junk`: valid JSON whose texts are nonsense, plus an invented id;
* :meth:`ScriptedLLM.malformed`: never valid JSON;
* :meth:`ScriptedLLM.unavailable`: raises :class:`LLMTimeout` (retryable) on every call.

With ``enforce_context=True`` a prompt estimated larger than the context raises
:class:`LLMContextOverflow`, as a server would.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from stenograph.llm.base import ChatAnswer, ChatMessage, LLMDescription, StructuredLevel, estimate_tokens
from stenograph.llm.errors import LLMContextOverflow, LLMTimeout

__all__ = ["FakeCall", "Responder", "ScriptedLLM"]

Responder = Callable[[Sequence[ChatMessage], Mapping[str, Any] | None], str]
Step = str | BaseException | Responder

_JUNK_WORDS = [
    "purple",
    "banana",
    "seventeen",
    "quantum",
    "lighthouse",
    "whisper",
    "gravel",
    "orbit",
    "nimbus",
    "tango",
]


@dataclass(frozen=True, slots=True)
class FakeCall:
    """One recorded call: the messages, the schema asked for, ``max_tokens``, and the text answered."""

    messages: list[ChatMessage]
    json_schema: Mapping[str, Any] | None
    max_tokens: int | None
    answer: str | None


def _correction_answer(messages: Sequence[ChatMessage], fix: Callable[[int, str], str]) -> str:
    from stenograph.steps.correction.correction import parse_correction_request

    request = parse_correction_request(messages)
    segments = [{"id": item["id"], "text": fix(int(item["id"]), str(item["text"]))} for item in request]
    return json.dumps({"segments": segments}, ensure_ascii=False)


class ScriptedLLM:
    """A fake LLM client (see the module doc).

    Args:
        steps: answers for the first calls, in order.
        responder: answers the calls after ``steps``; None raises ``AssertionError`` (unexpected call).
        context_tokens: the context it reports (tokens).
        model: the model name it reports.
        enforce_context: raise LLMContextOverflow when prompt + ``max_tokens`` exceed the context.
    """

    def __init__(
        self,
        steps: Iterable[Step] = (),
        *,
        responder: Responder | None = None,
        context_tokens: int = 4096,
        model: str = "scripted",
        enforce_context: bool = False,
    ) -> None:
        self._steps = list(steps)
        self._responder = responder
        self._context = context_tokens
        self.model = model
        self.enforce_context = enforce_context
        self.calls: list[FakeCall] = []

    def describe(self) -> LLMDescription:
        return LLMDescription(kind="fake", model=self.model, endpoint=None, local=True)

    def context_tokens(self) -> int:
        return self._context

    def count_tokens(self, text: str) -> int:
        return estimate_tokens(text)

    def chat(
        self,
        messages: Sequence[ChatMessage],
        *,
        json_schema: Mapping[str, Any] | None = None,
        schema_name: str = "answer",
        max_tokens: int | None = None,
        temperature: float = 0.0,
    ) -> ChatAnswer:
        """Answer with the next step or the responder; records the call."""
        prompt_tokens = sum(self.count_tokens(message["content"]) for message in messages)
        if self.enforce_context and prompt_tokens + (max_tokens or 0) > self._context:
            self.calls.append(FakeCall(list(messages), json_schema, max_tokens, None))
            raise LLMContextOverflow(
                f"Requested tokens ({prompt_tokens + (max_tokens or 0)}) exceed context window of {self._context}",
                context_tokens=self._context,
            )
        step: Step | None = self._steps.pop(0) if self._steps else self._responder
        if step is None:
            raise AssertionError(f"unexpected call {len(self.calls) + 1} to the scripted LLM")
        if isinstance(step, BaseException):
            self.calls.append(FakeCall(list(messages), json_schema, max_tokens, None))
            raise step
        text = step if isinstance(step, str) else step(messages, json_schema)
        self.calls.append(FakeCall(list(messages), json_schema, max_tokens, text))
        level = StructuredLevel.JSON_SCHEMA if json_schema is not None else None
        return ChatAnswer(text=text, level=level, prompt_tokens=prompt_tokens, completion_tokens=None)

    # --- factories ---------------------------------------------------------------------------------
    @classmethod
    def corrections(cls, fixes: Mapping[int, str] | Callable[[int, str], str], **options: Any) -> ScriptedLLM:
        """Answers every correction request perfectly: segment ``i`` becomes ``fixes[i]`` (unchanged when
        absent), or ``fixes(i, text)``."""
        fix = fixes if callable(fixes) else (lambda index, text: fixes.get(index, text))
        return cls(responder=lambda messages, _schema: _correction_answer(messages, fix), **options)

    @classmethod
    def reference(cls, texts: Sequence[str], **options: Any) -> ScriptedLLM:
        """Answers correction requests with the reference text of each segment (``texts[index]``)."""
        return cls.corrections(dict(enumerate(texts)), **options)

    @classmethod
    def junk(cls, seed: int = 0, **options: Any) -> ScriptedLLM:
        """Valid JSON with nonsense texts, one id dropped and one invented: what a weak model may say."""
        rng = random.Random(seed)

        def respond(messages: Sequence[ChatMessage], _schema: Mapping[str, Any] | None) -> str:
            from stenograph.steps.correction.correction import parse_correction_request

            request = parse_correction_request(messages)
            segments = [
                {"id": item["id"], "text": " ".join(rng.choice(_JUNK_WORDS) for _ in range(6))} for item in request[1:]
            ]
            segments.append({"id": 999_999, "text": "an invented segment"})
            return json.dumps({"segments": segments})

        return cls(responder=respond, **options)

    @classmethod
    def malformed(cls, **options: Any) -> ScriptedLLM:
        """Never answers valid JSON."""
        return cls(responder=lambda _messages, _schema: '{"segments": [{"id": 0, "text": "unterminated', **options)

    @classmethod
    def unavailable(cls, endpoint: str = "http://127.0.0.1:9/v1", **options: Any) -> ScriptedLLM:
        """Raises :class:`LLMTimeout` (a retryable error) on every call."""

        def respond(_messages: Sequence[ChatMessage], _schema: Mapping[str, Any] | None) -> str:
            raise LLMTimeout(f"LLM server at {endpoint} did not answer within 120 s", endpoint=endpoint)

        return cls(responder=respond, **options)
