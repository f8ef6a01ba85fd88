"""``TaskQueue``: every operation on tasks, one method each, each a short transaction.

Every status change goes through :meth:`TaskQueue._transition`, whose UPDATE names the statuses the task
may come from and, for changes a worker makes, the worker id and attempt it expects; when no row
matches, nothing changes and :class:`~stenograph.errors.TransitionError` says what the task's status
is. Every change is appended to ``task_events`` in the same transaction (the pattern of procrastinate's
``procrastinate_finish_job`` and its events table).

Claiming, one task or a batch, and a batch's completions live in :mod:`stenograph.queue.claims`. No
transaction is held while a task runs: a running task holds a lease that its worker renews
(:meth:`heartbeat`); :meth:`expire_leases` returns tasks whose lease ran out.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Connection, Engine, and_, bindparam, delete, or_, select, update
from sqlalchemy.sql.elements import ColumnElement

from stenograph import clock
from stenograph.db.engine import sqlite_connect
from stenograph.db.models import TASK_IS_RUNNING, dependencies_table, events_table, tasks_table, workers_table
from stenograph.errors import NotFoundError, TransitionError
from stenograph.queue.claims import Claims
from stenograph.queue.dependencies import (
    DEPENDENCY_CANCELLED,
    DEPENDENCY_FAILED,
    Dependencies,
    reopen_values,
    reset_run_values,
)
from stenograph.queue.driver import INSERT_CHUNK, INSERT_EDGE, INSERT_EVENT, TaskSpec, insert_tasks_sql
from stenograph.queue.reads import TaskReads
from stenograph.queue.records import TaskRecord
from stenograph.queue.retry import decide_retry
from stenograph.queue.states import FINISHED, TaskStatus, check_transition
from stenograph.queue.wakeup import WorkersNotifier
from stenograph.queue.workers import WorkerRegistry
from stenograph.settings import Settings

log = logging.getLogger("stenograph.queue")

T = tasks_table
E = events_table
W = workers_table
D = dependencies_table

P, R, C, F, X = (
    TaskStatus.PENDING,
    TaskStatus.RUNNING,
    TaskStatus.COMPLETED,
    TaskStatus.FAILED,
    TaskStatus.CANCELLED,
)


Values = Mapping[str, Any] | Callable[[Mapping[Any, Any]], Mapping[str, Any]]


class TaskQueue(Claims, TaskReads, WorkerRegistry, Dependencies):
    """The queue's operations over one engine (SQLite or PostgreSQL).

    Args:
        engine: from :func:`stenograph.db.create_db_engine`, migrated.
        settings: lease length, attempts and backoff.
        notify: called after a commit that made a task runnable (wakes local workers).
    """

    def __init__(self, engine: Engine, settings: Settings, notify: Callable[[], None] | None = None) -> None:
        self.engine = engine
        self.settings = settings
        self._notify = notify or (lambda: None)
        self._postgres = engine.dialect.name == "postgresql"

    def notify(self) -> None:
        """Wake local workers (after a commit that made tasks runnable outside :meth:`enqueue`)."""
        self._notify()

    # ------------------------------------------------------------------------------------------
    # enqueueing
    def enqueue(
        self,
        type: str,
        params: dict[str, Any] | None = None,
        *,
        priority: int = 0,
        max_attempts: int | None = None,
        depends_on: int | Sequence[int] | None = None,
        after: Sequence[int] = (),
        recording_id: int | None = None,
        affinity: str | None = None,
        run_after: datetime | None = None,
        conn: Connection | None = None,
    ) -> TaskRecord:
        """Add a pending task, log its ``enqueued`` event and wake idle workers (after the commit, or with
        ``conn``'s commit on PostgreSQL; with ``conn`` on SQLite call :meth:`notify` after committing).

        Args:
            depends_on: the task(s) it requires: it runs once they have all completed, and fails (is
                cancelled) when one of them fails (is cancelled).
            after: tasks it waits for without requiring them: it runs once each has completed or failed,
                and is cancelled with them.
            affinity: the data directory id whose workers must run it (see :mod:`stenograph.datadir`).
            conn: a transaction to enqueue in (with other writes); default a transaction of its own.

        A task whose requirement already failed (was cancelled) is created failed (cancelled) at once.

        Raises:
            NotFoundError: a dependency names no task.
        """
        spec = TaskSpec(type, params, priority, max_attempts, depends_on, after, recording_id, affinity, run_after)
        return self.enqueue_many([spec], conn=conn)[0]

    def enqueue_many(self, specs: Sequence[TaskSpec], *, conn: Connection | None = None) -> list[TaskRecord]:
        """Add many tasks in one transaction (multi-row inserts), one ``enqueued`` event each, and wake idle
        workers once. Returns their records in the order of ``specs``.

        Raises:
            NotFoundError: a dependency names no task.
        """
        if not specs:
            return []
        if conn is not None:
            return self._insert(_SQLAlchemyRun(conn), specs, self._creation_outcomes(conn, specs))
        if any(spec.edges() for spec in specs):
            with self.engine.begin() as own:
                records = self._insert(_SQLAlchemyRun(own), specs, self._creation_outcomes(own, specs))
        else:  # the hot path: straight on the driver's connection (SQLAlchemy's per-call work cost more)
            records = self._insert_on_driver(specs)
        self._wake_after_commit()
        return records

    def _insert_on_driver(self, specs: Sequence[TaskSpec]) -> list[TaskRecord]:
        """Insert tasks without dependencies in a transaction of the DBAPI connection itself (on SQLite, a
        connection of this thread's own, kept: the pool's checkout and return cost as much as the insert)."""
        if not self._postgres:
            return self._insert_on_sqlite(specs)
        raw = self.engine.raw_connection()
        try:
            cursor = raw.cursor()
            if not self._postgres:
                cursor.execute("BEGIN IMMEDIATE")  # as the engine's transactions begin (see stenograph.db.engine)
            fresh: tuple[str, str | None, str | None] = (P.value, None, None)
            records = self._insert(_DriverRun(cursor), specs, [fresh] * len(specs))
            raw.commit()
        except BaseException:
            raw.rollback()
            raise
        finally:
            raw.close()
        return records

    def _insert_on_sqlite(self, specs: Sequence[TaskSpec]) -> list[TaskRecord]:
        connection = self._enqueue_connection()
        connection.execute("BEGIN IMMEDIATE")
        try:
            fresh: tuple[str, str | None, str | None] = (P.value, None, None)
            records = self._insert(_DriverRun(connection.cursor()), specs, [fresh] * len(specs))
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        return records

    def _enqueue_connection(self) -> Any:
        """This thread's SQLite connection for enqueueing, opened as the engine opens its own."""
        local = self.__dict__.setdefault("_threads", threading.local())
        connection = getattr(local, "connection", None)
        if connection is None:
            connection = local.connection = sqlite_connect(self.engine)
        return connection

    def _wake_after_commit(self) -> None:
        notifier = self._notify
        if isinstance(notifier, WorkersNotifier) and notifier.postgres:
            notifier.local()  # the NOTIFY went with the insert (pg_notify)
        else:
            notifier()

    def _insert(
        self, run: _Run, specs: Sequence[TaskSpec], outcomes: Sequence[tuple[str, str | None, str | None]]
    ) -> list[TaskRecord]:
        """The inserts of ``specs`` (with their ``outcomes``: status, error kind, message), their events and
        dependency edges, through ``run``; the records in the order of ``specs``."""
        now = clock.now()
        driver = self._driver
        at = driver.time(now)
        default_attempts = self.settings.max_attempts
        rows: list[tuple[Any, ...]] = []
        for spec, (status, error_kind, message) in zip(specs, outcomes, strict=True):
            required = spec.required()
            rows.append(
                (
                    spec.type,
                    status,
                    spec.priority,
                    driver.json(spec.params or {}),
                    error_kind,
                    message,
                    spec.max_attempts or default_attempts,
                    driver.time(spec.run_after) if spec.run_after is not None else at,
                    at,
                    at,
                    None if status == "pending" else at,
                    False,
                    required[0] if required else None,
                    spec.recording_id,
                    spec.affinity,
                )
            )
        ids: list[int] = []
        notify = isinstance(self._notify, WorkersNotifier) and self._postgres
        for start in range(0, len(rows), INSERT_CHUNK):
            chunk = rows[start : start + INSERT_CHUNK]
            returned = run.rows(self._insert_sql(len(chunk), notify), tuple(value for row in chunk for value in row))
            ids += sorted(int(row[0]) for row in returned)  # ids grow in the order of the rows
        if not self._postgres:  # on PostgreSQL the insert statement wrote the events too
            events = [(i, at, None, row[1], None, row[5] or "enqueued") for i, row in zip(ids, rows, strict=True)]
            run.many(driver.sql(INSERT_EVENT), events)
        # The records from the values written (decoding the rows back costs more than the insert).
        records = [
            TaskRecord(
                task_id, spec.type, TaskStatus(row[1]), spec.priority, spec.params or {}, None, row[4], row[5],
                0, row[6], spec.run_after or now, now, now, None, None if row[10] is None else now, None, None,
                None, 0.0, None, None, False, row[12], spec.recording_id, spec.affinity,
            )
            for task_id, spec, row in zip(ids, specs, rows, strict=True)
        ]  # fmt: skip
        edges = [
            (record.id, dep, must)
            for spec, record in zip(specs, records, strict=True)
            for dep, must in spec.edges().items()
        ]
        if edges:
            run.many(driver.sql(INSERT_EDGE), edges)
        return records

    def _insert_sql(self, rows: int, notify: bool) -> str:
        """The insert statement of ``rows`` tasks, built once per size (see :func:`insert_tasks_sql`)."""
        cache: dict[tuple[int, bool], str] = self.__dict__.setdefault("_insert_cache", {})
        sql = cache.get((rows, notify))
        if sql is None:
            sql = cache[(rows, notify)] = self._driver.sql(
                insert_tasks_sql(rows, postgres=self._postgres, notify=notify)
            )
        return sql

    def _creation_outcomes(
        self, conn: Connection, specs: Sequence[TaskSpec]
    ) -> list[tuple[str, str | None, str | None]]:
        """Per spec: (status, error kind, message): pending, or failed/cancelled at once when a dependency
        already is.

        Raises:
            NotFoundError: a dependency names no task.
        """
        wanted = {dep for spec in specs for dep in spec.edges()}
        found: dict[int, Any] = {}
        if wanted:
            rows = conn.execute(select(T.c.id, T.c.status, T.c.type).where(T.c.id.in_(wanted)))
            found = {row.id: row for row in rows}
            missing = sorted(wanted - set(found))
            if missing:
                raise NotFoundError(f"task {missing[0]} (a dependency) does not exist")
        outcomes: list[tuple[str, str | None, str | None]] = []
        for spec in specs:
            outcome: tuple[str, str | None, str | None] = (P.value, None, None)
            for dep_id, must in spec.edges().items():
                dep = found[dep_id]
                if dep.status == X:
                    outcome = (
                        X.value,
                        DEPENDENCY_CANCELLED,
                        f"depends on task {dep_id} ({dep.type}), which was cancelled",
                    )
                    break
                if dep.status == F and must:
                    outcome = (F.value, DEPENDENCY_FAILED, f"depends on task {dep_id} ({dep.type}), which failed")
                    break
            outcomes.append(outcome)
        return outcomes

    # ------------------------------------------------------------------------------------------
    # the worker's side
    def heartbeat(self, worker_id: str, running: Mapping[int, int]) -> dict[int, bool]:
        """Renew the leases of ``running`` ({task id: attempt}) and the worker's heartbeat.

        Returns:
            {task id: cancel_requested} for each task whose lease this worker still holds; a task
            missing from the answer was lost (its lease expired and it was taken back).
        """
        now = clock.now()
        held: dict[int, bool] = {}
        with self.engine.begin() as conn:
            conn.execute(update(W).where(W.c.id == worker_id).values(heartbeat_at=now))
            if running:
                rows = conn.execute(
                    _RENEW_LEASES,
                    {
                        "ids": list(running),
                        "b_worker": worker_id,
                        "b_lease": now + timedelta(seconds=self.settings.lease_seconds),
                    },
                )
                held = {row.id: bool(row.cancel_requested) for row in rows if running[row.id] == row.attempts}
        return held

    def report_progress(
        self,
        task_id: int,
        worker_id: str,
        attempt: int,
        fraction: float,
        message: str | None = None,
        eta_s: float | None = None,
    ) -> bool | None:
        """Store progress (``fraction`` clamped to [0, 1]). Returns cancel_requested, None if lost."""
        now = clock.now()
        with self.engine.begin() as conn:
            row = conn.execute(
                update(T)
                .where(T.c.id == task_id, T.c.status == R, T.c.worker_id == worker_id, T.c.attempts == attempt)
                .values(
                    progress=min(max(fraction, 0.0), 1.0),
                    progress_message=message,
                    eta_s=eta_s,
                    updated_at=now,
                )
                .returning(T.c.cancel_requested)
            ).first()
        return None if row is None else bool(row.cancel_requested)

    def report_progress_many(
        self, worker_id: str, progress: Mapping[int, tuple[int, float, str | None, float | None]]
    ) -> None:
        """Store the progress of several tasks in one transaction: ``{task id: (attempt, fraction, message,
        eta_s)}``; a task this worker no longer holds is left alone (its heartbeat says it was lost)."""
        now = clock.now()
        with self.engine.begin() as conn:
            for task_id, (attempt, fraction, message, eta_s) in progress.items():
                conn.execute(
                    update(T)
                    .where(T.c.id == task_id, TASK_IS_RUNNING, T.c.worker_id == worker_id, T.c.attempts == attempt)
                    .values(
                        progress=min(max(fraction, 0.0), 1.0), progress_message=message, eta_s=eta_s, updated_at=now
                    )
                )

    def complete(self, task_id: int, worker_id: str, attempt: int, result: dict[str, Any] | None) -> TaskRecord:
        """running → completed. Raises TransitionError when the worker no longer holds the task."""
        now = clock.now()
        with self.engine.begin() as conn:
            record = self._transition(
                conn,
                task_id,
                C,
                _finished(now, result=result, progress=1.0, eta_s=0.0, error_kind=None, error_message=None),
                worker=(worker_id, attempt),
                message=None,
            )
            has_dependants = self._has_waiting_dependants(conn, task_id)
        if has_dependants:
            self._notify()  # its dependants may run now (the worker itself claims again when a slot frees)
        return record

    def fail(
        self, task_id: int, worker_id: str, attempt: int, *, kind: str, message: str, retryable: bool
    ) -> TaskRecord:
        """A failed attempt: back to pending after a backoff, or failed (dependants fail too).

        Raises:
            TransitionError: the worker no longer holds the task.
        """
        now = clock.now()
        with self.engine.begin() as conn:
            current = self._current(conn, task_id)
            decision = decide_retry(
                retryable=retryable,
                attempts=current["attempts"],
                max_attempts=current["max_attempts"],
                base=self.settings.backoff_base_seconds,
                cap=self.settings.backoff_cap_seconds,
            )
            if decision.retry:
                run_after = now + timedelta(seconds=decision.delay_s)
                record = self._transition(
                    conn,
                    task_id,
                    P,
                    {**reset_run_values(), "run_after": run_after, "error_kind": kind, "error_message": message},
                    worker=(worker_id, attempt),
                    message=f"attempt {attempt} failed ({kind}: {message}); retry in {decision.delay_s:.1f} s",
                )
            else:
                record = self._transition(
                    conn,
                    task_id,
                    F,
                    _finished(now, error_kind=kind, error_message=message),
                    worker=(worker_id, attempt),
                    message=f"{kind}: {message} ({decision.reason})",
                )
                self._cascade(conn, record, now)
        self._notify()  # a retry is due later, or dependants that do not require it may run now
        return record

    def mark_cancelled(self, task_id: int, worker_id: str, attempt: int, message: str) -> TaskRecord:
        """running → cancelled: the handler honoured a cancel request. Dependants are cancelled."""
        now = clock.now()
        with self.engine.begin() as conn:
            record = self._transition(
                conn,
                task_id,
                X,
                _finished(now),
                worker=(worker_id, attempt),
                message=message,
            )
            self._cascade(conn, record, now)
        return record

    def release(self, task_id: int, worker_id: str, attempt: int, message: str) -> TaskRecord:
        """running → pending without counting the attempt (the worker is shutting down)."""
        released = self.release_many(worker_id, [(task_id, attempt)], message)
        if isinstance(released[0], TransitionError | NotFoundError):
            raise released[0]
        return released[0]

    def release_many(
        self, worker_id: str, tasks: Sequence[tuple[int, int]], message: str
    ) -> list[TaskRecord | TransitionError | NotFoundError]:
        """running → pending without counting the attempt, for each (task id, attempt) of ``tasks``, in one
        transaction: a batch's tasks that did not start. Each keeps its run_after, its place in line. A task
        with a cancel request is cancelled instead (it has not run, or its run is given up).

        Returns:
            per task, in order: its record, or the error saying why it was not released.
        """
        outcomes: list[TaskRecord | TransitionError | NotFoundError] = []
        with self.engine.begin() as conn:
            for task_id, attempt in tasks:
                try:
                    if self._current(conn, task_id)["cancel_requested"]:
                        never_ran: dict[str, Any] = {"started_at": None, "duration_s": None, "eta_s": None}
                        never_ran |= {"finished_at": clock.now(), "lease_expires_at": None}
                        record = self._transition(
                            conn, task_id, X, never_ran, worker=(worker_id, attempt), message=message
                        )
                        self._cascade(conn, record, clock.now())
                    else:
                        values = {**reset_run_values(), "attempts": T.c.attempts - 1}
                        record = self._transition(
                            conn, task_id, P, values, worker=(worker_id, attempt), message=message
                        )
                    outcomes.append(record)
                except (TransitionError, NotFoundError) as exc:
                    outcomes.append(exc)
        self._notify()
        return outcomes

    def mark_started(self, worker_id: str, started: Mapping[int, tuple[int, datetime]]) -> None:
        """Record when tasks of a batch really started: ``{task id: (attempt, started_at)}``, for tasks
        this worker still runs and whose start is not known yet (the heartbeat reports its slots' current
        tasks). A task whose lease expires with no start is given back uncharged (:meth:`expire_leases`)."""
        if not started:
            return
        with self.engine.begin() as conn:
            for task_id, (attempt, at) in started.items():
                conn.execute(
                    update(T)
                    .where(
                        T.c.id == task_id,
                        TASK_IS_RUNNING,
                        T.c.worker_id == worker_id,
                        T.c.attempts == attempt,
                        T.c.started_at.is_(None),
                    )
                    .values(started_at=at)
                )

    def give_back(
        self, task_id: int, worker_id: str, attempt: int, *, affinity: str | None, message: str
    ) -> TaskRecord:
        """running → pending without counting the attempt, for another worker: this one cannot run it (the
        recording's file is in another data directory). ``affinity`` names the workers that can.

        Raises:
            TransitionError: the worker no longer holds the task.
        """
        with self.engine.begin() as conn:
            values = {**reset_run_values(), "attempts": T.c.attempts - 1, "affinity": affinity, "started_at": None}
            record = self._transition(conn, task_id, P, values, worker=(worker_id, attempt), message=message)
        self._notify()
        return record

    def expire_leases(self) -> list[TaskRecord]:
        """Take back running tasks whose lease expired: pending again (the attempt counted), or failed
        (``lease_expired``) when attempts are exhausted, or cancelled when a cancel was requested. A task
        its worker had not started (a batch's later task: no ``started_at``) goes back uncharged, keeping
        its place in line: a worker killed while holding a batch costs none of its unstarted tasks an attempt."""
        now = clock.now()
        changed: list[TaskRecord] = []
        with self.engine.connect() as conn:
            expired = conn.execute(
                select(
                    T.c.id,
                    T.c.type,
                    T.c.attempts,
                    T.c.max_attempts,
                    T.c.worker_id,
                    T.c.cancel_requested,
                    T.c.started_at,
                ).where(TASK_IS_RUNNING, T.c.lease_expires_at < now)
            ).all()
        unstarted = [row for row in expired if row.started_at is None and not row.cancel_requested]
        if unstarted:
            changed += self._expire_unstarted(unstarted, now)
        for row in expired:
            if row.started_at is None and not row.cancel_requested:
                continue
            lost = f"worker {row.worker_id} stopped renewing the lease of attempt {row.attempts} (it died or stalled)"
            guard = and_(T.c.lease_expires_at < now, T.c.attempts == row.attempts)
            with self.engine.begin() as conn:
                try:
                    if row.cancel_requested:
                        record = self._transition(conn, row.id, X, _finished(now), extra=guard, message=lost)
                        self._cascade(conn, record, now)
                    elif row.attempts >= row.max_attempts:
                        message = f"{lost}; attempts exhausted ({row.attempts}/{row.max_attempts})"
                        values: Values = _finished(now, error_kind="lease_expired", error_message=message)
                        record = self._transition(conn, row.id, F, values, extra=guard, message=message)
                        self._cascade(conn, record, now)
                    else:
                        values = {
                            **reset_run_values(),
                            "run_after": now,
                            "error_kind": "lease_expired",
                            "error_message": lost,
                        }
                        record = self._transition(conn, row.id, P, values, extra=guard, message=lost)
                except TransitionError:
                    continue  # renewed or finished in the meantime
            log.warning("task %s %s: %s -> %s", record.id, record.type, lost, record.status)
            changed.append(record)
        if changed:
            self._notify()
        return changed

    def _expire_unstarted(self, rows: Sequence[Any], now: datetime) -> list[TaskRecord]:
        """Give back, in one transaction, expired tasks that never started: pending, the attempt not counted."""
        changed: list[TaskRecord] = []
        with self.engine.begin() as conn:
            for row in rows:
                guard = and_(T.c.lease_expires_at < now, T.c.attempts == row.attempts, T.c.started_at.is_(None))
                message = (
                    f"worker {row.worker_id} stopped renewing its lease before the task started; back in line, "
                    "the attempt not counted"
                )
                values = {**reset_run_values(), "attempts": T.c.attempts - 1}
                try:
                    changed.append(self._transition(conn, row.id, P, values, extra=guard, message=message))
                except TransitionError:
                    continue
        if changed:
            log.warning(
                "%d task(s) of worker %s given back uncharged: its lease expired before they started (%s%s)",
                len(changed),
                rows[0].worker_id,
                ", ".join(str(r.id) for r in changed[:5]),
                ", ..." if len(changed) > 5 else "",
            )
        return changed

    # ------------------------------------------------------------------------------------------
    # the user's side
    def cancel(self, task_id: int) -> tuple[TaskRecord, Literal["cancelled", "requested"]]:
        """Cancel: a pending task at once (``"cancelled"``), a running one by request (``"requested"``).

        Raises:
            NotFoundError, TransitionError (the task has finished).
        """
        now = clock.now()
        for _ in range(3):  # the task may be claimed between our read and our update
            with self.engine.begin() as conn:
                current = self._current(conn, task_id)
                if current["status"] == P:
                    try:
                        record = self._transition(
                            conn,
                            task_id,
                            X,
                            {"finished_at": now},
                            sources=(P,),
                            message="cancelled while pending",
                        )
                    except TransitionError:
                        continue
                    self._cascade(conn, record, now)
                    return record, "cancelled"
                if current["status"] == R and current["cancel_requested"]:
                    return TaskRecord.from_row(current), "requested"  # asked already: nothing new to log
                if current["status"] == R:
                    row = (
                        conn.execute(
                            update(T)
                            .where(T.c.id == task_id, T.c.status == R)
                            .values(cancel_requested=True, updated_at=now)
                            .returning(*T.c)
                        )
                        .mappings()
                        .first()
                    )
                    if row is None:
                        continue
                    self._event(conn, task_id, R, R, row["worker_id"], "cancel requested", now)
                    return TaskRecord.from_row(row), "requested"
                raise TransitionError(
                    f"task {task_id} is {current['status']}: only pending or running tasks can be cancelled",
                    task_id=task_id,
                    status=current["status"],
                )
        raise TransitionError(f"task {task_id} kept changing; try again", task_id=task_id, status=None)

    def retry(self, task_id: int) -> TaskRecord:
        """A failed or cancelled task goes back to pending with a fresh attempt budget; its dependants that
        ended because of it are reopened.

        Raises:
            NotFoundError, TransitionError (the task is not failed or cancelled).
        """
        with self.engine.begin() as conn:
            record = self._transition(conn, task_id, P, reopen_values(), sources=(F, X), message="retry requested")
            self._reopen_dependants(conn, task_id)
        self._notify()
        return record

    def delete(self, task_id: int) -> None:
        """Delete a task that is not running, with its history. Its pending dependants are cancelled.

        Raises:
            NotFoundError, TransitionError (running: cancel it first).
        """
        now = clock.now()
        with self.engine.begin() as conn:
            current = self._current(conn, task_id)
            if current["status"] == R:
                raise TransitionError(
                    f"task {task_id} is running; cancel it and wait for it to stop before deleting it",
                    task_id=task_id,
                    status=R,
                )
            self._cascade(conn, TaskRecord.from_row(current), now, forced_status=X)
            conn.execute(delete(E).where(E.c.task_id == task_id))
            conn.execute(delete(D).where(or_(D.c.task_id == task_id, D.c.depends_on == task_id)))
            conn.execute(update(T).where(T.c.depends_on == task_id).values(depends_on=None))
            conn.execute(delete(T).where(T.c.id == task_id))

    # ------------------------------------------------------------------------------------------
    # internals
    def _current(self, conn: Connection, task_id: int) -> Mapping[Any, Any]:
        stmt = _SELECT_TASK_FOR_UPDATE if self._postgres else _SELECT_TASK
        row = conn.execute(stmt, {"task_id": task_id}).mappings().first()
        if row is None:
            raise NotFoundError(f"no task {task_id}")
        return row

    def _transition(
        self,
        conn: Connection,
        task_id: int,
        to: TaskStatus,
        values: Values,
        *,
        sources: Iterable[TaskStatus] = (R,),
        worker: tuple[str, int] | None = None,
        extra: ColumnElement[bool] | None = None,
        message: str | None,
    ) -> TaskRecord:
        """The one guarded status change: UPDATE ... WHERE status IN sources [AND worker, attempt]."""
        sources = tuple(sources)
        check_transition(sources, to, task_id)
        now = clock.now()
        current = self._current(conn, task_id)
        stmt = update(T).where(T.c.id == task_id, T.c.status.in_(sources))
        if worker is not None:
            stmt = stmt.where(T.c.worker_id == worker[0], T.c.attempts == worker[1])
        if extra is not None:
            stmt = stmt.where(extra)
        resolved = values(current) if callable(values) else values
        row = conn.execute(stmt.values(status=to, updated_at=now, **resolved).returning(*T.c)).mappings().first()
        if row is None:
            held = ""
            if worker is not None and current["status"] == R:
                held = f" (held by worker {current['worker_id']}, attempt {current['attempts']}; we are "
                held += f"{worker[0]}, attempt {worker[1]})"
            raise TransitionError(
                f"task {task_id} is {current['status']}{held}: cannot move it to {to}",
                task_id=task_id,
                status=current["status"],
            )
        self._event(conn, task_id, current["status"], to, worker[0] if worker else row["worker_id"], message, now)
        return TaskRecord.from_row(row)

    def _event(
        self,
        conn: Connection,
        task_id: int,
        from_status: str | None,
        to_status: str,
        worker_id: str | None,
        message: str | None,
        at: datetime,
    ) -> None:
        event = (task_id, self._driver.time(at), from_status, to_status, worker_id, message)
        conn.exec_driver_sql(self._driver.sql(INSERT_EVENT), event)


class _Run:
    """Runs driver-level SQL: ``rows`` (a statement's rows) and ``many`` (one statement, many parameter sets)."""

    def rows(self, sql: str, params: Sequence[Any]) -> Sequence[Sequence[Any]]:
        raise NotImplementedError

    def many(self, sql: str, params: Sequence[Sequence[Any]]) -> None:
        raise NotImplementedError


class _SQLAlchemyRun(_Run):
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def rows(self, sql: str, params: Sequence[Any]) -> Sequence[Sequence[Any]]:
        return self.conn.exec_driver_sql(sql, tuple(params)).all()

    def many(self, sql: str, params: Sequence[Sequence[Any]]) -> None:
        self.conn.exec_driver_sql(sql, [tuple(p) for p in params])


class _DriverRun(_Run):
    def __init__(self, cursor: Any) -> None:
        self.cursor = cursor

    def rows(self, sql: str, params: Sequence[Any]) -> Sequence[Sequence[Any]]:
        self.cursor.execute(sql, params)
        result: Sequence[Sequence[Any]] = self.cursor.fetchall()
        return result

    def many(self, sql: str, params: Sequence[Sequence[Any]]) -> None:
        self.cursor.executemany(sql, params)


#: Statements built once (building one costs more than running it on SQLite).
_SELECT_TASK = select(T).where(T.c.id == bindparam("task_id"))
_SELECT_TASK_FOR_UPDATE = _SELECT_TASK.with_for_update()
#: Renews the leases a worker holds among ``ids`` (the attempt is checked by the caller).
_RENEW_LEASES = (
    update(T)
    .where(T.c.id.in_(bindparam("ids", expanding=True)), TASK_IS_RUNNING, T.c.worker_id == bindparam("b_worker"))
    .values(lease_expires_at=bindparam("b_lease", type_=T.c.lease_expires_at.type))
    .returning(T.c.id, T.c.attempts, T.c.cancel_requested)
)


def _finished(now: datetime, **values: Any) -> Callable[[Mapping[Any, Any]], dict[str, Any]]:
    """The values of a run ending at ``now`` (finished, its duration, no lease, no ETA) plus ``values``,
    as a function of the task's current row (for :meth:`TaskQueue._transition`)."""
    return lambda cur: {
        "finished_at": now,
        "duration_s": _duration(cur, now),
        "lease_expires_at": None,
        "eta_s": None,
        "progress_message": None,  # a phase's message ("waiting for the LLM server") is stale once it ends
        **values,
    }


def _duration(current: Mapping[Any, Any], now: datetime) -> float | None:
    started = current["started_at"]
    return (now - started).total_seconds() if started is not None else None


__all__ = ["DEPENDENCY_CANCELLED", "DEPENDENCY_FAILED", "FINISHED", "TaskQueue"]
