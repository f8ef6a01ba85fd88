"""Use cases of tasks: list, read, cancel, retry, delete, simulated test tasks, workers, changes."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Literal

from sqlalchemy import select

from stenograph.db.models import Recording
from stenograph.errors import echo
from stenograph.queue import TaskRecord, WorkerRecord
from stenograph.service.base import ServiceBase
from stenograph.service.errors import ServiceError
from stenograph.service.views import TaskDetailView, TaskView
from stenograph.steps.registry import TASK_TYPES


def check_task_type(task_type: str) -> None:
    """Raises ServiceError (invalid) for a type no handler runs."""
    if task_type not in TASK_TYPES:
        raise ServiceError(
            "invalid", "unknown_task_type", f"unknown task type {echo(task_type)}; allowed: {', '.join(TASK_TYPES)}"
        )


class TaskUseCases(ServiceBase):
    def task_views(self, records: Sequence[TaskRecord]) -> list[TaskView]:
        """The tasks with their recordings' names (one query for all of them, none when no task has one)."""
        names = self.recording_names(r.recording_id for r in records if r.recording_id is not None)
        return [TaskView(r, names.get(r.recording_id) if r.recording_id is not None else None) for r in records]

    def recording_names(self, recording_ids: Iterable[int]) -> dict[int, str]:
        ids = set(recording_ids)
        if not ids:
            return {}
        with self.engine.connect() as conn:
            rows = conn.execute(select(Recording.id, Recording.name).where(Recording.id.in_(ids))).all()
        return {int(recording_id): str(name) for recording_id, name in rows}

    def list_tasks(
        self,
        *,
        status: str | None = None,
        type: str | None = None,
        recording_id: int | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> tuple[list[TaskView], int]:
        """Tasks newest first, and how many match. Raises ServiceError for an unknown ``type``."""
        if type is not None:
            check_task_type(type)
        records, count = self.queue.list_tasks(
            status=status, type=type, recording_id=recording_id, limit=limit, offset=offset
        )
        return self.task_views(records), count

    def task_record(self, task_id: int) -> TaskRecord:
        """The task alone (a cheap read for a front end waiting on it). Raises NotFoundError."""
        return self.queue.get(task_id)

    def get_task(self, task_id: int) -> TaskDetailView:
        """The task and its history. Raises NotFoundError."""
        record = self.queue.get(task_id)
        return TaskDetailView(self.task_views([record])[0], self.queue.events(task_id))

    def cancel_task(self, task_id: int) -> tuple[TaskView, Literal["cancelled", "requested"]]:
        """Cancel a pending task, or ask a running one to stop (its worker is woken to see it).

        Raises:
            NotFoundError, TransitionError: no such task, or it is finished.
        """
        record, outcome = self.queue.cancel(task_id)
        if outcome == "requested":
            self.queue.notify()  # the worker checks cancel flags when woken
        return self.task_views([record])[0], outcome

    def retry_task(self, task_id: int) -> TaskView:
        """A failed or cancelled task goes back to pending with a fresh attempt budget."""
        return self.task_views([self.queue.retry(task_id)])[0]

    def delete_task(self, task_id: int) -> None:
        """Delete a task that is not running (TransitionError while it runs)."""
        self.queue.delete(task_id)

    def create_test_task(
        self,
        task_type: str,
        *,
        seconds: float = 3.0,
        fail: bool | Literal["retryable", "permanent"] = False,
        priority: int = 0,
    ) -> TaskView:
        """A task of a pipeline type whose handler only simulates work with progress (cancellable)."""
        check_task_type(task_type)
        record = self.queue.enqueue(task_type, {"simulate": {"seconds": seconds, "fail": fail}}, priority=priority)
        return self.task_views([record])[0]

    def workers(self) -> list[WorkerRecord]:
        """Workers seen in the last hour; ``live`` when their heartbeat is fresh."""
        return self.queue.workers()

    def any_worker_live(self) -> bool:
        return any(worker.live for worker in self.queue.workers())

    def changed_since(self, since: datetime) -> list[TaskView]:
        """Tasks updated at or after ``since``, oldest change first (the event stream)."""
        return self.task_views(self.queue.changed_since(since))
