"""What a task handler receives: the :class:`TaskContext` protocol.

A handler is ``Callable[[TaskContext, dict[str, Any]], dict[str, Any] | None]``: it takes the context and
the task's params (JSON), and returns the task's result (JSON) or None. It raises a
:class:`stenograph.errors.TaskError` subclass to fail (``PermanentError`` for bad input, which is not
retried; any other exception is retried with backoff).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from stenograph.settings import Settings


class TaskContext(Protocol):
    """The worker's side of a running task, as the handler sees it."""

    task_id: int
    task_type: str
    attempt: int
    settings: Settings

    def report_progress(self, fraction: float, message: str = "", eta_s: float | None = None) -> None:
        """Record progress: ``fraction`` in [0, 1], a short message, an ETA in seconds. Cheap to call often."""

    @property
    def cancelled(self) -> bool:
        """True once a cancel was requested for this task."""

    def raise_if_cancelled(self) -> None:
        """Raise :class:`stenograph.errors.TaskCancelled` when a cancel was requested."""


Handler = Callable[[TaskContext, dict[str, Any]], "dict[str, Any] | None"]
