"""The OpenAI-compatible client against a fake server answering like OpenAI, vLLM, Ollama and llama.cpp."""

from __future__ import annotations

import json

import pytest

from stenograph.errors import PermanentError, RetryableError
from stenograph.llm.base import StructuredLevel
from stenograph.llm.errors import (
    LLMBadAnswer,
    LLMContextOverflow,
    LLMRequestRejected,
    LLMTimeout,
    LLMUnavailable,
)
from stenograph.llm.openai_client import OLLAMA_CONTEXT_TOKENS, OpenAICompatibleClient
from stenograph.llm.structured import chat_json
from tests.llm.helpers import FakeServer, Recorded, completion, load_fixture

SCHEMA = {
    "type": "object",
    "properties": {"answer": {"type": "string"}},
    "required": ["answer"],
    "additionalProperties": False,
}
CHAT = ("POST", "/v1/chat/completions")


def client_for(server: FakeServer, **options: object) -> OpenAICompatibleClient:
    return OpenAICompatibleClient(base_url=f"{server.url}/v1", model="m", timeout_s=5, **options)  # type: ignore[arg-type]


def ask(client: OpenAICompatibleClient) -> str:
    answer = chat_json(
        client, [{"role": "user", "content": "hi"}], schema=SCHEMA, schema_name="reply", convert=lambda d: d["answer"]
    )
    return str(answer.value)


def formats(server: FakeServer) -> list[str | None]:
    """The response_format of each chat request: its type, with "+schema" when it carries a schema."""
    kinds: list[str | None] = []
    for body in server.chat_requests():
        fmt = body.get("response_format")
        kinds.append(None if fmt is None else fmt["type"] + ("+schema" if "schema" in fmt else ""))
    return kinds


def test_json_schema_accepted_first_time(fake_server: FakeServer) -> None:
    fake_server.reply(*CHAT, (200, completion("openai_chat_completion.json", '{"answer": "yes"}')))
    client = client_for(fake_server)
    assert ask(client) == "yes"
    request = fake_server.chat_requests()[0]
    assert request["response_format"]["type"] == "json_schema"
    assert request["response_format"]["json_schema"]["schema"] == SCHEMA
    assert client.level == StructuredLevel.JSON_SCHEMA


def test_openai_rejects_json_schema_then_json_object_works_and_is_remembered(fake_server: FakeServer) -> None:
    def route(request: Recorded) -> tuple[int, object]:
        fmt = request.body.get("response_format", {})
        if fmt.get("type") == "json_schema":
            return 400, load_fixture("openai_error_json_schema_unsupported.json")
        if "schema" in fmt:  # OpenAI does not know llama.cpp's extension
            return 400, {"error": {"message": "Unrecognized request argument: response_format.schema"}}
        return 200, completion("openai_chat_completion.json", '{"answer": "ok"}')

    fake_server.routes[CHAT] = route
    client = client_for(fake_server)
    assert ask(client) == "ok"
    assert client.level == StructuredLevel.JSON_OBJECT
    assert ask(client) == "ok"
    assert formats(fake_server) == ["json_schema", "json_object+schema", "json_object", "json_object"]


def test_vllm_literal_error_falls_back_to_json_object_with_schema(fake_server: FakeServer) -> None:
    fake_server.reply(
        *CHAT,
        (400, load_fixture("vllm_error_response_format.json")),
        (200, completion("vllm_chat_completion.json", '{"answer": "v"}')),
    )
    client = client_for(fake_server)
    assert ask(client) == "v"
    assert formats(fake_server) == ["json_schema", "json_object+schema"]
    assert fake_server.chat_requests()[1]["response_format"]["schema"] == SCHEMA


def test_llama_cpp_python_500_validation_error_is_a_format_rejection(fake_server: FakeServer) -> None:
    fake_server.reply(
        *CHAT,
        (500, load_fixture("llamacpp_python_error_json_schema_500.json")),
        (200, completion("llamacpp_python_chat_completion.json", '{"answer": "g"}')),
    )
    client = client_for(fake_server)
    assert ask(client) == "g"
    assert client.level == StructuredLevel.JSON_OBJECT_SCHEMA


def test_no_json_mode_falls_back_to_prompt_and_repair(fake_server: FakeServer) -> None:
    def route(request: Recorded) -> tuple[int, object]:
        fmt = request.body.get("response_format")
        if fmt is not None and fmt["type"] == "json_schema":
            return 400, load_fixture("openai_error_json_schema_unsupported.json")
        if fmt is not None:
            return 400, load_fixture("openai_error_json_object_unsupported.json")
        if all(message["role"] != "assistant" for message in request.body["messages"]):
            return 200, completion("ollama_chat_completion.json", "Sure! The answer is yes.")
        return 200, completion("ollama_chat_completion.json", '```json\n{"answer": "repaired"}\n```')

    fake_server.routes[CHAT] = route
    client = client_for(fake_server)
    assert ask(client) == "repaired"
    assert client.level == StructuredLevel.PROMPT
    assert formats(fake_server) == ["json_schema", "json_object+schema", "json_object", None, None]
    repair = fake_server.chat_requests()[-1]["messages"]
    assert repair[-2] == {"role": "assistant", "content": "Sure! The answer is yes."}
    assert "not usable" in repair[-1]["content"]


@pytest.mark.parametrize(
    "fixture",
    [
        "openai_error_context_length.json",
        "vllm_error_context_length.json",
        "llamacpp_error_context.json",
        "llamacpp_python_error_context.json",
    ],
)
def test_context_length_errors_are_recognised(fake_server: FakeServer, fixture: str) -> None:
    fake_server.reply(*CHAT, (400, load_fixture(fixture)))
    with pytest.raises(LLMContextOverflow) as caught:
        client_for(fake_server).chat([{"role": "user", "content": "x"}], json_schema=SCHEMA)
    assert caught.value.context_tokens in (8192, 2048, 4096)


