"""The OpenAI-compatible client's ``stream_chat`` (used by the ask step) against a fake server sending a
chat completion as server-sent chunks, and its errors mapped as ``chat`` maps them."""

from __future__ import annotations

import json

import pytest

from stenograph.llm.errors import LLMRequestRejected, LLMUnavailable
from stenograph.llm.openai_client import OpenAICompatibleClient
from tests.llm.helpers import FakeServer

CHAT = ("POST", "/v1/chat/completions")


def chunks(*pieces: str) -> bytes:
    events = []
    for n, piece in enumerate(pieces):
        delta = {"role": "assistant", "content": piece} if n == 0 else {"content": piece}
        body = {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m",
                "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}  # fmt: skip
        events.append(f"data: {json.dumps(body)}\n\n")
    events.append("data: [DONE]\n\n")
    return "".join(events).encode()


def test_stream_chat_yields_the_pieces_in_order(fake_server: FakeServer) -> None:
    fake_server.reply(*CHAT, (200, chunks("The budget ", "is forty ", "thousand [01:11].")))
    client = OpenAICompatibleClient(base_url=f"{fake_server.url}/v1", model="m", timeout_s=5)
    pieces = list(client.stream_chat([{"role": "user", "content": "budget?"}], max_tokens=50))
    assert pieces == ["The budget ", "is forty ", "thousand [01:11]."]
    request = fake_server.chat_requests()[0]
    assert request["stream"] is True and request["max_tokens"] == 50


def test_stream_chat_errors_are_the_clients_errors(fake_server: FakeServer) -> None:
    fake_server.reply(*CHAT, (400, {"error": {"message": "bad request", "type": "invalid_request_error"}}))
    client = OpenAICompatibleClient(base_url=f"{fake_server.url}/v1", model="m", timeout_s=5)
    with pytest.raises(LLMRequestRejected):
        list(client.stream_chat([{"role": "user", "content": "hi"}]))
    down = OpenAICompatibleClient(base_url="http://127.0.0.1:9/v1", model="m", timeout_s=2)
    with pytest.raises(LLMUnavailable):
        list(down.stream_chat([{"role": "user", "content": "hi"}]))


def test_an_error_event_in_the_middle_of_a_stream_is_the_clients_retryable_error(fake_server: FakeServer) -> None:
    error = {"error": {"message": "model crashed", "type": "server_error"}}
    body = chunks("The budget ").replace(b"data: [DONE]\n\n", f"data: {json.dumps(error)}\n\n".encode())
    fake_server.reply(*CHAT, (200, body))
    client = OpenAICompatibleClient(base_url=f"{fake_server.url}/v1", model="m", timeout_s=5)
    pieces: list[str] = []
    with pytest.raises(LLMUnavailable, match="failed while answering: model crashed"):
        pieces.extend(client.stream_chat([{"role": "user", "content": "hi"}]))
    assert pieces == ["The budget "]
