"""``TaskQueue``: every operation on tasks, one method each, each a short transaction.

One class with no base but ``object``: its SQL is in :mod:`stenograph.queue.statements`, and the logic
that needs no ``self`` is in small modules of functions over a connection: the one guarded status change
(:mod:`stenograph.queue.transitions`), the dependency rules (:mod:`stenograph.queue.dependencies`), the
enqueue's inserts (:mod:`stenograph.queue.inserts`) and a batch's claim and completions
(:mod:`stenograph.queue.claims`).

Every status change goes through :func:`~stenograph.queue.transitions.transition`, whose UPDATE names
the statuses the task may come from and, for changes a worker makes, the worker id and attempt it
expects; when no row matches, nothing changes and :class:`~stenograph.errors.TransitionError` says what
the task's status is. The batch paths (claims, completions) use driver-level SQL whose status condition
the same guard builds. Every change is appended to ``task_events`` in the same transaction.

No transaction is held while a task runs: a running task holds a lease that its worker renews
(:meth:`heartbeat`); :meth:`expire_leases` returns tasks whose lease ran out.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Connection, Engine

from stenograph import clock
from stenograph.db.engine import sqlite_connect
from stenograph.errors import NotFoundError, TransitionError
from stenograph.queue import statements as sql
from stenograph.queue.changes import cancel_once, delete_task, fail_attempt, release_run
from stenograph.queue.claims import (
    FinishedRun,
    TypesKey,
    claim_event,
    claim_ids,
    complete_held,
    completion_params,
    pick_batch,
)
from stenograph.queue.dependencies import (
    FRESH,
    cascade,
    creation_outcomes,
    has_waiting_dependants,
    reopen_dependants,
)
from stenograph.queue.driver import DriverSQL, TaskSpec
from stenograph.queue.hooks import FinishHook, run_hooks
from stenograph.queue.inserts import ENQUEUE_CHECKPOINT_PAGES, DriverRun, Run, SQLAlchemyRun, insert_tasks, on_sqlite
from stenograph.queue.leases import expire_started, expire_unstarted, never_started
from stenograph.queue.records import TaskEventRecord, TaskRecord, WorkerRecord
from stenograph.queue.states import FINISHED, TaskStatus
from stenograph.queue.transitions import (
    finished,
    reopen_values,
    reset_run_values,
    transition,
    write_events,
)
from stenograph.queue.wakeup import WorkersNotifier
from stenograph.settings import Settings

T = sql.T

Hooks = Sequence[FinishHook]
P, C, F, X = TaskStatus.PENDING, TaskStatus.COMPLETED, TaskStatus.FAILED, TaskStatus.CANCELLED


class TaskQueue:
    """The queue's operations over one engine (SQLite or PostgreSQL).

    Args:
        engine: from :func:`stenograph.db.create_db_engine`, migrated.
        settings: lease length, attempts and backoff.
        notify: called after a commit that made a task runnable (wakes local workers).
        on_finished: hooks run in the transaction that ended tasks, with their ids (:mod:`~stenograph.queue.hooks`).
    """

    def __init__(
        self, engine: Engine, settings: Settings, notify: Callable[[], None] | None = None, on_finished: Hooks = ()
    ) -> None:
        self.engine = engine
        self.settings = settings
        self._notify = notify or (lambda: None)
        self._on_finished = tuple(on_finished)
        self._postgres = engine.dialect.name == "postgresql"
        self._driver = DriverSQL(engine.dialect.name)
        #: Statements built once for this engine's dialect (building one costs more than running it).
        self._claim_cache: dict[tuple[str, TypesKey, bool], Any] = {}
        self._insert_cache: dict[tuple[int, bool], str] = {}
        self._threads = threading.local()

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
            after: tasks it only waits for: it runs once each has completed, failed or been cancelled.
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
            return self._insert(SQLAlchemyRun(conn), specs, creation_outcomes(conn, specs))
        if any(spec.edges() for spec in specs):
            with self.engine.begin() as own:
                records = self._insert(SQLAlchemyRun(own), specs, creation_outcomes(own, specs))
        else:  # the hot path: straight on the driver's connection (SQLAlchemy's per-call work cost more)
            records = self._insert_on_driver(specs)
        self._wake_after_commit()
        return records

    def _insert_on_driver(self, specs: Sequence[TaskSpec]) -> list[TaskRecord]:
        """Insert tasks without dependencies in a transaction of the DBAPI connection itself (on SQLite, a
        connection of this thread's own, kept: the pool's checkout and return cost as much as the insert)."""
        if not self._postgres:
            fresh = [FRESH] * len(specs)
            return on_sqlite(
                self._enqueue_connection(),
                lambda run: self._insert(run, specs, fresh),
                one_statement=len(specs) <= sql.INSERT_CHUNK,
            )
        raw = self.engine.raw_connection()
        try:
            records = self._insert(DriverRun(raw.cursor()), specs, [FRESH] * len(specs))
            raw.commit()
        except BaseException:
            raw.rollback()
            raise
        finally:
            raw.close()
        return records

    def _enqueue_connection(self) -> Any:
        """This thread's SQLite connection for enqueueing, opened as the engine opens its own, with its
        automatic checkpoint at :data:`ENQUEUE_CHECKPOINT_PAGES` (see there)."""
        connection = getattr(self._threads, "connection", None)
        if connection is None:
            connection = self._threads.connection = sqlite_connect(self.engine)
            connection.execute(f"PRAGMA wal_autocheckpoint={ENQUEUE_CHECKPOINT_PAGES}")
        return connection

    def _wake_after_commit(self) -> None:
        notifier = self._notify
        if isinstance(notifier, WorkersNotifier) and notifier.postgres:
            notifier.local()  # the NOTIFY went with the insert (pg_notify)
        else:
            notifier()

    def _insert(
        self, run: Run, specs: Sequence[TaskSpec], outcomes: Sequence[tuple[str, str | None, str | None]]
    ) -> list[TaskRecord]:
        notify = isinstance(self._notify, WorkersNotifier) and self._postgres
        return insert_tasks(
            run,
            self._driver,
            specs,
            outcomes,
            default_attempts=self.settings.max_attempts,
            insert_sql=lambda rows: self._insert_sql(rows, notify),
        )

    def _insert_sql(self, rows: int, notify: bool) -> str:
        """The insert statement of ``rows`` tasks, built once per size (see :func:`insert_tasks_sql`)."""
        text = self._insert_cache.get((rows, notify))
        if text is None:
            built = sql.insert_tasks_sql(rows, postgres=self._postgres, notify=notify)
            text = self._insert_cache[(rows, notify)] = self._driver.sql(built)
        return text

    # ------------------------------------------------------------------------------------------
    # claims
    def claim(self, worker_id: str, types: Sequence[str] | None = None, home: str | None = None) -> TaskRecord | None:
        """Take the next runnable task for ``worker_id``, or None.

        Order: priority (higher first), then run_after, then age. Runnable: pending, ``run_after`` past,
        its dependencies ended (see :mod:`stenograph.queue.dependencies`), its type one of ``types`` (None:
        any type), and, when ``home`` (the worker's data directory id) is given, its affinity none or
        ``home``.
        """
        claimed = self.claim_batch(worker_id, types, 1, home=home)
        return claimed[0] if claimed else None

    def claim_batch(
        self,
        worker_id: str,
        types: Sequence[str] | None = None,
        limit: int = 1,
        batchable: Collection[str] = (),
        *,
        only_batchable: bool = False,
        home: str | None = None,
    ) -> list[TaskRecord]:
        """Take up to ``limit`` runnable tasks in one transaction, in claim order (see :meth:`claim`).

        The first task may be of any of ``types``; when it is of a ``batchable`` type, the ones after it
        join while they are batchable too (the batch ends at the first that is not); otherwise it comes
        alone. With ``only_batchable`` the first one must be batchable too (a worker topping up a batch its
        slot is still running). Every claimed task is
        running under ``worker_id`` with a fresh lease; one event per task is logged. The first task of a
        batch claimed for an idle slot (not ``only_batchable``) starts at once and gets its ``started_at``;
        the others have none until their worker reports them started (:meth:`mark_started`, or their
        completion): a task whose lease expires before it started goes back uncharged.
        """
        now = clock.now()
        key: TypesKey = None if types is None else tuple(sorted(set(types)))
        lease_until = now + timedelta(seconds=self.settings.lease_seconds)
        driver, filtered = self._driver, home is not None
        at = driver.time(now)
        with self.engine.begin() as conn:
            if limit <= 1 and not only_batchable:
                values = {"now": now, "worker_id": worker_id, "lease_until": lease_until, "home": home}
                row = conn.execute(self._claim_statement("one", key, filtered), values).mappings().first()
                if row is None:
                    return []
                record = TaskRecord.from_row(row)
                write_events(conn, driver, [claim_event(record, at, worker_id)])
                return [record]
            candidates = self._claim_statement("candidates", key, filtered)
            ids = pick_batch(
                conn.execute(candidates, {"now": now, "limit": limit, "home": home}), batchable, only_batchable
            )
            if not ids:
                return []
            first = -1 if only_batchable else ids[0]  # an idle slot starts its batch's first task at once
            rows = claim_ids(
                conn, driver, ids, worker_id=worker_id, first=first, at=at, lease_until=driver.time(lease_until)
            )
        # Decoded after the commit, so that the write lock is held for the database's own work only.
        order = {task_id: n for n, task_id in enumerate(ids)}
        return sorted((driver.record(row) for row in rows), key=lambda r: order[r.id])

    def _claim_statement(self, kind: Literal["one", "candidates"], types: TypesKey, filtered: bool) -> Any:
        """A claim statement, built once per kind, set of types and affinity filter."""
        stmt = self._claim_cache.get((kind, types, filtered))
        if stmt is None:
            build = sql.claim_one if kind == "one" else sql.claim_candidates
            stmt = self._claim_cache[(kind, types, filtered)] = build(types, filtered, postgres=self._postgres)
        return stmt

    def complete_batch(self, worker_id: str, runs: Sequence[FinishedRun]) -> list[int]:
        """running → completed for each of ``runs``, in one transaction; each keeps its own start, end and
        duration. Returns the ids recorded; a task this worker no longer holds (its lease was lost, or it
        was taken back) is left as it is and is missing from the answer.
        """
        if not runs:
            return []
        now = clock.now()
        driver = self._driver
        params = completion_params(driver, worker_id, runs, now)
        with self.engine.begin() as conn:
            ids = complete_held(conn, driver, worker_id, runs, params, driver.time(now))
            run_hooks(self._on_finished, self, conn, ids)
            has_dependants = bool(ids) and has_waiting_dependants(conn, driver, ids)
        if has_dependants:
            self._notify()  # their dependants may run now
        return ids

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
            conn.execute(sql.TOUCH_WORKER, {"b_worker": worker_id, "b_now": now})
            if running:
                lease = now + timedelta(seconds=self.settings.lease_seconds)
                rows = conn.execute(sql.RENEW_LEASES, {"ids": list(running), "b_worker": worker_id, "b_lease": lease})
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
        with self.engine.begin() as conn:
            values = sql.progress_params(task_id, worker_id, attempt, fraction, message, eta_s, clock.now())
            row = conn.execute(sql.REPORT_PROGRESS_RETURNING, values).first()
        return None if row is None else bool(row.cancel_requested)

    def report_progress_many(
        self, worker_id: str, progress: Mapping[int, tuple[int, float, str | None, float | None]]
    ) -> None:
        """Store the progress of several tasks in one transaction: ``{task id: (attempt, fraction, message,
        eta_s)}``; a task this worker no longer holds is left alone (its heartbeat says it was lost)."""
        if not progress:
            return
        now = clock.now()
        values = [sql.progress_params(task_id, worker_id, *report, now) for task_id, report in progress.items()]
        with self.engine.begin() as conn:
            conn.execute(sql.REPORT_PROGRESS, values)

    def complete(self, task_id: int, worker_id: str, attempt: int, result: dict[str, Any] | None) -> TaskRecord:
        """running → completed. Raises TransitionError when the worker no longer holds the task."""
        now = clock.now()
        values = finished(now, result=result, progress=1.0, eta_s=0.0, error_kind=None, error_message=None)
        with self.engine.begin() as conn:
            record = transition(conn, self._driver, task_id, C, values, worker=(worker_id, attempt), message=None)
            run_hooks(self._on_finished, self, conn, [task_id])
            has_dependants = has_waiting_dependants(conn, self._driver, [task_id])
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
        backoff = (self.settings.backoff_base_seconds, self.settings.backoff_cap_seconds)
        with self.engine.begin() as conn:
            record = fail_attempt(
                conn,
                self._driver,
                task_id,
                (worker_id, attempt),
                kind=kind,
                message=message,
                retryable=retryable,
                backoff=backoff,
            )
            if record.status != P:
                run_hooks(self._on_finished, self, conn, [task_id])
        self._notify()  # a retry is due later, or dependants that do not require it may run now
        return record

    def mark_cancelled(self, task_id: int, worker_id: str, attempt: int, message: str) -> TaskRecord:
        """running → cancelled: the handler honoured a cancel request (its dependants: see :meth:`cancel`)."""
        now = clock.now()
        with self.engine.begin() as conn:
            record = transition(
                conn, self._driver, task_id, X, finished(now), worker=(worker_id, attempt), message=message
            )
            cascade(conn, self._driver, record, now)
        self._notify()  # the tasks ordered after it may run now
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
                    outcomes.append(release_run(conn, self._driver, task_id, (worker_id, attempt), message))
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
        values = [
            {"b_id": task_id, "b_worker": worker_id, "b_attempt": attempt, "b_at": at}
            for task_id, (attempt, at) in started.items()
        ]
        with self.engine.begin() as conn:
            conn.execute(sql.MARK_STARTED, values)

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
            record = transition(conn, self._driver, task_id, P, values, worker=(worker_id, attempt), message=message)
        self._notify()
        return record

    def expire_leases(self) -> list[TaskRecord]:
        """Take back running tasks whose lease expired: pending again (the attempt counted), or failed
        (``lease_expired``) when attempts are exhausted, or cancelled when a cancel was requested. A task
        its worker had not started (a batch's later task: no ``started_at``) goes back uncharged, keeping
        its place in line: a worker killed while holding a batch costs none of its unstarted tasks an attempt."""
        now = clock.now()
        with self.engine.connect() as conn:
            expired = conn.execute(sql.SELECT_EXPIRED, {"now": now}).all()
        changed: list[TaskRecord] = []
        unstarted = [row for row in expired if never_started(row)]
        if unstarted:
            with self.engine.begin() as conn:  # one transaction for them all
                changed += expire_unstarted(conn, self._driver, unstarted, now)
        for row in expired:
            if not never_started(row):
                with self.engine.begin() as conn:
                    record = expire_started(conn, self._driver, row, now)
                    if record is not None and record.status == F:
                        run_hooks(self._on_finished, self, conn, [record.id])
                if record is not None:
                    changed.append(record)
        if changed:
            self._notify()
        return changed

    # ------------------------------------------------------------------------------------------
    # the user's side
    def cancel(self, task_id: int) -> tuple[TaskRecord, Literal["cancelled", "requested"]]:
        """Cancel: a pending task at once (``"cancelled"``), a running one by request (``"requested"``).
        Dependants that require it are cancelled with it; those only ordered after it (``after``) run.

        Raises:
            NotFoundError, TransitionError (the task has finished).
        """
        now = clock.now()
        for _ in range(3):  # the task may be claimed between our read and our update
            with self.engine.begin() as conn:
                outcome = cancel_once(conn, self._driver, task_id, now)
            if outcome is not None:
                if outcome[1] == "cancelled":
                    self._notify()  # the tasks ordered after it may run now
                return outcome
        raise TransitionError(f"task {task_id} kept changing; try again", task_id=task_id, status=None)

    def retry(self, task_id: int) -> TaskRecord:
        """A failed or cancelled task goes back to pending with a fresh attempt budget; its dependants that
        ended because of it are reopened.

        Raises:
            NotFoundError, TransitionError (the task is not failed or cancelled).
        """
        with self.engine.begin() as conn:
            record = transition(
                conn, self._driver, task_id, P, reopen_values(), sources=(F, X), message="retry requested"
            )
            reopen_dependants(conn, self._driver, task_id)
        self._notify()
        return record

    def delete(self, task_id: int) -> None:
        """Delete a task that is not running, with its history (its dependants: as for :meth:`cancel`).

        Raises:
            NotFoundError, TransitionError (running: cancel it first).
        """
        with self.engine.begin() as conn:
            delete_task(conn, self._driver, task_id, clock.now())
        self._notify()  # the tasks ordered after it may run now

    # ------------------------------------------------------------------------------------------
    # reads
    def get(self, task_id: int) -> TaskRecord:
        """The task. Raises NotFoundError."""
        with self.engine.connect() as conn:
            row = conn.execute(sql.SELECT_TASK, {"task_id": task_id}).mappings().first()
        if row is None:
            raise NotFoundError(f"no task {task_id}")
        return TaskRecord.from_row(row)

    def events(self, task_id: int) -> list[TaskEventRecord]:
        """The task's history, oldest first."""
        with self.engine.connect() as conn:
            return [TaskEventRecord(**row) for row in conn.execute(sql.SELECT_EVENTS, {"task_id": task_id}).mappings()]

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
        count_stmt, page = sql.list_tasks_statements(status, type, recording_id, limit, offset)
        with self.engine.connect() as conn:
            count = conn.execute(count_stmt).scalar_one()
            return [TaskRecord.from_row(r) for r in conn.execute(page).mappings()], count

    def tasks_of_recordings(self, recording_ids: Iterable[int]) -> dict[int, list[TaskRecord]]:
        """The tasks of each of ``recording_ids``, oldest first, in one query (ids without tasks map to [])."""
        ids = list(dict.fromkeys(recording_ids))
        found: dict[int, list[TaskRecord]] = {recording_id: [] for recording_id in ids}
        if not ids:
            return found
        with self.engine.connect() as conn:
            for row in conn.execute(sql.SELECT_OF_RECORDINGS, {"ids": ids}).mappings():
                found[row["recording_id"]].append(TaskRecord.from_row(row))
        return found

    def changed_since(self, since: datetime) -> list[TaskRecord]:
        """Tasks updated at or after ``since``, oldest change first (for the event stream)."""
        with self.engine.connect() as conn:
            return [TaskRecord.from_row(r) for r in conn.execute(sql.SELECT_CHANGED_SINCE, {"since": since}).mappings()]

    def cancel_requested(self, task_ids: Iterable[int]) -> set[int]:
        """Which of ``task_ids`` have a cancel request (a cheap read the worker makes every second)."""
        ids = list(task_ids)
        if not ids:
            return set()
        with self.engine.connect() as conn:
            return set(conn.execute(sql.SELECT_CANCEL_REQUESTED, {"ids": ids}).scalars().all())

    # ------------------------------------------------------------------------------------------
    # workers: a row per worker process start, with its heartbeat
    def register_worker(
        self, worker_id: str, hostname: str, pid: int, concurrency: int, task_types: Sequence[str] | None = None
    ) -> None:
        """Record a worker's start; ``task_types`` None means it takes every type."""
        now = clock.now()
        types = None if task_types is None else list(task_types)
        row = {"id": worker_id, "hostname": hostname, "pid": pid, "concurrency": concurrency, "task_types": types}
        with self.engine.begin() as conn:
            conn.execute(sql.INSERT_WORKER, {**row, "started_at": now, "heartbeat_at": now})

    def stop_worker(self, worker_id: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(sql.STOP_WORKER, {"b_worker": worker_id, "b_now": clock.now()})

    def workers(self, *, include_stopped: bool = False) -> list[WorkerRecord]:
        """Workers seen within the last hour (live first); ``live``: heartbeat fresh and not stopped."""
        now = clock.now()
        live_after = now - timedelta(seconds=self.settings.live_seconds)
        stmt = sql.SELECT_WORKERS_WITH_STOPPED if include_stopped else sql.SELECT_WORKERS
        with self.engine.connect() as conn:
            rows = conn.execute(stmt, {"seen_after": now - timedelta(hours=1)}).mappings().all()
            running: dict[str, list[int]] = {}
            for tid, wid in conn.execute(sql.SELECT_RUNNING).all():
                running.setdefault(wid, []).append(tid)
        return [WorkerRecord.from_row(r, tuple(sorted(running.get(r["id"], []))), live_after) for r in rows]


__all__ = ["FINISHED", "TaskQueue"]
