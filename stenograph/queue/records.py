"""Read-only views of rows, as the API shows them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from stenograph.queue.states import TaskStatus, allowed_actions


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

    def to_api(self) -> dict[str, Any]:
        """The task's JSON shape (see the API documentation)."""
        return {
            "id": self.id,
            "type": self.type,
            "status": self.status,
            "priority": self.priority,
            "params": self.params,
            "result": self.result,
            "error": {"kind": self.error_kind, "message": self.error_message} if self.error_kind else None,
            "attempts": self.attempts,
            "max_attempts": self.max_attempts,
            "run_after": iso(self.run_after),
            "created_at": iso(self.created_at),
            "started_at": iso(self.started_at),
            "finished_at": iso(self.finished_at),
            "updated_at": iso(self.updated_at),
            "duration_s": self.duration_s,
            "worker_id": self.worker_id,
            "lease_expires_at": iso(self.lease_expires_at),
            "progress": self.progress,
            "progress_message": self.progress_message,
            "eta_s": self.eta_s,
            "cancel_requested": self.cancel_requested,
            "depends_on": self.depends_on,
            "recording_id": self.recording_id,
            "affinity": self.affinity,
            "actions": allowed_actions(self.status),
        }


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

    def to_api(self) -> dict[str, Any]:
        return {
            "at": iso(self.at),
            "from_status": self.from_status,
            "to_status": self.to_status,
            "worker_id": self.worker_id,
            "message": self.message,
        }


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

    def to_api(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "hostname": self.hostname,
            "pid": self.pid,
            "concurrency": self.concurrency,
            "started_at": iso(self.started_at),
            "heartbeat_at": iso(self.heartbeat_at),
            "stopped_at": iso(self.stopped_at),
            "live": self.live,
            "running_task_ids": list(self.running_task_ids),
            "task_types": None if self.task_types is None else list(self.task_types),
        }
