"""Fixtures of the step tests: a recording in a real database, and a StepContext built from fakes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

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
