"""Choosing the LLM from the settings, and describing it (local or remote)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from stenograph.llm.base import LLMDescription
from stenograph.llm.errors import LLMNotConfigured
from stenograph.llm.openai_client import OpenAICompatibleClient
from stenograph.llm.select import build_llm, choose_llm, describe
from stenograph.settings import build_settings
from tests.llm.helpers import load_fixture


@pytest.fixture(autouse=True)
def _no_default_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """The shared venv may hold the default model: these tests decide for themselves whether it is there."""
    monkeypatch.setattr("stenograph.llm.select.default_model_available", lambda: False)


def ollama(up: bool, tags: object | None = None) -> httpx.Client:
    def handler(request: httpx.Request) -> httpx.Response:
        if not up:
            raise httpx.ConnectError("connection refused", request=request)
        assert request.url.path == "/api/tags"
        return httpx.Response(200, json=tags if tags is not None else load_fixture("ollama_tags.json"))

    return httpx.Client(transport=httpx.MockTransport(handler))


def test_auto_prefers_configured_endpoint_without_probing() -> None:
    settings = build_settings(llm_base_url="http://127.0.0.1:8080/v1", llm_model="m")
    choice = choose_llm(settings, http_client=ollama(up=True))
    assert (choice.kind, choice.endpoint, choice.model) == ("openai", "http://127.0.0.1:8080/v1", "m")
    assert choice.describe().local


def test_auto_uses_ollama_when_it_answers() -> None:
    choice = choose_llm(build_settings(), http_client=ollama(up=True))
    assert (choice.kind, choice.model, choice.endpoint) == ("ollama", "llama3.2:latest", "http://127.0.0.1:11434/v1")
    client = build_llm(build_settings(), choice=choice)
    assert isinstance(client, OpenAICompatibleClient) and client.kind == "ollama"


def test_auto_skips_ollama_without_models_or_down() -> None:
    assert choose_llm(build_settings(), http_client=ollama(up=True, tags={"models": []})).kind == "none"
    choice = choose_llm(build_settings(), http_client=ollama(up=False))
    assert choice.kind == "none" and "no llm_base_url" in choice.reason
    assert build_llm(build_settings(), choice=choice) is None


def test_auto_falls_back_to_embedded_gguf() -> None:
    settings = build_settings(llm_gguf_path="/models/x.gguf")
    choice = choose_llm(settings, http_client=ollama(up=False))
    assert (choice.kind, choice.endpoint, choice.model) == ("embedded", "/models/x.gguf", "x")
    assert describe(settings, http_client=ollama(up=False))["local"] is True


def test_auto_probes_a_real_socket_quickly() -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    assert choose_llm(build_settings(ollama_url=f"http://127.0.0.1:{port}")).kind == "none"


def test_explicit_choices() -> None:
    assert choose_llm(build_settings(llm="none", llm_base_url="http://x/v1")).kind == "none"
    openai = choose_llm(build_settings(llm="openai", llm_model="gpt-4.1-mini"))
    assert openai.endpoint == "https://api.openai.com/v1"
    with pytest.raises(LLMNotConfigured):
        choose_llm(build_settings(llm="openai"))
    with pytest.raises(LLMNotConfigured):
        choose_llm(build_settings(llm="embedded"))
    with pytest.raises(LLMNotConfigured, match="not a file"):
        build_llm(build_settings(llm="embedded", llm_gguf_path="/nonexistent.gguf"))
    assert describe(build_settings(llm="embedded"))["error"]


def test_remote_endpoint_warns() -> None:
    info = describe(build_settings(llm="openai", llm_model="gpt-4.1-mini", llm_api_key="sk-secret"))
    assert info["local"] is False
    assert info["warning"] == "transcript text is sent to https://api.openai.com, which is not on this machine"
    assert "sk-secret" not in str(info)


@pytest.mark.parametrize(
    ("url", "local"),
    [
        ("http://127.0.0.1:8080/v1", True),
        ("http://localhost:11434/v1", True),
        ("http://[::1]:8000/v1", True),
        ("http://192.168.1.20:11434/v1", False),
        ("https://llm.example.com/v1", False),
    ],
)
def test_loopback_detection(url: str, local: bool) -> None:
    description = LLMDescription.for_url("openai", "m", url)
    assert description.local is local
    assert (description.warning is None) is local


def test_the_demonstration_model_is_picked_by_name(tmp_path: Path) -> None:
    from stenograph.llm.select import choose_llm
    from stenograph.settings import build_settings

    choice = choose_llm(build_settings(llm="embedded", llm_gguf_path="gemma-3-270m", data_dir=tmp_path))
    assert choice.kind == "embedded" and choice.model == "gemma-3-270m"
    assert choice.endpoint is not None and Path(choice.endpoint).is_file()
    assert "weak" in choice.reason


def test_auto_takes_the_default_model_after_servers_and_ollama(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from stenograph.llm.qwen import QWEN_FILE_NAME, QWEN_MODEL_NAME

    monkeypatch.setattr("stenograph.llm.select.default_model_available", lambda: True)
    settings = build_settings(data_dir=tmp_path)
    choice = choose_llm(settings, http_client=ollama(up=False))
    assert (choice.kind, choice.model) == ("embedded", QWEN_MODEL_NAME)
    assert choice.endpoint == str(settings.models_dir / QWEN_FILE_NAME)
    assert not Path(choice.endpoint).exists()  # choosing assembles nothing
    assert describe(settings, http_client=ollama(up=False))["model"] == QWEN_MODEL_NAME
    assert choose_llm(settings, http_client=ollama(up=True)).kind == "ollama"
    server = build_settings(data_dir=tmp_path, llm_base_url="http://127.0.0.1:8080/v1", llm_model="m")
    assert choose_llm(server, http_client=ollama(up=False)).kind == "openai"
    explicit = build_settings(data_dir=tmp_path, llm="embedded")
    assert choose_llm(explicit).model == QWEN_MODEL_NAME
    off = build_settings(data_dir=tmp_path, llm_default_model=False)
    assert choose_llm(off, http_client=ollama(up=False)).kind == "none"
