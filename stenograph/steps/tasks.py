"""The pipeline's task handlers: transcription, correction and summary of a recording.

Each runs in a worker's slot process (see :mod:`stenograph.worker.child`) and gets the task's params:

- transcription: ``{"recording_id", "options": TranscriptionOptions as JSON, "model": name or None}``
- correction: ``{"recording_id", "glossary": [...]}``
- summary: ``{"recording_id", "template": name or None}``

Models are loaded once per slot process and reused across tasks.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from stenograph.db import create_db_engine
from stenograph.errors import PermanentError, TaskCancelled
from stenograph.queue.context import TaskContext
from stenograph.recordings.store import TranscriptStore, Version
from stenograph.settings import Settings
from stenograph.transcript.types import Segment
from stenograph.worker.fetch import LocalRecording, local_recording, stored_path

log = logging.getLogger("stenograph.steps")

#: Segments written to the database together (they are stored as they come, at most this many at once).
SEGMENT_BATCH = 8
#: Seconds after which a partial batch of segments is written anyway.
SEGMENT_FLUSH_SECONDS = 2.0


_engines: dict[str, Engine] = {}


def store_for(settings: Settings) -> TranscriptStore:
    """The transcript store of this process (one engine per database URL)."""
    url = settings.resolved_database_url
    if url not in _engines:
        _engines[url] = create_db_engine(settings)
    return TranscriptStore(_engines[url])


def recording_path(settings: Settings, stored_name: str) -> Path:
    """Where the data directory keeps an upload (the file may be absent on a worker of another machine:
    see :func:`stenograph.worker.fetch.local_recording`)."""
    return stored_path(settings, stored_name)


def _recording(settings: Settings, params: dict[str, Any]) -> tuple[TranscriptStore, dict[str, Any]]:
    store = store_for(settings)
    recording_id = params.get("recording_id")
    if not isinstance(recording_id, int):
        raise PermanentError("the task names no recording (params.recording_id)")
    from stenograph.errors import NotFoundError

    try:
        return store, store.recording(recording_id)
    except NotFoundError as exc:
        raise PermanentError(f"recording {recording_id} was deleted") from exc


def _transcriber(settings: Settings, model: str | None) -> Any:
    from stenograph.steps.transcription.transcriber import FasterWhisperTranscriber

    if model and model not in ("whisper-1", "default"):
        settings = settings.model_copy(update={"whisper_model": model})
    return FasterWhisperTranscriber(settings)


def run_transcription(ctx: TaskContext, params: dict[str, Any]) -> dict[str, Any]:
    """Transcribe a recording, storing segments as they come; a retry resumes after the last stored one.

    Returns:
        ``{"version_id", "segments", "language", "language_probability", "duration_s", "model",
        "warnings", "resumed_at_s"}``.

    The file is read from the data directory or, on a worker of another machine, fetched from the API
    server (``STENOGRAPH_SERVER_URL``) into ``data_dir/fetched`` and deleted when the task ends.

    Raises:
        MediaError: the file is not readable audio (not retried).
        PermanentError: the file is not here and cannot be fetched (no server URL, token refused...).
        RetryableError: the API server could not send the file this time.
        TaskCancelled: a cancel was requested.
    """
    store, recording = _recording(ctx.settings, params)
    source = _fetch(ctx, recording)
    try:
        return _transcribe(ctx, params, store, recording, source.path)
    finally:
        source.discard()


def _fetch(ctx: TaskContext, recording: dict[str, Any]) -> LocalRecording:
    """The recording's file on this machine, fetched from the API server when this is another machine."""

    def progress(received: int, expected: int | None) -> None:
        mib = f"{received / 2**20:.1f}" + (f" of {expected / 2**20:.1f}" if expected else "") + " MiB"
        ctx.report_progress(0.0, f"fetching the recording from the API server: {mib}")

    return local_recording(
        ctx.settings,
        recording,
        task_id=ctx.task_id,
        should_stop=lambda: ctx.cancelled,
        on_progress=progress,
        on_wait=lambda message: ctx.report_progress(0.0, message),
    )


