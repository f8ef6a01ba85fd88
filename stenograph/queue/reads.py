"""Reading tasks: one task, its history, lists and recent changes (for the API and the event stream)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Engine, func, select
from sqlalchemy.sql.elements import ColumnElement

from stenograph.db.models import events_table, tasks_table
from stenograph.errors import NotFoundError
from stenograph.queue.records import TaskEventRecord, TaskRecord

T = tasks_table
E = events_table


class TaskReads:
    """Read-only queries of :class:`~stenograph.queue.manager.TaskQueue`."""

    engine: Engine

    def get(self, task_id: int) -> TaskRecord:
        """The task. Raises NotFoundError."""
        with self.engine.connect() as conn:
            row = conn.execute(select(T).where(T.c.id == task_id)).mappings().first()
        if row is None:
            raise NotFoundError(f"no task {task_id}")
        return TaskRecord.from_row(row)

    def events(self, task_id: int) -> list[TaskEventRecord]:
        """The task's history, oldest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(E.c.at, E.c.from_status, E.c.to_status, E.c.worker_id, E.c.message)
                .where(E.c.task_id == task_id)
                .order_by(E.c.id)
            ).mappings()
            return [TaskEventRecord(**row) for row in rows]

    def list_tasks(
        self,
        *,
        status: str | None = None,
        type: str | None = None,
        recording_id: int | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> tuple[list[TaskRecord], int]:
        """Tasks newest first, and the number matching the filters."""
        where: list[ColumnElement[bool]] = []
        if status:
            where.append(T.c.status == status)
        if type:
            where.append(T.c.type == type)
        if recording_id is not None:
            where.append(T.c.recording_id == recording_id)
        with self.engine.connect() as conn:
            count = conn.execute(select(func.count()).select_from(T).where(*where)).scalar_one()
            rows = conn.execute(
                select(T).where(*where).order_by(T.c.created_at.desc(), T.c.id.desc()).limit(limit).offset(offset)
            ).mappings()
            return [TaskRecord.from_row(r) for r in rows], count

    def tasks_of_recordings(self, recording_ids: Iterable[int]) -> dict[int, list[TaskRecord]]:
        """The tasks of each of ``recording_ids``, oldest first, in one query (ids without tasks map to [])."""
        ids = list(dict.fromkeys(recording_ids))
        found: dict[int, list[TaskRecord]] = {recording_id: [] for recording_id in ids}
        if not ids:
            return found
        with self.engine.connect() as conn:
            rows = conn.execute(select(T).where(T.c.recording_id.in_(ids)).order_by(T.c.id)).mappings()
            for row in rows:
                found[row["recording_id"]].append(TaskRecord.from_row(row))
        return found

    def changed_since(self, since: datetime) -> list[TaskRecord]:
        """Tasks updated at or after ``since``, oldest change first (for the event stream)."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(T).where(T.c.updated_at >= since).order_by(T.c.updated_at, T.c.id)).mappings()
            return [TaskRecord.from_row(r) for r in rows]

    def cancel_requested(self, task_ids: Iterable[int]) -> set[int]:
        """Which of ``task_ids`` have a cancel request (a cheap read the worker makes every second)."""
        ids = list(task_ids)
        if not ids:
            return set()
        with self.engine.connect() as conn:
            rows = conn.execute(select(T.c.id).where(T.c.id.in_(ids), T.c.cancel_requested.is_(True)))
            return set(rows.scalars().all())
