"""The status changes a worker or a person asks for that take more than one statement, as functions over a
connection (their transaction is :class:`~stenograph.queue.manager.TaskQueue`'s). Every status change goes
through :func:`~stenograph.queue.transitions.transition`."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Connection

from stenograph import clock
from stenograph.errors import TransitionError
from stenograph.queue.dependencies import cascade
from stenograph.queue.driver import DriverSQL
from stenograph.queue.records import TaskRecord
from stenograph.queue.retry import decide_retry
from stenograph.queue.statements import DELETE_EDGES, DELETE_EVENTS, DELETE_TASK, REQUEST_CANCEL, UNLINK_DEPENDANTS, T
from stenograph.queue.states import TaskStatus
from stenograph.queue.transitions import current, finished, reset_run_values, transition, write_event

P, R, F, X = TaskStatus.PENDING, TaskStatus.RUNNING, TaskStatus.FAILED, TaskStatus.CANCELLED


def fail_attempt(
    conn: Connection,
    driver: DriverSQL,
    task_id: int,
    worker: tuple[str, int],
    *,
    kind: str,
    message: str,
    retryable: bool,
    backoff: tuple[float, float],
) -> TaskRecord:
    """A failed attempt of ``worker`` (worker id, attempt): pending after a backoff ((base, cap) seconds),
    or failed with its dependants that require it."""
    now = clock.now()
    row = current(conn, driver, task_id)
    decision = decide_retry(
        retryable=retryable,
        attempts=row["attempts"],
        max_attempts=row["max_attempts"],
        base=backoff[0],
        cap=backoff[1],
    )
    if decision.retry:
        run_after = now + timedelta(seconds=decision.delay_s)
        values = {**reset_run_values(), "run_after": run_after, "error_kind": kind, "error_message": message}
        why = f"attempt {worker[1]} failed ({kind}: {message}); retry in {decision.delay_s:.1f} s"
        return transition(conn, driver, task_id, P, values, worker=worker, message=why)
    ended = finished(now, error_kind=kind, error_message=message)
    why = f"{kind}: {message} ({decision.reason})"
    record = transition(conn, driver, task_id, F, ended, worker=worker, message=why)
    cascade(conn, driver, record, now)
    return record


def release_run(conn: Connection, driver: DriverSQL, task_id: int, worker: tuple[str, int], message: str) -> TaskRecord:
    """running → pending without counting the attempt; cancelled instead when a cancel was requested (it
    has not run, or its run is given up), with the dependants that require it."""
    if current(conn, driver, task_id)["cancel_requested"]:
        never_ran: dict[str, Any] = {"started_at": None, "duration_s": None, "eta_s": None}
        never_ran |= {"finished_at": clock.now(), "lease_expires_at": None}
        record = transition(conn, driver, task_id, X, never_ran, worker=worker, message=message)
        cascade(conn, driver, record, clock.now())
        return record
    values = {**reset_run_values(), "attempts": T.c.attempts - 1}
    return transition(conn, driver, task_id, P, values, worker=worker, message=message)


def cancel_once(
    conn: Connection, driver: DriverSQL, task_id: int, now: datetime
) -> tuple[TaskRecord, Literal["cancelled", "requested"]] | None:
    """One try at cancelling: a pending task at once (with the dependants that require it), a running one
    by request.
    None: the task changed under us (claimed between the read and the update); try again.

    Raises:
        NotFoundError, TransitionError (the task has finished).
    """
    row = current(conn, driver, task_id)
    if row["status"] == P:
        try:
            record = transition(
                conn, driver, task_id, X, {"finished_at": now}, sources=(P,), message="cancelled while pending"
            )
        except TransitionError:
            return None
        cascade(conn, driver, record, now)
        return record, "cancelled"
    if row["status"] == R and row["cancel_requested"]:
        return TaskRecord.from_row(row), "requested"  # asked already: nothing new to log
    if row["status"] == R:
        requested = conn.execute(REQUEST_CANCEL, {"task_id": task_id, "b_now": now}).mappings().first()
        if requested is None:
            return None
        # Not a status change (it stays running until its handler stops): an event running -> running.
        write_event(conn, driver, task_id, R, R, requested["worker_id"], "cancel requested", now)
        return TaskRecord.from_row(requested), "requested"
    raise TransitionError(
        f"task {task_id} is {row['status']}: only pending or running tasks can be cancelled",
        task_id=task_id,
        status=row["status"],
    )


def delete_task(conn: Connection, driver: DriverSQL, task_id: int, now: datetime) -> None:
    """Delete a task that is not running, with its history and edges; its pending dependants that require it
    are cancelled (the others no longer wait for it).

    Raises:
        NotFoundError, TransitionError (running: cancel it first).
    """
    row = current(conn, driver, task_id)
    if row["status"] == R:
        raise TransitionError(
            f"task {task_id} is running; cancel it and wait for it to stop before deleting it",
            task_id=task_id,
            status=R,
        )
    cascade(conn, driver, TaskRecord.from_row(row), now, forced_status=X)
    for stmt in (DELETE_EVENTS, DELETE_EDGES, UNLINK_DEPENDANTS, DELETE_TASK):
        conn.execute(stmt, {"task_id": task_id})