def _transcribe(
    ctx: TaskContext, params: dict[str, Any], store: TranscriptStore, recording: dict[str, Any], path: Path
) -> dict[str, Any]:
    from stenograph.steps.transcription.transcriber import TranscriptionOptions

    settings = ctx.settings
    options = TranscriptionOptions.from_dict(params.get("options") or {})
    glossary = [*store.glossary(), *settings.glossary]
    if glossary:  # the global glossary guides Whisper too, beside the upload's own terms
        merged = list(dict.fromkeys([*options.hotwords, *glossary]))
        options = TranscriptionOptions.from_dict({**options.to_dict(), "hotwords": merged})
    draft, stored = store.draft_version(recording["id"], ctx.task_id)
    start_at, skip_before = _resume_point(stored)
    if stored and draft.language and options.language is None:
        options = TranscriptionOptions.from_dict({**options.to_dict(), "language": draft.language})
    transcriber = _transcriber(settings, params.get("model"))
    ctx.report_progress(0.0, "loading the model and reading the audio")
    run = transcriber.transcribe(
        path, options, start_at=start_at, should_stop=lambda: ctx.cancelled, first_index=len(stored)
    )
    duration = run.info.duration_s or recording.get("duration_s") or 0.0
    if not stored:
        store.set_draft_language(draft.id, run.info.language)
    began = time.monotonic()
    pending: list[Segment] = []
    last_flush = began
    count = len(stored)
    for segment in run:
        if segment.channel is not None and segment.start < skip_before.get(segment.channel, 0.0) - 0.01:
            continue  # split channels resumed from the earliest channel: this one was stored already
        pending.append(segment)
        count += 1
        now = time.monotonic()
        if len(pending) >= SEGMENT_BATCH or now - last_flush >= SEGMENT_FLUSH_SECONDS:
            store.add_segments(draft.id, pending)
            pending, last_flush = [], now
        done = min(segment.end / duration, 1.0) if duration else 0.0
        rate = (segment.end - start_at) / max(now - began, 1e-6)
        eta = (duration - segment.end) / rate if rate > 0 else None
        ctx.report_progress(done, f"{_clock(segment.end)} of {_clock(duration)} transcribed", eta_s=eta)
    store.add_segments(draft.id, pending)
    if run.stopped or ctx.cancelled:
        raise TaskCancelled("transcription cancelled; the segments so far are kept")
    info = {
        "language_probability": run.info.language_probability,
        "duration_s": duration,
        "model": run.info.model,
        "warnings": list(run.info.warnings),
        "options": options.to_dict(),
        "resumed_at_s": start_at if stored else None,
    }
    version = store.complete_version(draft, language=run.info.language, info=info)
    ctx.report_progress(1.0, "done")
    return {
        "version_id": version.id,
        "segments": count,
        "language": run.info.language,
        **{k: info[k] for k in ("language_probability", "duration_s", "model", "warnings", "resumed_at_s")},
    }


def _resume_point(stored: list[Segment]) -> tuple[float, dict[str, float]]:
    """Where an interrupted transcription resumes (seconds), and for split channels the end of each
    channel's last stored segment (segments of a channel starting before it are skipped)."""
    if not stored:
        return 0.0, {}
    by_channel: dict[str, float] = {}
    for segment in stored:
        if segment.channel is not None:
            by_channel[segment.channel] = max(by_channel.get(segment.channel, 0.0), segment.end)
    if by_channel:
        return min(by_channel.values()), by_channel
    return stored[-1].end, {}


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def _progress(ctx: TaskContext) -> Callable[[float, str], None]:
    return lambda fraction, message: ctx.report_progress(fraction, message)


_clients: dict[tuple[str, str | None, str | None], Any] = {}


def _llm(settings: Settings) -> tuple[Any, dict[str, Any]]:
    """The LLM client the settings choose (None for none) and its description for the task's result.

    The choice is made again for every task (Ollama may have started since); the client of a choice is
    built once per process (an embedded model is loaded once).
    """
    from stenograph.llm.select import build_llm, choose_llm

    choice = choose_llm(settings)
    key = (choice.kind, choice.model, choice.endpoint)
    if key not in _clients:
        _clients[key] = build_llm(settings, choice=choice)
    client = _clients[key]
    description = client.describe().to_dict() if client is not None else choice.describe().to_dict()
    if description.get("warning"):
        log.warning("%s", description["warning"])
    return client, description


