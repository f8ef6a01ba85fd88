"""The transcription step: Whisper over a recording's file, its segments stored as they come.

Params: ``{"recording_id", "options": TranscriptionOptions as JSON (``channels`` may be ``auto``), "model": name
or None, "speaker_counts": the upload's fixed speaker counts, absent when none}``. The version
written is an ``original`` one, or a ``translation`` one when ``options.task`` is ``translate``. The task runs
where the file is (``needs_media``: the data directory's ``affinity``) or on a worker that fetches it from
the API server (:mod:`stenograph.worker.fetch`). A retry resumes after the last stored segment.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field, StrictInt

from stenograph.errors import TaskCancelled
from stenograph.queue.context import TaskContext
from stenograph.recordings.store import TranscriptStore
from stenograph.settings import Settings
from stenograph.steps.base import StepBase, StepContext, StepParams, run_step
from stenograph.steps.transcription.channel_choice import choose_channels
from stenograph.transcript.types import Segment
from stenograph.worker.fetch import LocalRecording, local_recording, stored_path

if TYPE_CHECKING:
    from stenograph.steps.submit import PipelineRequest
    from stenograph.steps.transcription.transcriber import TranscriptionOptions

__all__ = ["STEP", "TranscriptionParams", "TranscriptionStep", "recording_path", "resume_point", "run_transcription"]

#: Segments written to the database together (they are stored as they come, at most this many at once).
SEGMENT_BATCH = 8
#: Seconds after which a partial batch of segments is written anyway.
SEGMENT_FLUSH_SECONDS = 2.0


class TranscriptionParams(StepParams):
    recording_id: StrictInt
    options: dict[str, Any] = Field(default_factory=dict)
    model: str | None = None
    #: The speaker counts the upload fixed (``channels=auto`` heeds them); absent when none was.
    speaker_counts: dict[str, int | None] | None = None


class TranscriptionStep(StepBase):
    name: str = "transcription"
    needs_media: bool = True
    depends_on_if_chosen: tuple[str, ...] = ("download",)
    params_model: type[BaseModel] = TranscriptionParams

    def cancel_grace_s(self, settings: Settings) -> float:
        # Whisper cannot be interrupted inside a 30 s decode, and a kill costs only a model reload.
        return min(settings.cancel_grace_seconds, settings.transcription_cancel_grace_seconds)

    def task_params(self, request: PipelineRequest, recording_id: int | None) -> dict[str, Any]:
        counts = request.speaker_counts()
        fixed = {"speaker_counts": counts} if any(value is not None for value in counts.values()) else {}
        return {
            "recording_id": recording_id,
            "options": request.transcription_options(),
            "model": request.model,
            **fixed,
        }

    def run(self, ctx: StepContext, params: TranscriptionParams) -> dict[str, Any]:
        """Transcribe a recording, storing segments as they come; a retry resumes after the last stored one.

        Returns:
            ``{"version_id", "kind", "segments", "language", "language_probability", "duration_s", "model",
            "warnings", "channels", "resumed_at_s"}`` (``channels``: how the channels were read and why,
            :class:`~stenograph.steps.transcription.channel_choice.ChannelChoice`, also in the version's
            ``info["channels"]``); a translation (``kind="translation"``, ``language="en"``) also
            ``"source_language"``, the language spoken.

        ``options.channels`` ``auto`` (the default) transcribes a file whose channels each carry their own
        voice channel by channel (as ``split``), any other from the mix
        (:mod:`~stenograph.steps.transcription.channel_choice`).

        The file is read from the data directory or, on a worker of another machine, fetched from the API
        server (``STENOGRAPH_SERVER_URL``) into ``data_dir/fetched`` and deleted when the task ends.

        Raises:
            MediaError: the file is not readable audio (not retried).
            PermanentError: the recording was deleted, or its file is not here and cannot be fetched.
            RetryableError: the API server could not send the file this time.
            TaskCancelled: a cancel was requested.
        """
        recording = ctx.recording(params.recording_id)
        source = _fetch(ctx, recording)
        try:
            return _transcribe(ctx, params, ctx.store, recording, source.path)
        finally:
            source.discard()


STEP = TranscriptionStep()


def run_transcription(ctx: TaskContext, params: dict[str, Any]) -> dict[str, Any]:
    """The transcription step as a task handler (``Handler``)."""
    return run_step(STEP, ctx, params)


def recording_path(settings: Settings, stored_name: str) -> Path:
    """Where the data directory keeps an upload (the file may be absent on a worker of another machine:
    see :func:`stenograph.worker.fetch.local_recording`)."""
    return stored_path(settings, stored_name)


def _fetch(ctx: StepContext, recording: dict[str, Any]) -> LocalRecording:
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


def _options(
    ctx: StepContext, asked: dict[str, Any], store: TranscriptStore, draft_language: str | None, resumed: bool
) -> TranscriptionOptions:
    from stenograph.steps.transcription.transcriber import TranscriptionOptions

    options = TranscriptionOptions.from_dict(asked)
    glossary = [*store.glossary(), *ctx.settings.glossary]
    if glossary:  # the global glossary guides Whisper too, beside the upload's own terms
        merged = list(dict.fromkeys([*options.hotwords, *glossary]))
        options = TranscriptionOptions.from_dict({**options.to_dict(), "hotwords": merged})
    if resumed and draft_language and options.language is None:
        options = TranscriptionOptions.from_dict({**options.to_dict(), "language": draft_language})
    return options


def _transcribe(
    ctx: StepContext, params: TranscriptionParams, store: TranscriptStore, recording: dict[str, Any], path: Path
) -> dict[str, Any]:
    kind = "translation" if params.options.get("task") == "translate" else "original"
    draft, stored = store.draft_version(recording["id"], ctx.task_id, kind)
    start_at, skip_before = resume_point(stored)
    if params.options.get("channels", "auto") == "auto":
        ctx.report_progress(0.0, "measuring the channels")
    choice = choose_channels(path, params.options.get("channels"), lambda: ctx.cancelled, params.speaker_counts)
    options = _options(ctx, {**params.options, "channels": choice.used}, store, draft.language, bool(stored))
    transcriber = ctx.transcriber(params.model)
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
        "channels": choice.as_dict(),
        "resumed_at_s": start_at if stored else None,
    }
    language = run.info.language
    if kind == "translation":  # English text; the language spoken is kept beside it
        info["source_language"], language = language, "en"
    version = store.complete_version(draft, language=language, info=info)
    ctx.report_progress(1.0, "done")
    return {
        "version_id": version.id,
        "kind": kind,
        "segments": count,
        "language": language,
        **{k: info[k] for k in ("language_probability", "duration_s", "model", "warnings", "channels", "resumed_at_s")},
        **({"source_language": info["source_language"]} if kind == "translation" else {}),
    }


def resume_point(stored: list[Segment]) -> tuple[float, dict[str, float]]:
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