def test_server_error_is_retryable_and_names_endpoint(fake_server: FakeServer) -> None:
    fake_server.reply(*CHAT, (503, {"error": {"message": "loading model"}}))
    with pytest.raises(LLMUnavailable) as caught:
        client_for(fake_server).chat([{"role": "user", "content": "x"}])
    assert isinstance(caught.value, RetryableError)
    assert fake_server.url in str(caught.value)
    assert caught.value.endpoint == f"{fake_server.url}/v1"


@pytest.mark.parametrize(
    ("status", "fixture"),
    [(404, "ollama_error_model_not_found.json"), (401, "openai_error_invalid_api_key.json")],
)
def test_client_errors_are_permanent(fake_server: FakeServer, status: int, fixture: str) -> None:
    fake_server.reply(*CHAT, (status, load_fixture(fixture)))
    with pytest.raises(LLMRequestRejected) as caught:
        client_for(fake_server).chat([{"role": "user", "content": "x"}], json_schema=SCHEMA)
    assert isinstance(caught.value, PermanentError)
    assert not isinstance(caught.value, RetryableError)
    assert caught.value.status == status
    assert len(fake_server.chat_requests()) == 1  # no format fallback for errors that are not about formats


def test_unreachable_server_is_retryable() -> None:
    import socket

    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens there
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = OpenAICompatibleClient(base_url=f"http://127.0.0.1:{port}/v1", model="m", timeout_s=5)
    with pytest.raises(LLMUnavailable) as caught:
        client.chat([{"role": "user", "content": "x"}])
    assert f"127.0.0.1:{port}" in str(caught.value)
    assert isinstance(caught.value, RetryableError)


def test_timeout_is_retryable(fake_server: FakeServer) -> None:
    fake_server.reply(*CHAT, (0, None))  # the server never answers
    client = OpenAICompatibleClient(base_url=f"{fake_server.url}/v1", model="m", timeout_s=0.3)
    with pytest.raises(LLMTimeout) as caught:
        client.chat([{"role": "user", "content": "x"}])
    assert isinstance(caught.value, RetryableError)
    assert "0.3 s" in str(caught.value)


def test_llamacpp_server_context_and_tokenizer(fake_server: FakeServer) -> None:
    fake_server.reply("GET", "/props", (200, load_fixture("llamacpp_props.json")))
    fake_server.reply("POST", "/tokenize", (200, load_fixture("llamacpp_tokenize.json")))
    client = client_for(fake_server)
    assert client.context_tokens() == 4096
    assert client.count_tokens("hello world, a long text") == 2  # the server's count, not the estimate
    assert fake_server.requests[-1].body == {"content": "hello world, a long text"}


def test_vllm_context_from_models_and_tokenize_count(fake_server: FakeServer) -> None:
    fake_server.reply("GET", "/v1/models", (200, load_fixture("vllm_models.json")))

    def tokenize(request: Recorded) -> tuple[int, object]:
        body = request.body
        if "prompt" not in body:
            return 400, {"object": "error", "message": "Field required: prompt", "code": 400}
        return 200, load_fixture("vllm_tokenize.json")

    fake_server.routes[("POST", "/tokenize")] = tokenize
    client = OpenAICompatibleClient(base_url=f"{fake_server.url}/v1", model="Qwen/Qwen2.5-1.5B-Instruct")
    assert client.context_tokens() == 32768
    assert client.count_tokens("hello world") == 2


def test_no_metadata_falls_back_to_estimate_and_default(fake_server: FakeServer) -> None:
    client = client_for(fake_server)
    assert client.context_tokens() == 2048
    assert client.count_tokens("x" * 100) == 40  # 2.5 characters per token


def test_ollama_context_and_settings_override(fake_server: FakeServer) -> None:
    assert client_for(fake_server, kind="ollama").context_tokens() == OLLAMA_CONTEXT_TOKENS
    assert client_for(fake_server, context_tokens=9000).context_tokens() == 9000
    assert fake_server.requests == []  # neither asked the server


def test_model_from_server_when_not_configured(fake_server: FakeServer) -> None:
    fake_server.reply("GET", "/v1/models", (200, load_fixture("vllm_models.json")))
    fake_server.reply(*CHAT, (200, completion("vllm_chat_completion.json", "hi")))
    client = OpenAICompatibleClient(base_url=f"{fake_server.url}/v1", model=None)
    assert client.chat([{"role": "user", "content": "x"}]).text == "hi"
    assert fake_server.chat_requests()[0]["model"] == "Qwen/Qwen2.5-1.5B-Instruct"
    assert json.dumps(fake_server.chat_requests()[0]).count("response_format") == 0


@pytest.mark.parametrize("body", [b"<html><body>502 Bad Gateway</body></html>", {"hello": "world"}, {"choices": []}])
def test_a_garbled_answer_names_the_server_and_says_what_was_wrong(fake_server: FakeServer, body: object) -> None:
    fake_server.reply(*CHAT, (200, body))
    client = client_for(fake_server)
    with pytest.raises(LLMBadAnswer) as caught:
        client.chat([{"role": "user", "content": "x"}])
    assert fake_server.url in str(caught.value)
    assert "not JSON" in str(caught.value) or "not with a chat completion" in str(caught.value)
    assert isinstance(caught.value, RetryableError)
