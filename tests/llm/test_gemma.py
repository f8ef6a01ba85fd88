"""Slow: correction and summary through real llama.cpp engines running the Gemma 3 270M GGUF.

Gemma 3 270M is a weak *base* model: these tests check that the plumbing works end to end (server
probing, structured-output fallback, grammar-constrained answers, the guard) and that the weak model
is harmless, not that it corrects well. Timings are printed (``pytest -s``) for the report.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from stenograph.llm.base import LLMClient, StructuredLevel
from stenograph.llm.models import GEMMA_SHA256
from stenograph.llm.openai_client import OpenAICompatibleClient
from stenograph.steps.correction.correction import correct_segments
from stenograph.steps.summary.summary import summarize
from tests.llm.conftest import GEMMA_TEST_CONTEXT
from tests.llm.helpers import make_segments

pytestmark = pytest.mark.slow

TRANSCRIPT = [
    "and so my fellow americans ask not what your country can do for you",
    "ask what you can do for your country",
    "we will meet on tuesday to discus the budget for next year",
    "anna will send the slides to the team by friday",
    "the marketing budget grows by ten percent and engineering stays flat",
    "any questions before we close the meeting",
]


def test_gemma_file_is_assembled_and_verified(gemma_path: Path) -> None:
    digest = hashlib.sha256(gemma_path.read_bytes()).hexdigest()
    assert digest == GEMMA_SHA256
    assert gemma_path.with_name(gemma_path.name + ".verified").is_file()


def run_correction_and_summary(client: LLMClient, label: str) -> None:
    segments = make_segments(TRANSCRIPT, seconds=5.0)
    minutes = segments[-1].end / 60
    started = time.perf_counter()
    result = correct_segments(client, segments, glossary=["Anna"], language="en")
    correction_s = time.perf_counter() - started
    assert [(s.index, s.start, s.end) for s in result.segments] == [(s.index, s.start, s.end) for s in segments]
    assert result.method == "llm" and result.stats.llm_calls >= 1
    for before, after in zip(segments, result.segments, strict=True):  # the guard held
        assert after.text == before.text or after.text.strip() != ""
    tokens = result.stats.completion_tokens or 0
    print(
        f"\n[{label}] correction: {correction_s:.1f} s for {minutes:.2f} min of transcript "
        f"({correction_s / minutes:.1f} s per minute), {tokens} answer tokens "
        f"({tokens / max(result.stats.llm_seconds, 1e-9):.1f} tokens/s), stats {result.stats.to_dict()}"
    )
    started = time.perf_counter()
    summary = summarize(client, segments, language="en", max_answer_tokens=256)
    if summary.method == "extractive":  # a weak base model may fail the schema even with a grammar
        print(f"[{label}] summary: fell back after {time.perf_counter() - started:.1f} s: {summary.fallback}")
        assert summary.fallback is not None and "after one repair attempt" in summary.fallback
        return
    summary_s = time.perf_counter() - started
    assert summary.method == "llm" and summary.llm is not None
    starts = {s.start for s in segments}
    assert all(point.timestamp_s in starts for point in summary.key_points)
    assert summary.markdown.startswith("# ")
    print(f"[{label}] summary: {summary_s:.1f} s ({summary_s / minutes:.1f} s per minute), stats {summary.stats}")


def test_openai_client_against_llama_cpp_server(llama_server: str) -> None:
    client = OpenAICompatibleClient(base_url=llama_server, model=None, timeout_s=600, context_tokens=GEMMA_TEST_CONTEXT)
    root = llama_server.removesuffix("/v1")
    served = httpx.post(f"{root}/extras/tokenize", json={"input": "hello world, how are you"}).json()
    assert client.count_tokens("hello world, how are you") == len(served["tokens"])  # the model's tokenizer
    assert client.describe().local
    run_correction_and_summary(client, "llama_cpp.server")
    # llama-cpp-python's server rejects json_schema (HTTP 500) and takes json_object with a schema.
    assert client.level == StructuredLevel.JSON_OBJECT_SCHEMA


def test_embedded_engine(gemma_embedded: Any) -> None:
    assert gemma_embedded.n_ctx_train == 32768  # gemma3.context_length in the GGUF metadata
    assert gemma_embedded.context_tokens() == GEMMA_TEST_CONTEXT
    assert gemma_embedded.count_tokens("hello world") == 2
    assert gemma_embedded.describe().kind == "embedded" and gemma_embedded.describe().local
    run_correction_and_summary(gemma_embedded, "embedded")
