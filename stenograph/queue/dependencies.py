"""Dependencies between tasks (the ``task_dependencies`` edges, revision 0006).

A task runs once every task it depends on has ended: completed, or failed where the edge is not
``required``. When a task fails, its pending dependants that require it fail too; when it is cancelled (or
deleted), every pending dependant is cancelled. Both recursively. A retried task reopens the dependants
that ended because of it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, exists, select, true

from stenograph import clock
from stenograph.db.models import dependencies_table, tasks_table
from stenograph.errors import TransitionError
from stenograph.queue.records import TaskRecord
from stenograph.queue.states import TaskStatus

T = tasks_table
D = dependencies_table
P, F, X = TaskStatus.PENDING, TaskStatus.FAILED, TaskStatus.CANCELLED

#: Error kinds set on dependants when the task they depend on fails or is cancelled.
DEPENDENCY_FAILED = "dependency_failed"
DEPENDENCY_CANCELLED = "dependency_cancelled"


class Dependencies:
    """The dependency rules of :class:`~stenograph.queue.manager.TaskQueue` (which provides ``_transition``)."""

    _transition: Any  # TaskQueue._transition: the one guarded status change

    def _cascade(
        self, conn: Connection, parent: TaskRecord, now: datetime, forced_status: TaskStatus | None = None
    ) -> None:
        """End the pending dependants of a task that failed or was cancelled (recursively)."""
        status = forced_status or TaskStatus(parent.status)
        if status not in (F, X):
            return
        if status == F:
            kind, why = DEPENDENCY_FAILED, "failed"
        else:
            kind, why = DEPENDENCY_CANCELLED, "was cancelled" if forced_status is None else "was deleted"
        message = f"depends on task {parent.id} ({parent.type}), which {why}"
        edges = select(D.c.task_id).where(D.c.depends_on == parent.id)
        if status == F:  # a failure ends only the tasks that require it; the others may run now
            edges = edges.where(D.c.required == true())
        ids = conn.execute(select(T.c.id).where(T.c.id.in_(edges), T.c.status == P)).scalars().all()
        for child_id in ids:
            try:
                child = self._transition(
                    conn,
                    child_id,
                    status,
                    {"finished_at": now, "error_kind": kind, "error_message": message},
                    sources=(P,),
                    message=message,
                )
            except TransitionError:
                continue
            self._cascade(conn, child, now)

    def _reopen_dependants(self, conn: Connection, task_id: int) -> None:
        ids = (
            conn.execute(
                select(T.c.id).where(
                    T.c.id.in_(select(D.c.task_id).where(D.c.depends_on == task_id)),
                    T.c.status.in_((F, X)),
                    T.c.error_kind.in_((DEPENDENCY_FAILED, DEPENDENCY_CANCELLED)),
                )
            )
            .scalars()
            .all()
        )
        for child_id in ids:
            self._transition(conn, child_id, P, reopen_values(), sources=(F, X), message=f"task {task_id} was retried")
            self._reopen_dependants(conn, child_id)

    @staticmethod
    def _has_waiting_dependants(conn: Connection, task_id: int) -> bool:
        """Whether a pending task waits for ``task_id`` (it may run now that ``task_id`` ended)."""
        waiting = select(D.c.task_id).join(T, T.c.id == D.c.task_id).where(D.c.depends_on == task_id, T.c.status == P)
        return conn.execute(waiting.limit(1)).first() is not None


def blocked_by_dependency(task: Any) -> Any:
    """SQL: the task ``task`` (a ``tasks`` table or alias) waits for a dependency that has not ended (or
    failed where required)."""
    dep = T.alias("dep")
    return exists(
        select(D.c.depends_on)
        .join(dep, dep.c.id == D.c.depends_on)
        .where(
            D.c.task_id == task.c.id, dep.c.status != "completed", (D.c.required == true()) | (dep.c.status != "failed")
        )
    )


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
