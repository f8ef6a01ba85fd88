"""The durable task queue: statuses, the retry decision, and the guarded operations on tasks.

Public names are re-exported here; the modules behind them are private to the package. ``TaskQueue`` is
imported on first use, so that a module importing only the handler's side of the package
(``stenograph.queue.context``, in a worker's slot process) does not load SQLAlchemy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from stenograph.queue.records import TaskEventRecord, TaskRecord, WorkerRecord
from stenograph.queue.retry import RetryDecision, backoff_seconds, decide_retry
from stenograph.queue.states import FINISHED, TaskStatus

if TYPE_CHECKING:
    from stenograph.queue.manager import TaskQueue

__all__ = [
    "FINISHED",
    "RetryDecision",
    "TaskEventRecord",
    "TaskQueue",
    "TaskRecord",
    "TaskStatus",
    "WorkerRecord",
    "backoff_seconds",
    "decide_retry",
]


def __getattr__(name: str) -> Any:
    if name == "TaskQueue":
        from stenograph.queue.manager import TaskQueue

        return TaskQueue
    raise AttributeError(f"module 'stenograph.queue' has no attribute {name!r}")
