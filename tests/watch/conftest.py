"""Watched folders with the service in the test's process: a fake clock for the stability interval, scans
called by the test, and the pipeline's tasks run here (the transcription stores fixed segments)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from stenograph.queue import TaskRecord
from stenograph.service import Stenograph
from stenograph.settings import Settings
from stenograph.steps.base import StepContext, run_step
from stenograph.steps.registry import get_step
from stenograph.transcript.types import Segment, Word
from stenograph.watch.config import WatchFolder
from stenograph.watch.watcher import FolderWatcher
from tests.steps.conftest import FakeTask

WORDS = (Word(0.0, 0.5, " good", 0.9), Word(0.5, 1.0, " morning", 0.9))
SEGMENTS = [Segment(0, 0.0, 1.0, "good morning", words=WORDS), Segment(1, 1.2, 2.0, "see you")]


class Clock:
    """Monotonic seconds the test moves on."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    folder = tmp_path / "inbox"
    folder.mkdir()
    return folder


@pytest.fixture
def watch_settings(make_settings: Any, inbox: Path) -> Settings:
    return make_settings(  # type: ignore[no-any-return]
        watch_dirs=[str(inbox)], watch_stable_seconds=2.0, pipeline_steps=["transcription", "summary"]
    )


@pytest.fixture
def service(watch_settings: Settings) -> Iterator[Stenograph]:
    with Stenograph(watch_settings) as service:
        yield service


def new_watcher(service: Stenograph, clock: Clock) -> FolderWatcher:
    return FolderWatcher(service, service.watched_folders(), clock=clock)


def settle(watcher: FolderWatcher, clock: Clock) -> None:
    """Two scans a stability interval apart: every file that stopped growing is taken."""
    watcher.scan()
    clock.now += watcher.settings.watch_stable_seconds + 0.1
    watcher.scan()


def run_tasks(service: Stenograph) -> list[TaskRecord]:
    """Run every pending task here: the transcription stores :data:`SEGMENTS`, the rest their real step."""
    ran = []
    while (record := service.queue.claim("w")) is not None:
        task = FakeTask(service.settings, task_id=record.id, task_type=record.type, attempt=record.attempts)
        if record.type == "transcription":
            recording_id = record.params["recording_id"]
            service.store.create_version(recording_id, "original", SEGMENTS, task_id=record.id, language="en", info={})
            result: dict[str, Any] = {}
        else:
            result = run_step(get_step(record.type), StepContext(task, store=service.store), record.params)
        service.queue.complete(record.id, "w", record.attempts, result)
        ran.append(record)
    return ran


def folder_of(path: Path) -> WatchFolder:
    return WatchFolder(path=path)
