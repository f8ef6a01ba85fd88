"""The diarization step: who spoke when, over a recording's audio; its result stored for the speakers step.

Params: ``{"recording_id", "num_speakers", "min_speakers", "max_speakers"}`` (each None or a whole number).
It needs the recording's file (``needs_media``) and nothing else, so it may run beside the transcription on
another slot. Its result goes into the ``diarizations`` table (turns, speakers, embeddings, model), not only
into the task's result: the speakers step reads it through the store (a step has no queue), voice profiles
will read the embeddings, and a re-run adds a row while the earlier ones stay.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, Field, StrictInt

from stenograph.queue.context import TaskContext
from stenograph.settings import Settings
from stenograph.steps.base import StepBase, StepContext, StepParams, run_step
from stenograph.steps.diarization.channels import (
    diarize_by_channel,
    measure_file,
    split_fits,
)
from stenograph.worker.fetch import local_recording

if TYPE_CHECKING:
    from stenograph.steps.diarization.diarizer import Diarization
    from stenograph.steps.submit import PipelineRequest

__all__ = ["STEP", "DiarizationParams", "DiarizationStep", "decode_audio", "decode_mono", "run_diarization"]


class DiarizationParams(StepParams):
    recording_id: StrictInt
    num_speakers: int | None = Field(default=None, ge=1)
    min_speakers: int | None = Field(default=None, ge=1)
    max_speakers: int | None = Field(default=None, ge=1)


def decode_audio(path: Path, sample_rate: int, channel: int | None = None) -> tuple[npt.NDArray[np.float32], list[str]]:
    """The whole file as float32 at ``sample_rate`` (shape ``(samples,)``): its channels mixed to mono
    (``channel=None``) or only channel ``channel`` (0-based); and the damage found decoding it (what decodes is
    kept, as transcription does).

    Raises:
        MediaError: the file is not readable audio, or has no channel ``channel``
            (:func:`~stenograph.steps.transcription.media.iter_audio_windows`).
    """
    from stenograph.steps.transcription.media import iter_audio_windows

    parts: list[npt.NDArray[np.float32]] = []
    warnings: list[str] = []
    for window in iter_audio_windows(path, sample_rate=sample_rate, channel=channel):
        parts.append(window.samples)
        warnings.extend(window.warnings)
    audio = np.concatenate(parts).astype(np.float32, copy=False) if parts else np.zeros(0, dtype=np.float32)
    return audio, warnings


def decode_mono(path: Path, sample_rate: int) -> tuple[npt.NDArray[np.float32], list[str]]:
    """The whole file mixed to mono (:func:`decode_audio` with ``channel=None``).

    Raises:
        MediaError: the file is not readable audio.
    """
    return decode_audio(path, sample_rate)


class DiarizationStep(StepBase):
    name: str = "diarization"
    needs_media: bool = True
    #: An import's media comes from its download: diarization waits for it, as transcription does.
    depends_on_if_chosen: tuple[str, ...] = ("download",)
    params_model: type[BaseModel] = DiarizationParams

    def cancel_grace_s(self, settings: Settings) -> float:
        # Like Whisper, a model inside one window cannot be interrupted; a kill costs only a model reload.
        return min(settings.cancel_grace_seconds, settings.transcription_cancel_grace_seconds)

    def task_params(self, request: PipelineRequest, recording_id: int | None) -> dict[str, Any]:
        return {"recording_id": recording_id, **request.speaker_counts()}

    def run(self, ctx: StepContext, params: DiarizationParams) -> dict[str, Any]:
        """Diarize the recording's audio and store the result (a new row each run).

        A recording of 2 to 8 channels whose channels each carry their own voice is diarized channel by
        channel, each channel one speaker (:mod:`~stenograph.steps.diarization.channels`, docs/diarization.md);
        any other recording, or one whose speaker counts asked for differ from its channels with speech, is
        mixed down to mono and diarized as a whole.

        Returns:
            ``{"diarization_id", "speakers", "turns", "model", "duration_s", "warnings", "by_channel",
            "channel_separation"}`` (``speakers``, ``turns``: how many; ``channel_separation``: the channel
            measurement, None for one channel or more than 8).

        Raises:
            MediaError: the file is not readable audio (not retried).
            PermanentError: the recording was deleted, its file cannot be had, or no engine is installed.
            TaskCancelled: a cancel was requested.
        """
        from stenograph.steps.diarization.diarizer import SAMPLE_RATE

        recording = ctx.recording(params.recording_id)
        source = local_recording(
            ctx.settings,
            recording,
            task_id=ctx.task_id,
            should_stop=lambda: ctx.cancelled,
            on_wait=lambda message: ctx.report_progress(0.0, message),
        )
        counts = {k: getattr(params, k) for k in ("num_speakers", "min_speakers", "max_speakers")}
        result: Diarization | None = None
        by_channel = False
        try:
            ctx.report_progress(0.0, "reading the audio")
            stats, separation, warnings = measure_file(source.path, lambda: ctx.cancelled)
            if stats is not None and separation is not None and split_fits(separation, **counts):
                ctx.raise_if_cancelled()
                by_channel = True
                result = diarize_by_channel(
                    lambda channel: decode_audio(source.path, SAMPLE_RATE, channel)[0],
                    stats,
                    ctx.diarizer(),
                    on_progress=ctx.progress(),
                    should_stop=lambda: ctx.cancelled,
                )
                duration_s = result.duration_s
            else:
                audio, warnings = decode_mono(source.path, SAMPLE_RATE)
                duration_s = len(audio) / SAMPLE_RATE
        finally:
            source.discard()
        ctx.raise_if_cancelled()
        if result is None:
            diarizer = ctx.diarizer()
            result = diarizer.diarize(audio, **counts, on_progress=ctx.progress(), should_stop=lambda: ctx.cancelled)
            ctx.raise_if_cancelled()
        diarization_id = ctx.store.save_diarization(
            recording["id"],
            task_id=ctx.task_id,
            model=result.model,
            duration_s=result.duration_s or duration_s,
            params=counts,
            speakers=result.speakers,
            turns=[(t.start, t.end, t.speaker) for t in result.turns],
            embeddings=result.embeddings,
        )
        ctx.report_progress(1.0, "done")
        return {
            "diarization_id": diarization_id,
            "speakers": len(result.speakers),
            "turns": len(result.turns),
            "model": result.model,
            "duration_s": result.duration_s,
            "warnings": warnings,
            "by_channel": by_channel,
            "channel_separation": separation.as_dict() if separation is not None else None,
        }


STEP = DiarizationStep()


def run_diarization(ctx: TaskContext, params: dict[str, Any]) -> dict[str, Any]:
    """The diarization step as a task handler (``Handler``)."""
    return run_step(STEP, ctx, params)
