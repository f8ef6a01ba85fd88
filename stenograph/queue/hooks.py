"""The queue's ``on_finished`` hooks: plug-ins told, in the transaction that ended them, of the tasks that
completed or failed for good (a cancel calls no hook; the webhook step enqueues its deliveries there, so none is
lost to a crash between the ending and the enqueue). The queue knows nothing of what a hook does."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from sqlalchemy import Connection

if TYPE_CHECKING:
    from stenograph.queue.manager import TaskQueue

#: ``(queue, connection, ids of tasks that just ended)``, run in the transaction that ended them.
FinishHook = Callable[["TaskQueue", Connection, Sequence[int]], None]


def run_hooks(hooks: Sequence[FinishHook], queue: TaskQueue, conn: Connection, ids: Sequence[int]) -> None:
    """Run each hook on ``ids`` (nothing when no task ended)."""
    if ids:
        for hook in hooks:
            hook(queue, conn, ids)
