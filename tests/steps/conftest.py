"""Fixtures of the step tests: a recording in a real database, and a StepContext built from fakes."""

from __future__ import annotations

import wave
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
from sqlalchemy import Engine

from stenograph.llm.fake import ScriptedLLM
from stenograph.queue import TaskQueue, TaskRecord
from stenograph.recordings.store import TranscriptStore
from stenograph.settings import Settings
from stenograph.steps.base import StepContext, run_step
from stenograph.steps.diarization.diarizer import Diarizer
from stenograph.steps.registry import get_step
from stenograph.steps.transcription.fake import ScriptedTranscriber
from stenograph.transcript.types import Segment


@dataclass
class FakeTask:
    """The worker's side of a task (:class:`~stenograph.queue.context.TaskContext`), recording progress."""

    settings: Settings
    task_id: int = 1
    task_type: str = "transcription"
    attempt: int = 1
    cancelled: bool = False
    progress: list[tuple[float, str]] = field(default_factory=list)

    def report_progress(self, fraction: float, message: str = "", eta_s: float | None = None) -> None:
        self.progress.append((fraction, message))

    def raise_if_cancelled(self) -> None:
        pass


def run_claimed_here(
    queue: TaskQueue,
    store: TranscriptStore,
    settings: Settings,
    record: TaskRecord,
    *,
    segments: list[Segment],
    diarizer: Diarizer,
) -> None:
    """Run a claimed task in this process and complete it, as a worker's slot would: a transcription stores
    ``segments`` as the recording's original version; any other step runs for real, diarizing with
    ``diarizer``."""
    task = FakeTask(settings, task_id=record.id, task_type=record.type, attempt=record.attempts)
    if record.type == "transcription":
        recording_id = record.params["recording_id"]
        store.create_version(recording_id, "original", segments, task_id=record.id, language="en", info={})
        result: dict[str, Any] = {}
    else:
        ctx = StepContext(task, store=store, diarizer=lambda _s: diarizer)
        result = run_step(get_step(record.type), ctx, record.params)
    queue.complete(record.id, "w", record.attempts, result)


@pytest.fixture
def store(engine: Engine) -> TranscriptStore:
    return TranscriptStore(engine)


@pytest.fixture
def recording_id(store: TranscriptStore, settings: Settings) -> int:
    """A recording whose file (any bytes: the scripted transcriber does not read it) is in the data dir."""
    settings.uploads_dir.mkdir(parents=True, exist_ok=True)
    (settings.uploads_dir / "stored-1").write_bytes(b"not read by the scripted transcriber")
    return store.create_recording(
        name="meeting.wav", stored_name="stored-1", size_bytes=36, duration_s=12.0, media={}, options={}
    )


MakeContext = Callable[..., tuple[StepContext, FakeTask]]


@pytest.fixture
def make_context(settings: Settings, store: TranscriptStore, queue: TaskQueue, recording_id: int) -> MakeContext:
    """``make_context(step, transcriber=..., llm=..., attempt=...)``: a StepContext on the test's store, for
    a task of ``step`` enqueued for the recording (the versions it writes name it)."""

    def make(
        step: str, *, transcriber: ScriptedTranscriber | None = None, llm: ScriptedLLM | None = None, **task: Any
    ) -> tuple[StepContext, FakeTask]:
        record = queue.enqueue(step, {"recording_id": recording_id}, recording_id=recording_id)
        fake = FakeTask(settings, task_id=record.id, task_type=step, **task)
        chosen = transcriber or ScriptedTranscriber()
        context = StepContext(
            fake,
            store=store,
            transcriber=lambda _settings, _model: chosen,
            llm=lambda _settings: (llm, llm.describe().to_dict() if llm is not None else {"kind": "none"}),
        )
        return context, fake

    return make


def segments(*spans: tuple[float, float, str]) -> list[Segment]:
    return [Segment(index, start, end, text) for index, (start, end, text) in enumerate(spans)]


def write_wav(path: Any, seconds: float, rate: int = 16_000) -> None:
    """A mono 16-bit WAV of a 440 Hz tone (peak 0.1), ``seconds`` long."""
    samples = (0.1 * np.sin(np.linspace(0, 440 * 2 * np.pi * seconds, int(rate * seconds)))).astype(np.float32)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes((samples * 32767).astype("<i2").tobytes())


def stereo_recording(store: TranscriptStore, settings: Settings, *, same: bool = False) -> int:
    """A 4 s stereo recording: noise at -20 dBFS on the left from 0.2 to 2.0 s and, independent, on the right
    from 2.4 to 3.8 s (a voice per channel); ``same``: the left signal on both channels instead."""
    rng = np.random.default_rng(3)
    channels = np.zeros((2, 64_000), dtype=np.float32)
    channels[0, 3_200:32_000] = rng.normal(0.0, 0.1, 28_800)
    channels[1, 38_400:60_800] = rng.normal(0.0, 0.1, 22_400)
    if same:
        channels[1] = channels[0]
    settings.uploads_dir.mkdir(parents=True, exist_ok=True)
    with wave.open(str(settings.uploads_dir / "call.wav"), "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(16_000)
        out.writeframes((np.clip(channels.T, -1, 1) * 32767).astype("<i2").tobytes())
    return store.create_recording(
        name="call.wav", stored_name="call.wav", size_bytes=1, duration_s=4.0, media={}, options={}
    )
