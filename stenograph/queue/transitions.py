"""The one guarded status change, and the column values the queue's changes set.

:func:`transition` runs ``UPDATE ... WHERE id AND status IN sources [AND worker, attempt] [AND extra]``
(built by :func:`~stenograph.queue.statements.transition_update`, whose status condition comes from the
guard :func:`~stenograph.queue.statements.status_guard`); when no row matches, nothing changes and
:class:`~stenograph.errors.TransitionError` says what the task's status is. Every change is appended to
``task_events`` in the same transaction (the pattern of procrastinate's ``procrastinate_finish_job`` and
its events table).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.sql.elements import ColumnElement

from stenograph import clock
from stenograph.errors import NotFoundError, TransitionError
from stenograph.queue.driver import DriverSQL
from stenograph.queue.records import TaskRecord
from stenograph.queue.statements import (
    INSERT_EVENT,
    SELECT_TASK,
    SELECT_TASK_FOR_UPDATE,
    status_guard,
    transition_update,
)
from stenograph.queue.states import TaskStatus

R = TaskStatus.RUNNING

#: A change's column values, or a function of the task's current row that gives them.
Values = Mapping[str, Any] | Callable[[Mapping[Any, Any]], Mapping[str, Any]]
#: An event row: task id, at (as the driver stores it), from status, to status, worker id, message.
Event = tuple[int, Any, str | None, str, str | None, str | None]


def current(conn: Connection, driver: DriverSQL, task_id: int) -> Mapping[Any, Any]:
    """The task's row (locked until the commit on PostgreSQL). Raises NotFoundError."""
    stmt = SELECT_TASK_FOR_UPDATE if driver.postgres else SELECT_TASK
    row = conn.execute(stmt, {"task_id": task_id}).mappings().first()
    if row is None:
        raise NotFoundError(f"no task {task_id}")
    return row


def write_events(conn: Connection, driver: DriverSQL, events: Sequence[Event]) -> None:
    """Append ``events`` to ``task_events`` (one statement, many rows)."""
    if events:
        conn.exec_driver_sql(driver.sql(INSERT_EVENT), list(events) if len(events) > 1 else events[0])


def write_event(
    conn: Connection,
    driver: DriverSQL,
    task_id: int,
    from_status: str | None,
    to_status: str,
    worker_id: str | None,
    message: str | None,
    at: datetime,
) -> None:
    """Append one event to ``task_events``."""
    write_events(conn, driver, [(task_id, driver.time(at), from_status, to_status, worker_id, message)])


def transition(
    conn: Connection,
    driver: DriverSQL,
    task_id: int,
    to: TaskStatus,
    values: Values,
    *,
    sources: Iterable[TaskStatus] = (R,),
    worker: tuple[str, int] | None = None,
    extra: ColumnElement[bool] | None = None,
    message: str | None,
) -> TaskRecord:
    """The one guarded status change of one task, with its event (written through ``driver``).

    Args:
        sources: the statuses the task may come from.
        worker: (worker id, attempt) the worker making the change must hold.
        extra: a further condition of the UPDATE (a lease that expired, an attempt).

    Raises:
        TransitionError: ``sources`` → ``to`` is illegal, or the task is in none of ``sources`` (or held
            by another worker or attempt, or ``extra`` is false); nothing changed.
        NotFoundError: no such task.
    """
    guard = status_guard(sources, to, task_id)  # raises on an illegal transition, before anything is read
    now = clock.now()
    row_before = current(conn, driver, task_id)
    resolved = values(row_before) if callable(values) else values
    stmt = transition_update(task_id, guard, to, {"updated_at": now, **resolved}, worker=worker, extra=extra)
    row = conn.execute(stmt).mappings().first()
    if row is None:
        held = ""
        if worker is not None and row_before["status"] == R:
            held = f" (held by worker {row_before['worker_id']}, attempt {row_before['attempts']}; we are "
            held += f"{worker[0]}, attempt {worker[1]})"
        raise TransitionError(
            f"task {task_id} is {row_before['status']}{held}: cannot move it to {to}",
            task_id=task_id,
            status=row_before["status"],
        )
    worker_id = worker[0] if worker else row["worker_id"]
    write_event(conn, driver, task_id, row_before["status"], to, worker_id, message, now)
    return TaskRecord.from_row(row)


def reset_run_values() -> dict[str, Any]:
    """Column values of a task going back to pending."""
    return {
        "worker_id": None,
        "lease_expires_at": None,
        "finished_at": None,
        "eta_s": None,
        "progress_message": None,
        "progress": 0.0,
    }


def reopen_values() -> dict[str, Any]:
    """Column values of a finished task reopened by a retry: a fresh attempt budget."""
    return {
        **reset_run_values(),
        "attempts": 0,
        "run_after": clock.now(),
        "error_kind": None,
        "error_message": None,
        "result": None,
        "cancel_requested": False,
        "started_at": None,
        "duration_s": None,
        "progress": 0.0,
    }


def finished(now: datetime, **values: Any) -> Callable[[Mapping[Any, Any]], dict[str, Any]]:
    """The values of a run ending at ``now`` (finished, its duration, no lease, no ETA) plus ``values``,
    as a function of the task's current row (for :func:`transition`)."""

    def of(row: Mapping[Any, Any]) -> dict[str, Any]:
        started = row["started_at"]
        return {
            "finished_at": now,
            "duration_s": (now - started).total_seconds() if started is not None else None,
            "lease_expires_at": None,
            "eta_s": None,
            "progress_message": None,  # a phase's message ("waiting for the LLM server") is stale once it ends
            **values,
        }

    return of
