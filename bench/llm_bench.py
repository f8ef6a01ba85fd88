"""LLM benchmark in the embedded engine, with the default model (Qwen2.5-Coder-1.5B-Instruct) when it is
installed, else Gemma 3 270M (``STENOGRAPH_BENCH_LLM=gemma`` forces Gemma): prompt and generation speed
in tokens per second, seconds of correction and of summary per minute of transcript, what the guards
rejected, and the process's peak resident memory (VmHWM: the Whisper model too, loaded for the transcript)."""

from __future__ import annotations

import json
import os
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


def _peak_rss_mib() -> float:
    """This process's peak resident memory (``VmHWM`` of /proc/self/status), MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _show(results: dict[str, Any]) -> None:
    """Print the figures so far (a long run cut short still leaves them in its log), with the load."""
    results["load_average_1min"] = os.getloadavg()[0]
    print("llm figures so far:", json.dumps(results, default=str), flush=True)


def _model_path(folder: Path) -> tuple[str, Path]:
    """The model to measure: the default model when installed (and not overridden), else Gemma."""
    from stenograph.llm.models import gemma_gguf_path
    from stenograph.llm.qwen import QWEN_MODEL_NAME, qwen_gguf_path, qwen_installed

    settings = build_settings(data_dir=folder / "data")
    if qwen_installed() and os.environ.get("STENOGRAPH_BENCH_LLM", "default") != "gemma":
        return QWEN_MODEL_NAME, qwen_gguf_path(settings)
    return "gemma-3-270m", gemma_gguf_path(settings)


def _speeds(client: Any) -> dict[str, float]:
    """Prompt tokens/s (a long prompt, one token answered) and generation tokens/s (the rest of a
    128-token answer's time, less its prompt at the measured prompt speed)."""
    long_prompt = "Summarise in one word: " + " ".join(["the river runs to the sea and back again"] * 40)
    started = time.monotonic()
    answer = client.chat([{"role": "user", "content": long_prompt}], max_tokens=1)
    prompt_tps = (answer.prompt_tokens or client.count_tokens(long_prompt)) / (time.monotonic() - started)
    started = time.monotonic()
    answer = client.chat([{"role": "user", "content": "Write a short paragraph about rivers."}], max_tokens=128)
    seconds = time.monotonic() - started - (answer.prompt_tokens or 0) / prompt_tps
    generated = answer.completion_tokens or client.count_tokens(answer.text)
    return {"tokens_per_second_prompt": prompt_tps, "tokens_per_second_generation": generated / max(seconds, 1e-6)}


def run(quick: bool = False) -> dict[str, Any]:
    """The section's figures (``quick`` is accepted for a uniform interface; this section has one scale)."""
    from stenograph.llm.embedded import EmbeddedLlamaClient, llama_cpp_available
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
        model, path = _model_path(folder)
        results["model"] = model
        before = _peak_rss_mib()
        client = EmbeddedLlamaClient(path, context_tokens=4096)
        try:
            results.update(_speeds(client))
            results["tokens_per_second_free_text"] = results["tokens_per_second_generation"]
            _show(results)
            started = time.monotonic()
            corrected = correct_segments(client, segments, language="en", context_tokens=4096)
            results["correction_seconds_per_transcript_minute"] = (time.monotonic() - started) / minutes
            results["correction_accepted"] = corrected.stats.accepted
            results["correction_rejected"] = corrected.stats.rejected_by_reason
            _show(results)
            started = time.monotonic()
            try:
                summary = summarize(client, corrected.segments, language="en", context_tokens=4096)
                results["summary_outcome"] = "completed" if summary.method == "llm" else f"fallback: {summary.fallback}"
                results["summary_title"] = summary.title
                results["summary_guard"] = summary.stats.get("guard", {})
            except Exception as exc:  # the weak model may not fit the schema: that is a figure too
                results["summary_outcome"] = f"{type(exc).__name__}: {str(exc)[:120]}"
            results["summary_seconds_per_transcript_minute"] = (time.monotonic() - started) / minutes
            _show(results)
            started = time.monotonic()
            schema = {"type": "object", "properties": {"title": {"type": "string"}}, "required": ["title"]}
            answer = client.chat(
                [{"role": "user", "content": "Give a title for a talk about rivers as JSON."}],
                json_schema=schema,
                max_tokens=64,
            )
            constrained = answer.completion_tokens or client.count_tokens(answer.text)
            results["tokens_per_second_json_grammar"] = constrained / (time.monotonic() - started)
            results["peak_rss_mib"] = _peak_rss_mib()
            results["peak_rss_mib_before_model"] = before
        finally:
            client.close()
    return results
