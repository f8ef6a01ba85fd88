"""Every SQL statement of the queue, in one place: SQLAlchemy Core statements built once (module constants,
or small builders whose results :class:`~stenograph.queue.manager.TaskQueue` caches per dialect), and the
driver-level SQL texts of the hot paths (see :mod:`stenograph.queue.driver` for why those bypass SQLAlchemy).

Driver texts are written with ``?`` placeholders, ``{json}`` where a JSON value goes and ``{ids}`` for an
``IN`` list; :meth:`DriverSQL.sql <stenograph.queue.driver.DriverSQL.sql>` puts them in the driver's style.

Every status condition of a status change comes from :func:`status_guard` (SQLAlchemy) or
:func:`status_guard_sql` (driver text), which check the transition first (:func:`check_transition`):
the guarded ``UPDATE`` of :func:`stenograph.queue.transitions.transition`, the claims and the batch
completions alike.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Delete,
    Select,
    Update,
    bindparam,
    delete,
    exists,
    func,
    insert,
    literal_column,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.sql.elements import ColumnElement

from stenograph.db.models import (
    TASK_IS_PENDING,
    TASK_IS_RUNNING,
    dependencies_table,
    events_table,
    tasks_table,
    workers_table,
)
from stenograph.queue.records import TaskRecord
from stenograph.queue.states import TaskStatus, check_transition

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

#: Error kinds set on dependants when the task they depend on fails or is cancelled.
DEPENDENCY_FAILED = "dependency_failed"
DEPENDENCY_CANCELLED = "dependency_cancelled"


# ----------------------------------------------------------------------------------------------
# the guard
def status_guard(sources: Iterable[TaskStatus], to: TaskStatus, task_id: int | None = None) -> ColumnElement[bool]:
    """``tasks.status`` is one of ``sources``, as SQL literals (so that SQLite uses the partial indexes),
    once ``sources`` → ``to`` is checked allowed.

    Raises:
        TransitionError: an illegal transition (see :func:`check_transition`).
    """
    sources = tuple(sources)
    check_transition(sources, to, task_id)
    literals: list[ColumnElement[str]] = [literal_column(f"'{source.value}'") for source in sources]
    return T.c.status == literals[0] if len(literals) == 1 else T.c.status.in_(literals)


def status_guard_sql(sources: Iterable[TaskStatus], to: TaskStatus) -> str:
    """:func:`status_guard` as driver-level SQL text.

    Raises:
        TransitionError: an illegal transition.
    """
    sources = tuple(sources)
    check_transition(sources, to)
    if len(sources) == 1:
        return f"status = '{sources[0].value}'"
    return f"status IN ({', '.join(repr(source.value) for source in sources)})"


# ----------------------------------------------------------------------------------------------
# one task, and its guarded status change
SELECT_TASK = select(T).where(T.c.id == bindparam("task_id"))
SELECT_TASK_FOR_UPDATE = SELECT_TASK.with_for_update()


def transition_update(
    task_id: int,
    guard: ColumnElement[bool],
    to: TaskStatus,
    values: Mapping[str, Any],
    *,
    worker: tuple[str, int] | None = None,
    extra: ColumnElement[bool] | None = None,
) -> Update:
    """``UPDATE tasks SET status = to, ... WHERE id AND guard [AND worker, attempt] [AND extra] RETURNING *``
    (``guard`` from :func:`status_guard`; ``values`` include ``updated_at``)."""
    stmt = update(T).where(T.c.id == task_id, guard)
    if worker is not None:
        stmt = stmt.where(T.c.worker_id == worker[0], T.c.attempts == worker[1])
    if extra is not None:
        stmt = stmt.where(extra)
    return stmt.values(status=to, **values).returning(*T.c)


#: The cancel request on a running task (not a status change: it stays running until its handler stops).
REQUEST_CANCEL = (
    update(T)
    .where(T.c.id == bindparam("task_id"), TASK_IS_RUNNING)
    .values(cancel_requested=True, updated_at=bindparam("b_now", type_=T.c.updated_at.type))
    .returning(*T.c)
)

# ----------------------------------------------------------------------------------------------
# the worker's side (no status change)
TOUCH_WORKER = (
    update(W)
    .where(W.c.id == bindparam("b_worker"))
    .values(heartbeat_at=bindparam("b_now", type_=W.c.heartbeat_at.type))
)
#: Renews the leases a worker holds among ``ids`` (the attempt is checked by the caller).
RENEW_LEASES = (
    update(T)
    .where(T.c.id.in_(bindparam("ids", expanding=True)), TASK_IS_RUNNING, T.c.worker_id == bindparam("b_worker"))
    .values(lease_expires_at=bindparam("b_lease", type_=T.c.lease_expires_at.type))
    .returning(T.c.id, T.c.attempts, T.c.cancel_requested)
)
_HELD_RUN = (
    T.c.id == bindparam("b_id"),
    TASK_IS_RUNNING,
    T.c.worker_id == bindparam("b_worker"),
    T.c.attempts == bindparam("b_attempt"),
)
#: Stores a task's progress while its worker holds it.
REPORT_PROGRESS = (
    update(T)
    .where(*_HELD_RUN)
    .values(
        progress=bindparam("b_progress", type_=T.c.progress.type),
        progress_message=bindparam("b_message", type_=T.c.progress_message.type),
        eta_s=bindparam("b_eta", type_=T.c.eta_s.type),
        updated_at=bindparam("b_now", type_=T.c.updated_at.type),
    )
)
REPORT_PROGRESS_RETURNING = REPORT_PROGRESS.returning(T.c.cancel_requested)


def progress_params(
    task_id: int, worker_id: str, attempt: int, fraction: float, message: str | None, eta_s: float | None, now: datetime
) -> dict[str, Any]:
    """The parameters of :data:`REPORT_PROGRESS` (``fraction`` clamped)."""
    return {
        "b_id": task_id,
        "b_worker": worker_id,
        "b_attempt": attempt,
        "b_progress": min(max(fraction, 0.0), 1.0),
        "b_message": message,
        "b_eta": eta_s,
        "b_now": now,
    }


#: Records when a batch's task really started (once).
MARK_STARTED = (
    update(T)
    .where(*_HELD_RUN, T.c.started_at.is_(None))
    .values(started_at=bindparam("b_at", type_=T.c.started_at.type))
)
#: Running tasks whose lease ran out before ``now``.
SELECT_EXPIRED = select(
    T.c.id, T.c.type, T.c.attempts, T.c.max_attempts, T.c.worker_id, T.c.cancel_requested, T.c.started_at
).where(TASK_IS_RUNNING, T.c.lease_expires_at < bindparam("now", type_=T.c.lease_expires_at.type))

# ----------------------------------------------------------------------------------------------
# dependencies
SELECT_DEPENDENCIES = select(T.c.id, T.c.status, T.c.type).where(T.c.id.in_(bindparam("ids", expanding=True)))
_EDGES_FROM = select(D.c.task_id).where(D.c.depends_on == bindparam("parent"))
#: The pending dependants a failed, cancelled or deleted task ends: those that require it.
PENDING_REQUIRING = select(T.c.id).where(T.c.id.in_(_EDGES_FROM.where(D.c.required == true())), TASK_IS_PENDING)
#: The dependants that ended because of ``parent`` (reopened when it is retried).
ENDED_BY = select(T.c.id).where(
    T.c.id.in_(_EDGES_FROM),
    T.c.status.in_((F, X)),
    T.c.error_kind.in_((DEPENDENCY_FAILED, DEPENDENCY_CANCELLED)),
)


def blocked_by_dependency(task: Any) -> Any:
    """SQL: the task ``task`` (a ``tasks`` table or alias) waits for a dependency that has not ended, or
    that failed or was cancelled where it is required (such a task is ended by
    :func:`~stenograph.queue.dependencies.cascade`)."""
    dep = T.alias("dep")
    return exists(
        select(D.c.depends_on)
        .join(dep, dep.c.id == D.c.depends_on)
        .where(
            D.c.task_id == task.c.id,
            dep.c.status != "completed",
            # The statuses as literals: one statement text whatever the values (no expanding parameter).
            (D.c.required == true()) | dep.c.status.not_in([literal_column("'failed'"), literal_column("'cancelled'")]),
        )
    )


# ----------------------------------------------------------------------------------------------
# deleting
DELETE_EVENTS: Delete = delete(E).where(E.c.task_id == bindparam("task_id"))
DELETE_EDGES: Delete = delete(D).where(or_(D.c.task_id == bindparam("task_id"), D.c.depends_on == bindparam("task_id")))
UNLINK_DEPENDANTS = update(T).where(T.c.depends_on == bindparam("task_id")).values(depends_on=None)
DELETE_TASK: Delete = delete(T).where(T.c.id == bindparam("task_id"))

# ----------------------------------------------------------------------------------------------
# reads
SELECT_EVENTS = (
    select(E.c.at, E.c.from_status, E.c.to_status, E.c.worker_id, E.c.message)
    .where(E.c.task_id == bindparam("task_id"))
    .order_by(E.c.id)
)
SELECT_OF_RECORDINGS = select(T).where(T.c.recording_id.in_(bindparam("ids", expanding=True))).order_by(T.c.id)
SELECT_CHANGED_SINCE = (
    select(T).where(T.c.updated_at >= bindparam("since", type_=T.c.updated_at.type)).order_by(T.c.updated_at, T.c.id)
)
SELECT_CANCEL_REQUESTED = select(T.c.id).where(
    T.c.id.in_(bindparam("ids", expanding=True)), T.c.cancel_requested.is_(True)
)


def list_tasks_statements(
    status: str | None, type: str | None, recording_id: int | None, limit: int, offset: int
) -> tuple[Select[Any], Select[Any]]:
    """The count of the tasks matching the filters, and their page, newest first."""
    where: list[ColumnElement[bool]] = []
    if status:
        where.append(T.c.status == status)
    if type:
        where.append(T.c.type == type)
    if recording_id is not None:
        where.append(T.c.recording_id == recording_id)
    count = select(func.count()).select_from(T).where(*where)
    page = select(T).where(*where).order_by(T.c.created_at.desc(), T.c.id.desc()).limit(limit).offset(offset)
    return count, page


# ----------------------------------------------------------------------------------------------
# workers
INSERT_WORKER = insert(W)
STOP_WORKER = (
    update(W).where(W.c.id == bindparam("b_worker")).values(stopped_at=bindparam("b_now", type_=W.c.stopped_at.type))
)
_SEEN_WORKERS = (
    select(W)
    .where(W.c.heartbeat_at >= bindparam("seen_after", type_=W.c.heartbeat_at.type))
    .order_by(W.c.started_at.desc())
)
SELECT_WORKERS = _SEEN_WORKERS.where(W.c.stopped_at.is_(None))
SELECT_WORKERS_WITH_STOPPED = _SEEN_WORKERS
SELECT_RUNNING = select(T.c.id, T.c.worker_id).where(TASK_IS_RUNNING)


# ----------------------------------------------------------------------------------------------
# claims (built once per dialect, set of types and affinity filter; TaskQueue caches them)
def claim_candidates(
    types: tuple[str, ...] | None, filtered: bool, *, postgres: bool, limit: Any = None
) -> Select[Any]:
    """``SELECT id, type`` of the next runnable tasks in claim order (bind parameters ``now``, ``limit``
    unless given, and, when ``filtered``, ``home``)."""
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
        .limit(bindparam("limit") if limit is None else limit)
    )
    if postgres:
        candidates = candidates.with_for_update(skip_locked=True, of=T)
    return candidates


def claim_one(types: tuple[str, ...] | None, filtered: bool, *, postgres: bool) -> Update:
    """The single claim's ``UPDATE ... WHERE id = (next runnable) AND status = 'pending' RETURNING *`` (bind
    parameters ``now``, ``worker_id``, ``lease_until`` and ``home``)."""
    candidate = claim_candidates(types, filtered, postgres=postgres, limit=1).with_only_columns(T.c.id)
    now = bindparam("now", type_=T.c.run_after.type)
    return (
        update(T)
        .where(T.c.id == candidate.scalar_subquery(), status_guard((P,), R))
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


# ----------------------------------------------------------------------------------------------
# driver-level SQL texts
#: The task columns, in :class:`TaskRecord`'s order (a batch claim returns them all).
COLUMNS: tuple[str, ...] = TaskRecord.__slots__

#: Appends one row to ``task_events``.
INSERT_EVENT = (
    "INSERT INTO task_events (task_id, at, from_status, to_status, worker_id, message) VALUES (?, ?, ?, ?, ?, ?)"
)
#: Appends one dependency edge (task, dependency, required).
INSERT_EDGE = "INSERT INTO task_dependencies (task_id, depends_on, required) VALUES (?, ?, ?)"

#: Claims the tasks ``{ids}`` (still pending) for a worker: worker, the id that starts at once, its start,
#: the lease's end, now.
CLAIM_MANY = (
    "UPDATE tasks SET status = 'running', worker_id = ?, attempts = attempts + 1, "
    "started_at = CASE WHEN id = ? THEN ? ELSE NULL END, "
    "finished_at = NULL, duration_s = NULL, lease_expires_at = ?, progress = 0.0, progress_message = NULL, "
    f"eta_s = NULL, updated_at = ? WHERE id IN ({{ids}}) AND {status_guard_sql((P,), R)} "
    f"RETURNING {', '.join(COLUMNS)}"
)
#: The tasks among ``{ids}`` a worker still runs (to complete them), and their attempts.
HELD = "SELECT id, attempts FROM tasks WHERE id IN ({ids}) AND status = 'running' AND worker_id = ?"
HELD_FOR_UPDATE = HELD + " FOR UPDATE"
#: One completion of a batch: result, started, finished, duration, now, id, worker, attempt.
COMPLETE = (
    "UPDATE tasks SET status = 'completed', result = {json}, progress = 1.0, eta_s = 0.0, progress_message = NULL, "
    "error_kind = NULL, error_message = NULL, started_at = ?, finished_at = ?, duration_s = ?, "
    f"lease_expires_at = NULL, updated_at = ? WHERE id = ? AND {status_guard_sql((R,), C)} AND worker_id = ? "
    "AND attempts = ?"
)
#: Whether a pending task waits for one of ``{ids}`` (it may run now that they ended).
WAITING_DEPENDANTS = (
    "SELECT d.task_id FROM task_dependencies d JOIN tasks t ON t.id = d.task_id "
    "WHERE d.depends_on IN ({ids}) AND t.status = 'pending' LIMIT 1"
)

#: The columns an insert of tasks sets, in the order of its values; every other column takes its default.
_INSERTED = (
    "type, status, priority, params, error_kind, error_message, max_attempts, run_after, created_at, updated_at, "
    "finished_at, cancel_requested, depends_on, recording_id, affinity, attempts, progress"
)
_INSERTED_VALUES = "(?, ?, ?, {json}, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 0.0)"
#: Rows one insert statement holds (15 values each: within SQLite's 32,766 variables).
INSERT_CHUNK = 1000


def insert_tasks_sql(rows: int, *, postgres: bool, notify: bool) -> str:
    """``INSERT INTO tasks`` of ``rows`` rows returning their ids (with ``?`` and ``{json}``).

    On PostgreSQL one statement also writes each task's ``enqueued`` event (a data-modifying ``WITH``) and,
    with ``notify``, sends the wake-up (``pg_notify``, delivered when the transaction commits): one round
    trip in all. SQLite runs the event insert as a second statement (in process, no round trip).
    """
    values = ", ".join([_INSERTED_VALUES] * rows)
    insert_sql = f"INSERT INTO tasks ({_INSERTED}) VALUES {values}"
    if not postgres:
        return f"{insert_sql} RETURNING id"
    wake = ", pg_notify('stenograph_tasks', '')" if notify else ""
    return (
        f"WITH t AS ({insert_sql} RETURNING id, created_at, status, error_message), "
        "e AS (INSERT INTO task_events (task_id, at, from_status, to_status, worker_id, message) "
        "SELECT id, created_at, NULL, status, NULL, COALESCE(error_message, 'enqueued') FROM t) "
        f"SELECT id{wake} FROM t"
    )
