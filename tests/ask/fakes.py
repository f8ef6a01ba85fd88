"""A scripted LLM that streams its answer word by word, optionally holding each word until the test lets
it go (so a test knows where the answer stands without timing)."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from stenograph.llm.base import ChatMessage
from stenograph.llm.fake import ScriptedLLM

_TAG_LINE = re.compile(r"^(\[[^\]]+\])(?: \([^)]*\))? (.*)$")


class StreamingLLM(ScriptedLLM):
    """:class:`ScriptedLLM` with ``stream_chat``: the scripted answer in pieces of one word each.

    Args:
        gate: when given, each piece after the first waits until the test sets it (then it is cleared).
        streamed: set after each piece was handed out.
    """

    def __init__(self, *args: Any, gate: threading.Event | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.gate = gate
        self.pieces_sent = 0
        self.streamed = threading.Event()

    def stream_chat(self, messages: Sequence[ChatMessage], **options: Any) -> Iterator[str]:
        text = self.chat(messages, max_tokens=options.get("max_tokens")).text
        for number, piece in enumerate(re.findall(r"\S+\s*", text)):
            if number and self.gate is not None:
                assert self.gate.wait(60), "the test never let the next piece go"
                self.gate.clear()
            self.pieces_sent += 1
            yield piece
            self.streamed.set()


def passage_lines(messages: Sequence[ChatMessage]) -> list[tuple[str, str]]:
    """The (tag, text) of each passage in an ask prompt."""
    content = messages[-1]["content"]
    body = content.split("Passages:\n", 1)[1].split("\n\nQuestion:", 1)[0]
    lines = []
    for line in body.splitlines():
        match = _TAG_LINE.match(line)
        if match:
            lines.append((match.group(1), match.group(2)))
    return lines


def honest_responder(keyword: str) -> Any:
    """A responder that answers with the first passage holding ``keyword``, citing its tag (or says the
    recording does not say)."""

    def respond(messages: Sequence[ChatMessage], _schema: Mapping[str, Any] | None) -> str:
        for tag, text in passage_lines(messages):
            if keyword in text.lower():
                return f"{text} {tag}"
        return "The recording does not say."

    return respond
