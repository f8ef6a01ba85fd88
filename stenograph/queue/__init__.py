"""The durable task queue: statuses, the retry decision, and the guarded operations on tasks.

Public names are re-exported here; the modules behind them are private to the package.
"""

from stenograph.queue.manager import TaskQueue
from stenograph.queue.records import TaskEventRecord, TaskRecord, WorkerRecord
from stenograph.queue.retry import RetryDecision, backoff_seconds, decide_retry
from stenograph.queue.states import FINISHED, TaskStatus

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
