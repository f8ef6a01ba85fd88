"""Claiming tasks, one or a batch, and recording a batch of completions in one transaction.

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
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, bindparam, or_, select, update

from stenograph import clock
from stenograph.db.models import TASK_IS_PENDING, tasks_table
from stenograph.queue.dependencies import blocked_by_dependency
from stenograph.queue.driver import ATTEMPTS_AT, COLUMNS, ID_AT, INSERT_EVENT, MAX_ATTEMPTS_AT, DriverSQL
from stenograph.queue.records import TaskRecord
from stenograph.queue.states import TaskStatus, check_transition
from stenograph.settings import Settings

T = tasks_table
P, R, C = TaskStatus.PENDING, TaskStatus.RUNNING, TaskStatus.COMPLETED


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


class Claims:
    """The claim and batch operations of :class:`~stenograph.queue.manager.TaskQueue`."""

    engine: Engine
    settings: Settings
    _postgres: bool
    _notify: Callable[[], None]

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
        check_transition((P,), R)  # the claim's guard: WHERE status = 'pending' (below)
        now = clock.now()
        key: TypesKey = None if types is None else tuple(sorted(set(types)))
        lease_until = now + timedelta(seconds=self.settings.lease_seconds)
        values = {"now": now, "worker_id": worker_id, "lease_until": lease_until, "home": home}
        filtered = home is not None
        driver = self._driver
        at = driver.time(now)
        with self.engine.begin() as conn:
            if limit <= 1 and not only_batchable:
                row = conn.execute(self._statement("one", key, filtered), values).mappings().first()
                if row is None:
                    return []
                record = TaskRecord.from_row(row)
                event = (record.id, at, P.value, R.value, worker_id, f"attempt {record.attempts}/{record.max_attempts}")
                conn.exec_driver_sql(driver.sql(INSERT_EVENT), event)
                return [record]
            ids: list[int] = []
            candidates = self._statement("candidates", key, filtered)
            for task_id, task_type in conn.execute(candidates, {"now": now, "limit": limit, "home": home}):
                if task_type not in batchable:
                    if not ids and not only_batchable:
                        ids.append(task_id)  # alone: a task not known to be short
                    break
                ids.append(task_id)
            if not ids:
                return []
            sql = driver.sql(_CLAIM_MANY, len(ids))
            first = -1 if only_batchable else ids[0]  # an idle slot starts its batch's first task at once
            rows = conn.exec_driver_sql(sql, (worker_id, first, at, driver.time(lease_until), at, *ids)).all()
            events = [
                (row[ID_AT], at, P.value, R.value, worker_id, f"attempt {row[ATTEMPTS_AT]}/{row[MAX_ATTEMPTS_AT]}")
                for row in rows
            ]
            conn.exec_driver_sql(driver.sql(INSERT_EVENT), events)
        # Decoded after the commit, so that the write lock is held for the database's own work only.
        order = {task_id: n for n, task_id in enumerate(ids)}
        return sorted((driver.record(row) for row in rows), key=lambda r: order[r.id])

    def complete_batch(self, worker_id: str, runs: Sequence[FinishedRun]) -> list[int]:
        """running → completed for each of ``runs``, in one transaction; each keeps its own start, end and
        duration. Returns the ids recorded; a task this worker no longer holds (its lease was lost, or it
        was taken back) is left as it is and is missing from the answer.
        """
        if not runs:
            return []
        check_transition((R,), C)  # the completions' guard: WHERE status = 'running' AND worker AND attempt
        now = clock.now()
        driver, time = self._driver, self._driver.time
        at, json = time(now), driver.json
        # Parameters are made before the transaction, so that the write lock is held for the database's
        # own work only.
        params = {
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
        attempt = {run.task_id: run.attempt for run in runs}
        with self.engine.begin() as conn:
            held = conn.exec_driver_sql(driver.sql(self._held_sql, len(params)), (*params, worker_id)).all()
            ids = [task_id for task_id, attempts in held if attempt[task_id] == attempts]
            if not ids:
                return []
            conn.exec_driver_sql(driver.sql(_COMPLETE), [params[task_id] for task_id in ids])
            events = [(task_id, at, R.value, C.value, worker_id, None) for task_id in ids]
            conn.exec_driver_sql(driver.sql(INSERT_EVENT), events)
            has_dependants = (
                conn.exec_driver_sql(driver.sql(_WAITING_DEPENDANTS, len(ids)), tuple(ids)).first() is not None
            )
        if has_dependants:
            self._notify()  # their dependants may run now
        return ids

    @property
    def _driver(self) -> DriverSQL:
        driver: DriverSQL | None = self.__dict__.get("_driver_sql")
        if driver is None:
            driver = self.__dict__["_driver_sql"] = DriverSQL(self.engine.dialect.name)
        return driver

    @property
    def _held_sql(self) -> str:
        """The batch's tasks this worker still runs, locked (PostgreSQL) until the completion commits."""
        return _HELD + (" FOR UPDATE" if self._postgres else "")

    # ------------------------------------------------------------------------------------------
    def _statement(self, kind: str, types: TypesKey, filtered: bool) -> Any:
        """A claim statement, built once per kind, set of types and affinity filter (building costs more
        than running)."""
        cache: dict[tuple[str, TypesKey, bool], Any] = self.__dict__.setdefault("_claim_cache", {})
        stmt = cache.get((kind, types, filtered))
        if stmt is None:
            if kind == "one":
                stmt = self._claim_statement(types, filtered)
            else:
                stmt = self._candidates(types, bindparam("limit"), filtered)
            cache[(kind, types, filtered)] = stmt
        return stmt

    def _candidates(self, types: TypesKey, limit: Any, filtered: bool) -> Any:
        """``SELECT id, type`` of the next runnable tasks in claim order (bind parameters ``now`` and, when
        ``filtered``, ``home``)."""
        now = bindparam("now", type_=T.c.run_after.type)
        runnable = [TASK_IS_PENDING, T.c.run_after <= now, ~blocked_by_dependency(T)]
        if types is not None:
            runnable.append(T.c.type.in_(types))
        if filtered:
            runnable.append(or_(T.c.affinity.is_(None), T.c.affinity == bindparam("home", type_=T.c.affinity.type)))
        candidates = (
            select(T.c.id, T.c.type)
            .where(*runnable)
            .order_by(T.c.priority.desc(), T.c.run_after, T.c.created_at, T.c.id)
            .limit(limit)
        )
        if self._postgres:
            candidates = candidates.with_for_update(skip_locked=True, of=T)
        return candidates

    def _claim_statement(self, types: TypesKey, filtered: bool) -> Any:
        """The single claim's ``UPDATE ... RETURNING`` (bind parameters ``now``, ``worker_id``, ``lease_until``)."""
        candidate = self._candidates(types, 1, filtered).with_only_columns(T.c.id)
        return self._claim_update(T.c.id == candidate.scalar_subquery())

    @staticmethod
    def _claim_update(which: Any) -> Any:
        now = bindparam("now", type_=T.c.run_after.type)
        return (
            update(T)
            .where(which, TASK_IS_PENDING)
            .values(
                status=R,
                worker_id=bindparam("worker_id", type_=T.c.worker_id.type),
                attempts=T.c.attempts + 1,
                started_at=now,
                finished_at=None,
                duration_s=None,
                lease_expires_at=bindparam("lease_until", type_=T.c.lease_expires_at.type),
                progress=0.0,
                progress_message=None,
                eta_s=None,
                updated_at=now,
            )
            .returning(*T.c)
        )


