"""LLM benchmark with Gemma 3 270M in the embedded engine: seconds of correction and of summary per minute
of transcript, and generation speed in tokens per second (free text, and with a JSON grammar)."""

from __future__ import annotations

import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import corpus_dir
from stenograph.settings import build_settings

CLIPS = ["jfk.wav", "LJ001-0001.wav", "librispeech-1995-1837-0001.wav", "LDC93S1.wav"]


def transcript(folder: Path) -> list[Any]:
    """tiny.en segments of the clips above joined (about 35 s of speech)."""
    from stenograph.steps.transcription.transcriber import FasterWhisperTranscriber, TranscriptionOptions

    parts = []
    for number, name in enumerate(CLIPS):
        part = folder / f"p{number}.wav"
        subprocess.run(
            ["sox", str(corpus_dir() / name), "-r", "16000", "-c", "1", "-b", "16", str(part), "pad", "0", "1"],
            check=True,
        )
        parts.append(str(part))
    joined = folder / "joined.wav"
    subprocess.run(["sox", *parts, str(joined)], check=True)
    return list(FasterWhisperTranscriber(build_settings()).transcribe(joined, TranscriptionOptions()))


def run(quick: bool = False) -> dict[str, Any]:
    """The section's figures (``quick`` is accepted for a uniform interface; this section has one scale)."""
    from stenograph.llm.embedded import EmbeddedLlamaClient, llama_cpp_available
    from stenograph.llm.models import gemma_gguf_path
    from stenograph.steps.correction.correction import correct_segments
    from stenograph.steps.summary.summary import summarize

    if not llama_cpp_available():
        return {"skipped": "llama_cpp not installed (pip install 'stenograph[embedded]')"}
    if not (corpus_dir() / "jfk.wav").exists():
        return {"skipped": "speech corpus not found"}
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="stenograph-llm-bench-") as scratch:
        folder = Path(scratch)
        segments = transcript(folder)
        minutes = (segments[-1].end - segments[0].start) / 60 if segments else 0.0
        results["transcript_minutes"] = minutes
        client = EmbeddedLlamaClient(gemma_gguf_path(build_settings(data_dir=folder / "data")), context_tokens=4096)
        try:
            started = time.monotonic()
            answer = client.chat([{"role": "user", "content": "Write a short paragraph about rivers."}], max_tokens=128)
            free = answer.completion_tokens or client.count_tokens(answer.text)
            results["tokens_per_second_free_text"] = free / (time.monotonic() - started)
            started = time.monotonic()
            correct_segments(client, segments, language="en", context_tokens=4096)
            results["correction_seconds_per_transcript_minute"] = (time.monotonic() - started) / minutes
            started = time.monotonic()
            try:
                summarize(client, segments, language="en", context_tokens=4096)
                results["summary_outcome"] = "completed"
            except Exception as exc:  # the weak model may not fit the schema: that is a figure too
                results["summary_outcome"] = f"{type(exc).__name__}: {str(exc)[:120]}"
            results["summary_seconds_per_transcript_minute"] = (time.monotonic() - started) / minutes
            started = time.monotonic()
            schema = {"type": "object", "properties": {"title": {"type": "string"}}, "required": ["title"]}
            answer = client.chat(
                [{"role": "user", "content": "Give a title for a talk about rivers as JSON."}],
                json_schema=schema,
                max_tokens=64,
            )
            constrained = answer.completion_tokens or client.count_tokens(answer.text)
            results["tokens_per_second_json_grammar"] = constrained / (time.monotonic() - started)
        finally:
            client.close()
    return results
