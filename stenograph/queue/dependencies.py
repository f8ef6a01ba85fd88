"""Dependencies between tasks (the ``task_dependencies`` edges, revision 0006), as functions over a connection.

A task runs once every task it depends on has ended: completed, or failed or cancelled where the edge is
not ``required`` (an ordering-only dependency, ``after``: cancelling a correction lets the summary run on
the uncorrected transcript). When a task fails, its pending dependants that require it fail too; when it
is cancelled (or deleted), its pending dependants that require it are cancelled. Both recursively; the
dependants that do not require it may run now. A retried task reopens the dependants
that ended because of it. Every status change here goes through :func:`~stenograph.queue.transitions.transition`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from stenograph.errors import NotFoundError, TransitionError
from stenograph.queue.driver import DriverSQL, TaskSpec
from stenograph.queue.records import TaskRecord
from stenograph.queue.statements import (
    DEPENDENCY_CANCELLED,
    DEPENDENCY_FAILED,
    ENDED_BY,
    PENDING_REQUIRING,
    SELECT_DEPENDENCIES,
    WAITING_DEPENDANTS,
)
from stenograph.queue.states import TaskStatus
from stenograph.queue.transitions import reopen_values, transition

P, F, X = TaskStatus.PENDING, TaskStatus.FAILED, TaskStatus.CANCELLED

#: A new task's (status, error kind, message).
Outcome = tuple[str, str | None, str | None]
FRESH: Outcome = (P.value, None, None)


def cascade(
    conn: Connection, driver: DriverSQL, parent: TaskRecord, now: datetime, forced_status: TaskStatus | None = None
) -> None:
    """End the pending dependants that require a task that failed or was cancelled (``forced_status``: as
    if it had; a deleted task's are cancelled), recursively. Ordering-only dependants are left pending:
    they may run now."""
    status = forced_status or parent.status
    if status not in (F, X):
        return
    # Either ends only the tasks that require it; the others may run now.
    if status == F:
        kind, why = DEPENDENCY_FAILED, "failed"
    else:
        kind, why = DEPENDENCY_CANCELLED, "was cancelled" if forced_status is None else "was deleted"
    message = f"depends on task {parent.id} ({parent.type}), which {why}"
    values = {"finished_at": now, "error_kind": kind, "error_message": message}
    for child_id in conn.execute(PENDING_REQUIRING, {"parent": parent.id}).scalars().all():
        try:
            child = transition(conn, driver, child_id, status, values, sources=(P,), message=message)
        except TransitionError:
            continue
        cascade(conn, driver, child, now)


def reopen_dependants(conn: Connection, driver: DriverSQL, task_id: int) -> None:
    """Reopen the dependants that ended because ``task_id`` failed or was cancelled (it is retried)."""
    for child_id in conn.execute(ENDED_BY, {"parent": task_id}).scalars().all():
        message = f"task {task_id} was retried"
        transition(conn, driver, child_id, P, reopen_values(), sources=(F, X), message=message)
        reopen_dependants(conn, driver, child_id)


def has_waiting_dependants(conn: Connection, driver: DriverSQL, task_ids: Sequence[int]) -> bool:
    """Whether a pending task waits for one of ``task_ids`` (it may run now that they ended)."""
    sql = driver.sql(WAITING_DEPENDANTS, len(task_ids))
    return conn.exec_driver_sql(sql, tuple(task_ids)).first() is not None


def creation_outcomes(conn: Connection, specs: Sequence[TaskSpec]) -> list[Outcome]:
    """Per spec: (status, error kind, message): pending, or failed/cancelled at once when a dependency it
    requires already is (an ordering-only dependency that failed or was cancelled does not hold it back).

    Raises:
        NotFoundError: a dependency names no task.
    """
    wanted = {dep for spec in specs for dep in spec.edges()}
    found: dict[int, Any] = {}
    if wanted:
        found = {row.id: row for row in conn.execute(SELECT_DEPENDENCIES, {"ids": list(wanted)})}
        missing = sorted(wanted - set(found))
        if missing:
            raise NotFoundError(f"task {missing[0]} (a dependency) does not exist")
    outcomes: list[Outcome] = []
    for spec in specs:
        outcome = FRESH
        for dep_id, must in spec.edges().items():
            dep = found[dep_id]
            if dep.status == X and must:
                outcome = (X.value, DEPENDENCY_CANCELLED, f"depends on task {dep_id} ({dep.type}), which was cancelled")
                break
            if dep.status == F and must:
                outcome = (F.value, DEPENDENCY_FAILED, f"depends on task {dep_id} ({dep.type}), which failed")
                break
        outcomes.append(outcome)
    return outcomes