_COLUMNS = ", ".join(COLUMNS)
_CLAIM_MANY = (
    "UPDATE tasks SET status = 'running', worker_id = ?, attempts = attempts + 1, "
    "started_at = CASE WHEN id = ? THEN ? ELSE NULL END, "
    "finished_at = NULL, duration_s = NULL, lease_expires_at = ?, progress = 0.0, progress_message = NULL, "
    f"eta_s = NULL, updated_at = ? WHERE id IN ({{ids}}) AND status = 'pending' RETURNING {_COLUMNS}"
)
_HELD = "SELECT id, attempts FROM tasks WHERE id IN ({ids}) AND status = 'running' AND worker_id = ?"
_COMPLETE = (
    "UPDATE tasks SET status = 'completed', result = {json}, progress = 1.0, eta_s = 0.0, progress_message = NULL, "
    "error_kind = NULL, "
    "error_message = NULL, started_at = ?, finished_at = ?, duration_s = ?, lease_expires_at = NULL, "
    "updated_at = ? WHERE id = ? AND status = 'running' AND worker_id = ? AND attempts = ?"
)
_WAITING_DEPENDANTS = (
    "SELECT d.task_id FROM task_dependencies d JOIN tasks t ON t.id = d.task_id "
    "WHERE d.depends_on IN ({ids}) AND t.status = 'pending' LIMIT 1"
)
