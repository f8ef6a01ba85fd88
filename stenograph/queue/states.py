"""Task statuses and the transitions allowed between them.

::

    pending ──claim──▶ running ──▶ completed
       │  ▲               │  ├────▶ failed     (error, attempts exhausted or not retryable)
       │  └──retry/lease──┘  └────▶ cancelled  (cancel honoured)
       └──────────────────────────▶ cancelled | failed (dependency failed)
    failed | cancelled ──retry (API)──▶ pending

A task waiting for its dependency or for a retry's backoff is ``pending`` (with ``run_after``).
"""

from __future__ import annotations

from enum import StrEnum


class TaskStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


#: Statuses a task never leaves by itself.
FINISHED: frozenset[TaskStatus] = frozenset({TaskStatus.COMPLETED, TaskStatus.FAILED, TaskStatus.CANCELLED})

#: Every allowed (from, to) pair. ``TaskQueue`` names the from-statuses in each guarded UPDATE.
TRANSITIONS: frozenset[tuple[TaskStatus, TaskStatus]] = frozenset(
    {
        (TaskStatus.PENDING, TaskStatus.RUNNING),
        (TaskStatus.PENDING, TaskStatus.CANCELLED),
        (TaskStatus.PENDING, TaskStatus.FAILED),
        (TaskStatus.RUNNING, TaskStatus.COMPLETED),
        (TaskStatus.RUNNING, TaskStatus.FAILED),
        (TaskStatus.RUNNING, TaskStatus.CANCELLED),
        (TaskStatus.RUNNING, TaskStatus.PENDING),
        (TaskStatus.FAILED, TaskStatus.PENDING),
        (TaskStatus.CANCELLED, TaskStatus.PENDING),
    }
)


def can_transition(from_status: TaskStatus, to_status: TaskStatus) -> bool:
    """True when ``from_status`` → ``to_status`` is an allowed transition."""
    return (from_status, to_status) in TRANSITIONS


def check_transition(sources: tuple[TaskStatus, ...], to_status: TaskStatus, task_id: int | None = None) -> None:
    """The queue's guard on every status change it makes, claims and batch completions included.

    Raises:
        TransitionError: one of ``sources`` → ``to_status`` is not an allowed transition (a bug in the
            caller: raised, never skipped, also under ``python -O``).
    """
    illegal = [source for source in sources if not can_transition(source, to_status)]
    if illegal or not sources:
        from stenograph.errors import TransitionError

        shown = ", ".join(source.value for source in illegal) or "nothing"
        raise TransitionError(f"illegal transition {shown} -> {to_status.value}", task_id=task_id or 0, status=None)


def status_check_sql(column: str = "status") -> str:
    """The CHECK constraint's condition on the task status column, generated from :class:`TaskStatus`."""
    return f"{column} IN ({', '.join(repr(status.value) for status in TaskStatus)})"


def sources_of(to_status: TaskStatus) -> tuple[TaskStatus, ...]:
    """The statuses from which ``to_status`` may be reached, in a stable order."""
    return tuple(s for s in TaskStatus if (s, to_status) in TRANSITIONS)


#: What a person may do with a task, by its status: the API sends it with each task, the web app shows it.
ACTIONS: dict[TaskStatus, tuple[str, ...]] = {
    TaskStatus.PENDING: ("cancel", "delete"),
    TaskStatus.RUNNING: ("cancel",),
    TaskStatus.COMPLETED: ("delete",),
    TaskStatus.FAILED: ("retry", "delete"),
    TaskStatus.CANCELLED: ("retry", "delete"),
}


def allowed_actions(status: str) -> list[str]:
    """The actions the API allows on a task in ``status``: ``cancel``, ``retry``, ``delete``.

    Cancel while it may still stop (pending, running), retry once it failed or was cancelled, delete
    whenever it is not running.
    """
    return list(ACTIONS[TaskStatus(status)])
