"""Claiming tasks, one or a batch, and recording a batch of completions in one transaction: the parts of
:meth:`TaskQueue.claim_batch <stenograph.queue.manager.TaskQueue.claim_batch>` and
:meth:`~stenograph.queue.manager.TaskQueue.complete_batch` that run inside their transaction.

A claim is one ``UPDATE ... WHERE id = (SELECT ... LIMIT 1) RETURNING``: on SQLite inside
``BEGIN IMMEDIATE`` (the write lock is held from the start), on PostgreSQL with ``FOR UPDATE SKIP LOCKED``.

Batches are for tasks that take milliseconds. Two short transactions per task (claim, complete) cost
more than such a task itself, so a worker claims up to ``limit`` of them in one transaction and records
their completions together (the prefetch of Celery's workers, with leases kept): every task of a batch
is ``running`` under the worker's id and lease from the claim on, its heartbeat renews every lease of the
batch, and each completion is still guarded by worker id and attempt. A batch is the next runnable task,
followed, when its type is ``batchable``, by the runnable tasks after it in claim order while their types
are batchable too; a task of another type ends it. So a task not known to be short is claimed alone: a
long task never waits behind a batch, and short ones never wait behind a long one.

The batch statements are driver-level SQL whose status conditions come from the guard
(:func:`~stenograph.queue.statements.status_guard_sql`), as the single claim's come from
:func:`~stenograph.queue.statements.status_guard`.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from stenograph.queue.driver import ATTEMPTS_AT, ID_AT, MAX_ATTEMPTS_AT, DriverSQL
from stenograph.queue.records import TaskRecord
from stenograph.queue.statements import CLAIM_MANY, COMPLETE, HELD, HELD_FOR_UPDATE
from stenograph.queue.states import TaskStatus
from stenograph.queue.transitions import Event, write_events

P, R, C = TaskStatus.PENDING, TaskStatus.RUNNING, TaskStatus.COMPLETED

#: A claim statement's key: its set of types (None: any), sorted.
TypesKey = tuple[str, ...] | None


@dataclass(frozen=True, slots=True)
class FinishedRun:
    """A successful attempt as its worker saw it: times are aware UTC datetimes."""

    task_id: int
    attempt: int
    result: dict[str, Any] | None
    started_at: datetime
    finished_at: datetime


def claim_order(record: TaskRecord) -> tuple[int, datetime, datetime, int]:
    """The claim's order as a sort key: priority (higher first), then run_after, then age."""
    return (-record.priority, record.run_after, record.created_at, record.id)


def claim_event(record: TaskRecord, at: Any, worker_id: str) -> Event:
    """The event of a claim (pending → running) of ``record``."""
    return (record.id, at, P.value, R.value, worker_id, f"attempt {record.attempts}/{record.max_attempts}")


def pick_batch(candidates: Iterable[Sequence[Any]], batchable: Collection[str], only_batchable: bool) -> list[int]:
    """The ids of a batch among ``candidates`` ((id, type), in claim order): the first, then those after it
    while batchable; a first task not batchable comes alone (none with ``only_batchable``)."""
    ids: list[int] = []
    for task_id, task_type in candidates:
        if task_type not in batchable:
            if not ids and not only_batchable:
                ids.append(task_id)  # alone: a task not known to be short
            break
        ids.append(task_id)
    return ids


def claim_ids(
    conn: Connection,
    driver: DriverSQL,
    ids: Sequence[int],
    *,
    worker_id: str,
    first: int,
    at: Any,
    lease_until: Any,
) -> Sequence[Any]:
    """Claim the tasks ``ids`` (still pending) for ``worker_id``, with one event each; ``first`` starts at
    once (-1: none). Returns their raw rows of :data:`~stenograph.queue.statements.COLUMNS`."""
    rows = conn.exec_driver_sql(driver.sql(CLAIM_MANY, len(ids)), (worker_id, first, at, lease_until, at, *ids)).all()
    events = [
        (row[ID_AT], at, P.value, R.value, worker_id, f"attempt {row[ATTEMPTS_AT]}/{row[MAX_ATTEMPTS_AT]}")
        for row in rows
    ]
    write_events(conn, driver, events)
    return rows


def completion_params(
    driver: DriverSQL, worker_id: str, runs: Sequence[FinishedRun], now: datetime
) -> dict[int, tuple[Any, ...]]:
    """Per task id, the parameters of its completion (made before the transaction, so that the write lock
    is held for the database's own work only)."""
    time, json, at = driver.time, driver.json, driver.time(now)
    return {
        run.task_id: (
            json(run.result),
            time(run.started_at),
            time(run.finished_at),
            max((run.finished_at - run.started_at).total_seconds(), 0.0),
            at,
            run.task_id,
            worker_id,
            run.attempt,
        )
        for run in runs
    }


def complete_held(
    conn: Connection,
    driver: DriverSQL,
    worker_id: str,
    runs: Sequence[FinishedRun],
    params: dict[int, tuple[Any, ...]],
    at: Any,
) -> list[int]:
    """running → completed for the ``runs`` this worker still holds at their attempt (locked on PostgreSQL
    until the commit), with one event each. Returns their ids."""
    attempt = {run.task_id: run.attempt for run in runs}
    held_sql = driver.sql(HELD_FOR_UPDATE if driver.postgres else HELD, len(params))
    held = conn.exec_driver_sql(held_sql, (*params, worker_id)).all()
    ids = [task_id for task_id, attempts in held if attempt[task_id] == attempts]
    if ids:
        conn.exec_driver_sql(driver.sql(COMPLETE), [params[task_id] for task_id in ids])
        write_events(conn, driver, [(task_id, at, R.value, C.value, worker_id, None) for task_id in ids])
    return ids
