"""Read-only views of rows (the API's schemas of them are in ``stenograph.api.schemas``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from stenograph.queue.states import TaskStatus


def iso(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with a ``Z`` suffix, or None."""
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


@dataclass(frozen=True, slots=True)
class TaskRecord:
    """One task row. Times are aware UTC datetimes, durations seconds."""

    id: int
    type: str
    status: TaskStatus
    priority: int
    params: dict[str, Any]
    result: dict[str, Any] | None
    error_kind: str | None
    error_message: str | None
    attempts: int
    max_attempts: int
    run_after: datetime
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    duration_s: float | None
    worker_id: str | None
    lease_expires_at: datetime | None
    progress: float
    progress_message: str | None
    eta_s: float | None
    cancel_requested: bool
    depends_on: int | None
    recording_id: int | None
    affinity: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.status, TaskStatus):  # rows hold the text; the record holds the enum
            object.__setattr__(self, "status", TaskStatus(self.status))

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> TaskRecord:
        return cls(**{name: row[name] for name in cls.__slots__})


@dataclass(frozen=True, slots=True)
class TaskEventRecord:
    at: datetime
    from_status: TaskStatus | None
    to_status: TaskStatus

    def __post_init__(self) -> None:
        if self.from_status is not None and not isinstance(self.from_status, TaskStatus):
            object.__setattr__(self, "from_status", TaskStatus(self.from_status))
        if not isinstance(self.to_status, TaskStatus):
            object.__setattr__(self, "to_status", TaskStatus(self.to_status))

    worker_id: str | None
    message: str | None


@dataclass(frozen=True, slots=True)
class WorkerRecord:
    id: str
    hostname: str
    pid: int
    concurrency: int
    started_at: datetime
    heartbeat_at: datetime
    stopped_at: datetime | None
    live: bool
    running_task_ids: tuple[int, ...]
    task_types: tuple[str, ...] | None = None  # None: every type

    @classmethod
    def from_row(cls, row: Mapping[Any, Any], running: tuple[int, ...], live_after: datetime) -> WorkerRecord:
        """A ``workers`` row, with the tasks it runs; ``live``: not stopped, and a heartbeat after ``live_after``."""
        return cls(
            id=row["id"],
            hostname=row["hostname"],
            pid=row["pid"],
            concurrency=row["concurrency"],
            task_types=None if row["task_types"] is None else tuple(row["task_types"]),
            started_at=row["started_at"],
            heartbeat_at=row["heartbeat_at"],
            stopped_at=row["stopped_at"],
            live=row["stopped_at"] is None and row["heartbeat_at"] >= live_after,
            running_task_ids=running,
        )