def _llm_step(
    ctx: TaskContext, params: dict[str, Any], which: str
) -> tuple[TranscriptStore, dict[str, Any], Version, list[Segment], tuple[Any, dict[str, Any]]]:
    """What an LLM step starts from: the store, the recording, its transcript version ``which``
    (``latest``, or ``source``: the newest ``original`` or ``edited`` version, the text a correction starts
    from) with its segments, and the LLM client with its description.

    Raises:
        NotFoundError: the recording or the version is gone.
    """
    from stenograph.llm.patience import PatientLLM

    store, recording = _recording(ctx.settings, params)
    if which == "source":
        version = correction_source(store, recording["id"])
    else:
        version = store.pick_version(recording["id"], which)
    client, description = _llm(ctx.settings)
    if client is not None:  # a server that is restarting is waited for, over minutes
        client = PatientLLM(
            client,
            ctx.settings.llm_patience_seconds,
            should_stop=lambda: ctx.cancelled,
            on_wait=lambda message: ctx.report_progress(0.0, message),
        )
    return store, recording, version, store.segments(version.id), (client, description)


#: Version kinds a correction starts from: Whisper's text, or a person's.
CORRECTION_SOURCE_KINDS = ("original", "edited")


def correction_source(store: TranscriptStore, recording_id: int) -> Version:
    """The version a correction starts from: the newest ``original`` or ``edited`` one, so that a re-run
    after a person's edit keeps the edit (and a re-run transcription since then starts from Whisper again).

    Raises:
        NotFoundError: the recording has no such version yet.
    """
    from stenograph.errors import NotFoundError

    chosen = [v for v in store.versions(recording_id) if v.kind in CORRECTION_SOURCE_KINDS]
    if not chosen:
        raise NotFoundError(f"recording {recording_id} has no transcript yet")
    return chosen[-1]


def run_correction(ctx: TaskContext, params: dict[str, Any]) -> dict[str, Any]:
    """Correct the recording's newest ``original`` or ``edited`` transcript (:func:`correction_source`) into
    a new ``corrected`` version; its ``source_version`` info names the version it started from.

    Returns:
        ``{"version_id", "llm", "stats"}`` (stats: what the guard accepted and kept).
    """
    from stenograph.steps.correction.correction import correct_segments

    settings = ctx.settings
    store, recording, original, segments, (client, description) = _llm_step(ctx, params, "source")
    glossary = [*store.glossary(), *settings.glossary, *(params.get("glossary") or [])]
    result = correct_segments(
        client,
        segments,
        glossary=glossary,
        language=original.language,
        max_edit_ratio=settings.correction_max_edit_ratio,
        context_tokens=settings.llm_context_tokens,
        on_progress=_progress(ctx),
        should_stop=lambda: ctx.cancelled,
    )
    data = result.to_dict()
    carried = ("duration_s", "model", "language_probability", "warnings")
    info = {
        **{key: original.info[key] for key in carried if key in original.info},
        "llm": description if result.llm_used else None,
        "method": result.method,
        "stats": data.get("stats"),
        "source_version": original.number,
    }
    version = store.create_version(
        recording["id"], "corrected", result.segments, task_id=ctx.task_id, language=original.language, info=info
    )
    return {
        "version_id": version.id,
        "method": result.method,
        "llm": description if result.llm_used else None,
        "stats": data.get("stats"),
    }


def run_summary(ctx: TaskContext, params: dict[str, Any]) -> dict[str, Any]:
    """Summarise the newest transcript version (Markdown citing timestamps; extractive without an LLM).

    Returns:
        ``{"summary_id", "method", "llm", "template", "source_version": {"number", "kind"}, "fallback"}``:
        ``fallback`` says why an extractive summary was written when the LLM failed (else None).
    """
    from stenograph.steps.summary.summary import render_markdown, summarize

    settings = ctx.settings
    store, recording, version, segments, (client, description) = _llm_step(ctx, params, "latest")
    template = params.get("template") or settings.summary_template
    result = summarize(
        client,
        segments,
        template=template,
        language=version.language,
        data_dir=settings.data_dir,
        context_tokens=settings.llm_context_tokens,
        on_progress=_progress(ctx),
        should_stop=lambda: ctx.cancelled,
    )
    data = result.to_dict()
    data["llm"] = description if result.method == "llm" else None
    # Which transcript it summarises: the corrected one, or the original when the correction failed.
    data["source_version"] = {"number": version.number, "kind": version.kind}
    summary_id = store.save_summary(
        recording["id"], version_id=version.id, task_id=ctx.task_id, markdown=render_markdown(result), data=data
    )
    return {
        "summary_id": summary_id,
        "method": result.method,
        "llm": data["llm"],
        "template": template,
        "source_version": data["source_version"],
        "fallback": result.fallback,
    }
