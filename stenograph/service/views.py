"""What the use cases answer: plain data, no HTTP. The API turns these into its response schemas."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from stenograph.queue.records import TaskEventRecord, TaskRecord
from stenograph.queue.states import allowed_actions
from stenograph.recordings.store import Version
from stenograph.transcript.types import Segment


@dataclass(frozen=True, slots=True)
class TaskView:
    """A task with the name of its recording (None when it belongs to none)."""

    record: TaskRecord
    recording_name: str | None

    @property
    def actions(self) -> list[str]:
        """What may be done with it now (``cancel``, ``retry``, ``delete``), from its status."""
        return allowed_actions(self.record.status)


@dataclass(frozen=True, slots=True)
class TaskDetailView:
    task: TaskView
    events: list[TaskEventRecord]


@dataclass(frozen=True, slots=True)
class RecordingView:
    """A recording, the status of the newest task of each step, and (when asked for) its tasks."""

    id: int
    name: str
    created_at: datetime
    duration_s: float | None
    size_bytes: int
    media: dict[str, Any] | None
    options: dict[str, Any] | None
    speakers: dict[str, Any] | None
    steps: dict[str, str]
    tasks: list[TaskView] | None = None
    source_url: str | None = None  # an import's URL and the title the site gave (docs/url-import.md)
    source_title: str | None = None


@dataclass(frozen=True, slots=True)
class MediaFile:
    """A recording's file as it is played: where it is, its content type and the name to show."""

    path: Path
    media_type: str
    filename: str


@dataclass(frozen=True, slots=True)
class TranscriptView:
    """One version of a recording's transcript with its segments."""

    recording_id: int
    recording_name: str
    version: Version
    segments: list[Segment]

    @property
    def text(self) -> str:
        return " ".join(s.text.strip() for s in self.segments if s.text.strip())


@dataclass(frozen=True, slots=True)
class DiffRow:
    index: int
    start: float
    end: float
    original: str | None
    corrected: str | None

    @property
    def changed(self) -> bool:
        return self.original != self.corrected


@dataclass(frozen=True, slots=True)
class DiffView:
    base: Version
    other: Version
    segments: list[DiffRow]

    @property
    def changed(self) -> int:
        return sum(row.changed for row in self.segments)


@dataclass(frozen=True, slots=True)
class SummaryView:
    id: int
    task_id: int | None
    markdown: str
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class GlossaryView:
    terms: list[str]
    from_settings: list[str]


@dataclass(frozen=True, slots=True)
class HealthView:
    status: str
    database: str


@dataclass(frozen=True, slots=True)
class MetricsView:
    """The task table at one moment: counts by (type, status), finished durations by type, live workers."""

    counts: dict[tuple[str, str], int]
    durations: dict[str, list[float]] = field(default_factory=dict)
    live_workers: int = 0
