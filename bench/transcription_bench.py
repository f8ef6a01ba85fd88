"""Transcription benchmark, Stenograph against faster-whisper called directly (same model and settings).

Figures (wall seconds unless named otherwise; the model is loaded before any timing starts):

- ``corpus_direct_s``: the English corpus clips, one after another, through ``WhisperModel.transcribe`` called
  directly with Stenograph's settings (language en, beam size, Silero VAD, the no-speech and log-probability
  thresholds, word timestamps on as an upload has them by default), every segment consumed.
- ``corpus_direct_no_words_s``: the same without word timestamps; ``word_timestamps_cost_percent`` what timing
  the words adds, and ``corpus_rtf_words`` / ``corpus_rtf_no_words`` the real-time factors of both.
- ``corpus_queue_s``: the same clips enqueued at once into Stenograph (SQLite) and transcribed by one warm
  worker, from the first enqueue to the last task completed (upload copy, probe, decoding in windows, guards,
  storing segments, the queue's transactions: everything a user waits for).
- ``queue_overhead_percent``: (queue - direct) / direct * 100. Goal: at most 3 %.
- ``long_*``: one recording over 5 minutes (the English clips joined with 1 s of silence between them,
  repeated): faster-whisper's sequential ``WhisperModel.transcribe``, its ``BatchedInferencePipeline``
  (``batch_size`` 8, its default), and Stenograph (sequential, through the queue).
- ``batched_*``: Stenograph's transcriber, sequential against batched decoding
  (``STENOGRAPH_BATCHED_DECODING``, :mod:`stenograph.steps.transcription.batched`), judged against the
  references: per repetition ``r`` (``BATCHED_REPETITIONS``, seed ``r``) a recording of at least
  ``BATCHED_RECORDING_S`` built from the English clips in rounds, each round shuffled
  (:func:`bench.corpus.shuffled_order`), 1 s of silence after each clip, its reference the clips' references
  in the same order; ``batched_wer_{sequential,batched}_r`` (corpus WER after Whisper's English normaliser,
  0..1) and ``batched_rtf_{sequential,batched}_r``, both decoded in the same run, alternating which goes
  first; ``batched_speedup`` = total sequential seconds / total batched seconds, ``batched_wer_delta_points``
  = (mean batched WER - mean sequential WER) * 100.
- ``rtf_*``: processing seconds per audio second, per clip, for tiny.en and base (Stenograph's transcriber,
  word timestamps on).
- ``cancel_latency_s_*``: seconds from a cancel request to the running transcription being cancelled.

Each timing in the full mode is the best of two runs (the machine is shared), but the ``batched_*`` ones
(each repetition once, both sides alternating); the quick mode transcribes one clip once and skips the long
recordings, the real-time factors and the cancel latency.
"""

from __future__ import annotations

import csv
import subprocess
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from bench.common import bench_settings, corpus_dir, start_workers, stop_workers, submit_file, wait_for
from bench.corpus import english_references, shuffled_order
from stenograph.settings import Settings, build_settings
from stenograph.steps.submit import PipelineRequest
from stenograph.steps.transcription.media import probe
from stenograph.steps.transcription.transcriber import FasterWhisperTranscriber, TranscriptionOptions
from stenograph.steps.transcription.whisper_models import load_whisper

#: Length the joined recording must exceed, in seconds.
LONG_RECORDING_S = 330.0
#: faster-whisper's default batch size for BatchedInferencePipeline.transcribe.
BATCH_SIZE = 8
#: Length of each recording of the batched-decoding benchmark, at least, in seconds.
BATCHED_RECORDING_S = 600.0
#: Recordings (seeds 0, 1, ...) of the batched-decoding benchmark in the full mode.
BATCHED_REPETITIONS = 3


