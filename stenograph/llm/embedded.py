"""The embedded engine: llama-cpp-python running a local GGUF file in this process.

``llama_cpp`` is an optional extra (``stenograph[embedded]``); it is imported only when an
:class:`EmbeddedLlamaClient` is built, so the rest of the package works without it.

* Context: ``context_tokens`` when given (``settings.llm_context_tokens``), else the model's trained
  context (``n_ctx_train``, read from the GGUF metadata) capped at :data:`EMBEDDED_MAX_CONTEXT`: the KV
  cache grows linearly with the context and is allocated up front.
* Tokens are counted with the model's own tokenizer (``Llama.tokenize``).
* JSON answers are constrained by a grammar that llama.cpp builds from the JSON schema
  (``response_format={"type": "json_object", "schema": ...}``), so the answer always parses; the
  pipeline still validates it (a grammar does not make a weak model's content right).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from stenograph.llm.base import ChatAnswer, ChatMessage, LLMDescription, StructuredLevel
from stenograph.llm.errors import LLMContextOverflow, LLMNotConfigured

__all__ = ["EMBEDDED_MAX_CONTEXT", "EmbeddedLlamaClient", "llama_cpp_available"]

#: Largest context the embedded engine allocates by default (tokens); ``llm_context_tokens`` overrides.
EMBEDDED_MAX_CONTEXT = 8192

_OVERFLOW = re.compile(r"exceed context window of (\d+)", re.IGNORECASE)


def llama_cpp_available() -> bool:
    """True when ``llama_cpp`` can be imported (the ``embedded`` extra is installed)."""
    try:
        import llama_cpp  # noqa: F401
    except ImportError:
        return False
    return True


class EmbeddedLlamaClient:
    """A GGUF model run in-process by llama-cpp-python.

    Args:
        gguf_path: the GGUF file.
        context_tokens: context to allocate (tokens); None: ``min(n_ctx_train, EMBEDDED_MAX_CONTEXT)``.
        n_threads: CPU threads; None lets llama.cpp choose (half the cores).
        seed: sampling seed, so answers repeat.

    Raises:
        LLMNotConfigured: the file does not exist or ``llama_cpp`` is not installed.
    """

    def __init__(
        self,
        gguf_path: str | Path,
        *,
        context_tokens: int | None = None,
        n_threads: int | None = None,
        seed: int = 0,
    ) -> None:
        self.path = Path(gguf_path)
        if not self.path.is_file():
            raise LLMNotConfigured(f"llm_gguf_path {self.path} is not a file")
        try:
            import llama_cpp
        except ImportError as exc:
            raise LLMNotConfigured(
                "the embedded LLM needs llama-cpp-python: pip install 'stenograph[embedded]'"
            ) from exc
        probe = llama_cpp.Llama(model_path=str(self.path), vocab_only=True, verbose=False)
        metadata: dict[str, str] = dict(probe.metadata)
        probe.close()
        architecture = metadata.get("general.architecture", "")
        #: The model's trained context (tokens), ``<architecture>.context_length`` in the GGUF metadata.
        self.n_ctx_train = int(metadata.get(f"{architecture}.context_length") or 0)
        self.model_name = str(metadata.get("general.name") or self.path.stem)
        n_ctx = context_tokens or min(self.n_ctx_train or EMBEDDED_MAX_CONTEXT, EMBEDDED_MAX_CONTEXT)
        # A GGUF without a chat template (Gemma base models) would get llama-cpp's generic format.
        chat_format = (
            "gemma" if architecture.startswith("gemma") and "tokenizer.chat_template" not in metadata else None
        )
        self._llama = llama_cpp.Llama(
            model_path=str(self.path),
            n_ctx=n_ctx,
            n_threads=n_threads,
            seed=seed,
            chat_format=chat_format,
            verbose=False,
        )
        self._lock = threading.Lock()
        self.level = StructuredLevel.JSON_SCHEMA

    def describe(self) -> LLMDescription:
        return LLMDescription(kind="embedded", model=self.model_name, endpoint=str(self.path), local=True)

    def context_tokens(self) -> int:
        return int(self._llama.n_ctx())

    def count_tokens(self, text: str) -> int:
        """Tokens of ``text`` by the model's tokenizer (no BOS token)."""
        with self._lock:
            return len(self._llama.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def chat(
        self,
        messages: Sequence[ChatMessage],
        *,
        json_schema: Mapping[str, Any] | None = None,
        schema_name: str = "answer",
        max_tokens: int | None = None,
        temperature: float = 0.0,
    ) -> ChatAnswer:
        """One chat completion with the GGUF's chat template; JSON answers are grammar-constrained.

        Raises:
            LLMContextOverflow: the prompt plus ``max_tokens`` exceed the allocated context.
        """
        options: dict[str, Any] = {}
        if json_schema is not None:
            options["response_format"] = {"type": "json_object", "schema": dict(json_schema)}
        started = time.perf_counter()
        with self._lock:
            try:
                result: Any = self._llama.create_chat_completion(
                    messages=[dict(message) for message in messages],  # type: ignore[misc]
                    max_tokens=max_tokens,
                    temperature=temperature,
                    **options,
                )
            except ValueError as exc:
                match = _OVERFLOW.search(str(exc))
                if match is None:
                    raise
                raise LLMContextOverflow(str(exc), context_tokens=int(match.group(1))) from exc
        usage = result.get("usage") or {}
        return ChatAnswer(
            text=str(result["choices"][0]["message"].get("content") or ""),
            level=StructuredLevel.JSON_SCHEMA if json_schema is not None else None,
            prompt_tokens=usage.get("prompt_tokens"),
            completion_tokens=usage.get("completion_tokens"),
            seconds=time.perf_counter() - started,
        )

    def stream_chat(
        self, messages: Sequence[ChatMessage], *, max_tokens: int | None = None, temperature: float = 0.0
    ) -> Iterator[str]:
        """The answer in pieces as the model writes them, for a person watching it (the ask step). The
        engine is held until the answer ends or the iterator is closed.

        Raises:
            LLMContextOverflow: the prompt plus ``max_tokens`` exceed the allocated context.
        """
        with self._lock:
            try:
                chunks: Any = self._llama.create_chat_completion(
                    messages=[dict(message) for message in messages],  # type: ignore[misc]
                    max_tokens=max_tokens,
                    temperature=temperature,
                    stream=True,
                )
                for chunk in chunks:
                    piece = (chunk["choices"][0].get("delta") or {}).get("content") if chunk["choices"] else None
                    if piece:
                        yield str(piece)
            except ValueError as exc:
                match = _OVERFLOW.search(str(exc))
                if match is None:
                    raise
                raise LLMContextOverflow(str(exc), context_tokens=int(match.group(1))) from exc

    def close(self) -> None:
        """Free the model's memory."""
        with self._lock:
            self._llama.close()
