"""Transcription benchmark: the whole corpus through the queue against a loop calling faster-whisper
directly (goal: queue overhead at most 3% of wall time), real-time factor per clip for tiny.en and base,
and how fast a cancel stops a running transcription (goal: within 2 s with tiny.en)."""

from __future__ import annotations

import csv
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import bench_settings, corpus_dir, start_workers, stop_workers, submit_file, wait_for
from stenograph.pipeline.media import probe
from stenograph.pipeline.transcriber import FasterWhisperTranscriber, TranscriptionOptions
from stenograph.settings import Settings, build_settings


def corpus_clips() -> list[tuple[str, str]]:
    """(file name, language) of every corpus clip."""
    manifest = corpus_dir() / "MANIFEST.tsv"
    with manifest.open(encoding="utf-8") as handle:
        rows = list(csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    header = rows[0]
    return [(row[header.index("file")], row[header.index("language")]) for row in rows[1:]]


def direct_loop(settings: Settings, clips: list[Path]) -> float:
    """Wall seconds of a loop calling the transcriber directly (the model loaded first, outside the timing)."""
    transcriber = FasterWhisperTranscriber(settings)
    _ = transcriber.model
    started = time.monotonic()
    for clip in clips:
        list(transcriber.transcribe(clip, TranscriptionOptions()))
    return time.monotonic() - started


def through_queue(clips: list[Path]) -> float:
    """Wall seconds from enqueueing every clip at once to the last one done, one worker (model warm)."""
    with bench_settings(poll_interval=5.0) as (settings, queue), tempfile.TemporaryDirectory() as logs:
        log = Path(logs) / "w.log"
        [worker] = start_workers(settings, 1, log)
        try:
            # Warm the worker's slot: load the model with one clip first, as a running app has.
            warm = submit_file(settings, queue, clips[0])
            wait_for(lambda: queue.get(warm).status == "completed", timeout=300, interval=0.05)
            started = time.monotonic()
            ids = [submit_file(settings, queue, clip) for clip in clips]
            # One light query at a time: polling every task would itself contend for SQLite's lock.
            wait_for(
                lambda: queue.list_tasks(status="completed", limit=1)[1] == len(ids) + 1, timeout=1800, interval=0.1
            )
            return time.monotonic() - started
        finally:
            stop_workers([worker])


def real_time_factors(model: str, clips: list[Path]) -> dict[str, float]:
    """Processing seconds / audio seconds per clip (model loaded first)."""
    settings = build_settings(whisper_model=model, data_dir=Path(tempfile.gettempdir()) / "stenograph-bench-models")
    transcriber = FasterWhisperTranscriber(settings)
    _ = transcriber.model
    factors = {}
    for clip in clips:
        duration = probe(clip).duration_s
        started = time.monotonic()
        list(transcriber.transcribe(clip, TranscriptionOptions()))
        factors[clip.name] = (time.monotonic() - started) / duration
    return factors


def cancel_latency(clip: Path, repeats: int = 3) -> list[float]:
    """Seconds from a cancel request to the task being cancelled, while tiny.en transcribes (default grace:
    the handler stops at its next check, or its process is killed after
    ``STENOGRAPH_TRANSCRIPTION_CANCEL_GRACE_SECONDS``)."""
    latencies = []
    with (
        bench_settings(poll_interval=5.0) as (settings, queue),
        tempfile.TemporaryDirectory() as logs,
    ):
        [worker] = start_workers(settings, 1, Path(logs) / "w.log")
        try:
            for _ in range(repeats):
                task_id = submit_file(settings, queue, clip)
                wait_for(lambda t=task_id: queue.get(t).progress > 0.05, timeout=300, interval=0.02)
                asked = time.monotonic()
                queue.cancel(task_id)
                queue.notify()
                wait_for(lambda t=task_id: queue.get(t).status == "cancelled", timeout=120, interval=0.02)
                latencies.append(time.monotonic() - asked)
        finally:
            stop_workers([worker])
    return latencies


def long_clip(folder: Path, clips: list[Path]) -> Path:
    out = folder / "long.wav"
    parts = []
    for number, clip in enumerate(clips):
        part = folder / f"p{number}.wav"
        subprocess.run(["sox", str(clip), "-r", "16000", "-c", "1", "-b", "16", str(part), "pad", "0", "1"], check=True)
        parts.append(str(part))
    subprocess.run(["sox", *parts, *parts, str(out)], check=True)
    return out


def run() -> dict[str, Any]:
    folder = corpus_dir()
    if not (folder / "MANIFEST.tsv").exists():
        return {"skipped": f"speech corpus not found at {folder}"}
    clips_all = [folder / name for name, _ in corpus_clips()]
    english = [folder / name for name, language in corpus_clips() if language == "en"]
    results: dict[str, Any] = {}
    settings = build_settings()
    direct = direct_loop(settings, english)
    queued = through_queue(english)
    results["english_corpus_direct_s"] = direct
    results["english_corpus_queue_s"] = queued
    results["queue_overhead_percent"] = (queued - direct) / direct * 100
    for model in ("tiny.en", "base"):
        clips = english if model == "tiny.en" else clips_all
        factors = real_time_factors(model, clips)
        for name, factor in factors.items():
            results[f"rtf_{model}_{name}"] = factor
        results[f"rtf_{model}_mean"] = sum(factors.values()) / len(factors)
    with tempfile.TemporaryDirectory() as scratch:
        latencies = cancel_latency(long_clip(Path(scratch), english))
    results["cancel_latency_s_max"] = max(latencies)
    results["cancel_latency_s_mean"] = sum(latencies) / len(latencies)
    return results