def corpus_clips() -> list[tuple[str, str]]:
    """(file name, language) of every corpus clip."""
    manifest = corpus_dir() / "MANIFEST.tsv"
    with manifest.open(encoding="utf-8") as handle:
        rows = list(csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    header = rows[0]
    return [(row[header.index("file")], row[header.index("language")]) for row in rows[1:]]


def whisper_kwargs(settings: Settings, *, word_timestamps: bool | None = None) -> dict[str, Any]:
    """The arguments Stenograph's transcriber gives ``WhisperModel.transcribe`` for an English-only model
    with an upload's default options (``stenograph.steps.transcription.transcriber``, ``PipelineRequest``);
    ``word_timestamps`` overrides the upload's default (on)."""
    default = PipelineRequest.build(settings, steps=["transcription"]).word_timestamps
    return {
        "language": "en",
        "beam_size": settings.whisper_beam_size,
        "word_timestamps": default if word_timestamps is None else word_timestamps,
        "vad_filter": TranscriptionOptions().vad,
        "no_speech_threshold": settings.no_speech_threshold,
        "log_prob_threshold": settings.logprob_threshold,
    }


def direct_loop(settings: Settings, clips: list[Path], batched: bool = False, *, words: bool | None = None) -> float:
    """Wall seconds of faster-whisper called directly on each clip in turn, every segment consumed (the model
    is loaded first, outside the timing); ``batched`` uses ``BatchedInferencePipeline`` instead; ``words``
    overrides the upload's default word timestamps."""
    from faster_whisper import BatchedInferencePipeline

    model = load_whisper(settings)
    kwargs = whisper_kwargs(settings, word_timestamps=words)
    for _ in model.transcribe(str(clips[0]), **kwargs)[0]:  # loads Silero VAD too, as the warm worker has
        pass
    started = time.monotonic()
    for clip in clips:
        if batched:
            segments, _ = BatchedInferencePipeline(model=model).transcribe(str(clip), batch_size=BATCH_SIZE, **kwargs)
        else:
            segments, _ = model.transcribe(str(clip), **kwargs)
        for _ in segments:
            pass
    return time.monotonic() - started


def best_of(runs: int, measure: Callable[[], float]) -> float:
    return min(measure() for _ in range(runs))


def through_queue(clips: list[Path], warm_clip: Path) -> float:
    """Wall seconds from enqueueing every clip at once to the last one done, one worker (its model loaded
    first by transcribing ``warm_clip``, as a running app has)."""
    with bench_settings(poll_interval=5.0) as (settings, queue), tempfile.TemporaryDirectory() as logs:
        log = Path(logs) / "w.log"
        [worker] = start_workers(settings, 1, log)
        try:
            # Warm the worker's slot: load the model with one clip first, as a running app has.
            warm = submit_file(settings, queue, warm_clip)
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
        list(transcriber.transcribe(clip, TranscriptionOptions(word_timestamps=True)))
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
                wait_for(partial(lambda t: queue.get(t).progress > 0.05, task_id), timeout=300, interval=0.02)
                asked = time.monotonic()
                queue.cancel(task_id)
                queue.notify()
                wait_for(partial(lambda t: queue.get(t).status == "cancelled", task_id), timeout=120, interval=0.02)
                latencies.append(time.monotonic() - asked)
        finally:
            stop_workers([worker])
    return latencies


def long_clip(folder: Path, clips: list[Path], min_seconds: float = 0.0) -> Path:
    """``clips`` as 16 kHz mono with 1 s of silence after each, joined, the whole repeated until it lasts more
    than ``min_seconds`` (at least twice)."""
    out = folder / "long.wav"
    parts = []
    for number, clip in enumerate(clips):
        part = folder / f"p{number}.wav"
        subprocess.run(["sox", str(clip), "-r", "16000", "-c", "1", "-b", "16", str(part), "pad", "0", "1"], check=True)
        parts.append(str(part))
    once = sum(probe(Path(part)).duration_s for part in parts)
    repeats = max(2, int(min_seconds // once) + 1)
    subprocess.run(["sox", *(parts * repeats), str(out)], check=True)
    return out


def shuffled_recording(folder: Path, scratch: Path, seed: int, min_seconds: float) -> tuple[Path, str]:
    """A 16 kHz mono WAV of the English clips in :func:`shuffled_order` (seed ``seed``, 1 s of silence after
    each) lasting at least ``min_seconds``, and its reference text (the clips' references in that order)."""
    references = english_references(folder)
    parts = {}
    for name in references:
        part = scratch / f"{name}.16k.wav"
        if not part.exists():
            subprocess.run(
                ["sox", str(folder / name), "-r", "16000", "-c", "1", "-b", "16", str(part), "pad", "0", "1"],
                check=True,
            )
        parts[name] = part
    order = shuffled_order({name: probe(part).duration_s - 1.0 for name, part in parts.items()}, min_seconds, seed)
    out = scratch / f"shuffled-{seed}.wav"
    subprocess.run(["sox", *(str(parts[name]) for name in order), str(out)], check=True)
    return out, " ".join(references[name] for name in order)


def word_error_rate(reference: str, hypothesis: str) -> float:
    """WER (0..1+) of ``hypothesis`` after Whisper's English normaliser, as ``tests/llm/wer.py`` scores."""
    import jiwer
    from whisper_normalizer.english import EnglishTextNormalizer

    normalise = EnglishTextNormalizer()
    return float(jiwer.wer(normalise(reference), normalise(hypothesis)))


def batched_against_sequential(repetitions: int, min_seconds: float = BATCHED_RECORDING_S) -> dict[str, Any]:
    """The ``batched_*`` figures (module docstring): Stenograph's transcriber on each shuffled recording,
    sequential and batched (one model, loaded first), word timestamps as an upload has them."""
    folder = corpus_dir()
    plain = build_settings(batched_decoding=False)
    batched = build_settings(batched_decoding=True, batched_decoding_min_seconds=0.0)
    model = load_whisper(plain)
    options = TranscriptionOptions(
        word_timestamps=PipelineRequest.build(plain, steps=["transcription"]).word_timestamps
    )
    sides = {"sequential": plain, "batched": batched}
    results: dict[str, Any] = {"batched_recording_s": []}
    seconds = dict.fromkeys(sides, 0.0)
    with tempfile.TemporaryDirectory() as scratch:
        for repetition in range(repetitions):
            recording, reference = shuffled_recording(folder, Path(scratch), repetition, min_seconds)
            duration = probe(recording).duration_s
            results["batched_recording_s"].append(duration)
            for side in list(sides)[:: 1 if repetition % 2 == 0 else -1]:
                transcriber = FasterWhisperTranscriber(sides[side], model=model)
                started = time.monotonic()
                text = " ".join(segment.text for segment in transcriber.transcribe(recording, options))
                elapsed = time.monotonic() - started
                seconds[side] += elapsed
                results[f"batched_wer_{side}_{repetition}"] = word_error_rate(reference, text)
                results[f"batched_rtf_{side}_{repetition}"] = elapsed / duration
    for side in sides:
        wers = [results[f"batched_wer_{side}_{r}"] for r in range(repetitions)]
        results[f"batched_wer_{side}_mean"] = sum(wers) / len(wers)
    results["batched_speedup"] = seconds["sequential"] / seconds["batched"]
    results["batched_wer_delta_points"] = (
        results["batched_wer_batched_mean"] - results["batched_wer_sequential_mean"]
    ) * 100
    return results


def run(quick: bool = False) -> dict[str, Any]:
    folder = corpus_dir()
    if not (folder / "MANIFEST.tsv").exists():
        return {"skipped": f"speech corpus not found at {folder}"}
    clips_all = [folder / name for name, _ in corpus_clips()]
    english = [folder / name for name, language in corpus_clips() if language == "en"]
    settings = build_settings()
    results: dict[str, Any] = {"model": settings.whisper_model, "whisper_settings": whisper_kwargs(settings)}
    runs = 1 if quick else 2
    corpus = [folder / "jfk.wav"] if quick else english
    results["corpus_clips"] = [clip.name for clip in corpus]
    results["corpus_audio_s"] = sum(probe(clip).duration_s for clip in corpus)
    direct = best_of(runs, lambda: direct_loop(settings, corpus))
    queued = best_of(runs, lambda: through_queue(corpus, folder / "jfk.wav"))
    results["corpus_direct_s"] = direct
    results["corpus_queue_s"] = queued
    results["queue_overhead_percent"] = (queued - direct) / direct * 100
    without_words = best_of(runs, lambda: direct_loop(settings, corpus, words=False))
    results["corpus_direct_no_words_s"] = without_words
    results["word_timestamps_cost_percent"] = (direct - without_words) / without_words * 100
    results["corpus_rtf_words"] = direct / results["corpus_audio_s"]
    results["corpus_rtf_no_words"] = without_words / results["corpus_audio_s"]
    if quick:
        return results
    with tempfile.TemporaryDirectory() as scratch:
        long = long_clip(Path(scratch), english, LONG_RECORDING_S)
        results["long_audio_s"] = probe(long).duration_s
        results["long_sequential_s"] = best_of(runs, lambda: direct_loop(settings, [long]))
        results["long_batched_s"] = best_of(runs, lambda: direct_loop(settings, [long], batched=True))
        results["long_stenograph_s"] = best_of(runs, lambda: through_queue([long], folder / "jfk.wav"))
        results["batched_speedup_vs_sequential"] = results["long_sequential_s"] / results["long_batched_s"]
        results["batched_speedup_vs_stenograph"] = results["long_stenograph_s"] / results["long_batched_s"]
    results.update(batched_against_sequential(BATCHED_REPETITIONS))
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
