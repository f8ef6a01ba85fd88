"""Helpers of the LLM tests: recorded-answer fixtures, segments, the fake HTTP server's state."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stenograph.transcript.types import Segment

FIXTURES = Path(__file__).parent / "fixtures"


def load_fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def completion(fixture: str, content: str) -> dict[str, Any]:
    """A recorded chat-completion body with its message content replaced by ``content``."""
    body = load_fixture(fixture)
    body["choices"][0]["message"]["content"] = content
    return dict(body)


def make_segments(texts: list[str], seconds: float = 5.0) -> list[Segment]:
    return [Segment(index=i, start=i * seconds, end=(i + 1) * seconds, text=text) for i, text in enumerate(texts)]


@dataclass
class Recorded:
    method: str
    path: str
    body: Any


Reply = tuple[int, Any]
Route = Callable[[Recorded], Reply]


@dataclass
class FakeServer:
    """Routes ``(method, path)`` to a list of replies (used in order, the last one repeats) or a function."""

    url: str
    routes: dict[tuple[str, str], list[Reply] | Route] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)

    def reply(self, method: str, path: str, *replies: Reply) -> None:
        self.routes[(method, path)] = list(replies)

    def answer(self, request: Recorded) -> Reply:
        route = self.routes.get((request.method, request.path))
        if route is None:
            return 404, {"error": {"message": f"no route {request.path}"}}
        if callable(route):
            return route(request)
        return route.pop(0) if len(route) > 1 else route[0]

    def chat_requests(self) -> list[Any]:
        return [r.body for r in self.requests if r.path.endswith("/chat/completions")]
