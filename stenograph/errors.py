"""Stenograph's exception tree. Every error the package raises on purpose derives from one root.

::

    StenographError
    ├── ConfigurationError          settings that cannot work together
    ├── NotFoundError               an unknown task, recording or worker id
    ├── TransitionError             a guarded state change found the task in another state
    ├── TaskError                   raised by a task handler; decides the retry
    │   ├── RetryableError          transient: retried with backoff (LLM server down, timeout)
    │   ├── PermanentError          retrying cannot fix it: fails at once
    │   │   ├── MediaError          not media, no audio stream, truncated past recovery
    │   │   └── DependencyFailed    the task this one depends on failed
    │   ├── TaskCancelled           the handler saw a cancel request and stopped
    │   └── WrongWorker             this worker cannot run it (the file is elsewhere): given back, uncharged
    └── LLMError                    an LLM backend failed (see stenograph.llm.errors)

The API maps these to HTTP answers in one handler (``stenograph.api.errors``).
"""

from __future__ import annotations


class StenographError(Exception):
    """Root of every error Stenograph raises on purpose."""

    code = "error"


class ConfigurationError(StenographError):
    code = "configuration_error"


class NotFoundError(StenographError):
    code = "not_found"


class TransitionError(StenographError):
    """A guarded transition changed nothing: the task was not in a state it may leave that way.

    Attributes:
        task_id: the task.
        status: its current status, or None when it does not exist.
    """

    code = "illegal_transition"

    def __init__(self, message: str, *, task_id: int, status: str | None) -> None:
        super().__init__(message)
        self.task_id = task_id
        self.status = status


class TaskError(StenographError):
    """Base of errors raised by task handlers. ``kind`` is stored as the task's error kind."""

    kind = "task_error"
    retryable = True

    def __init__(self, message: str, *, kind: str | None = None) -> None:
        super().__init__(message)
        if kind is not None:
            self.kind = kind


class RetryableError(TaskError):
    kind = "retryable"
    retryable = True


class PermanentError(TaskError):
    kind = "permanent"
    retryable = False


class MediaError(PermanentError):
    kind = "bad_media"


class DependencyFailed(PermanentError):
    kind = "dependency_failed"


class TaskCancelled(TaskError):
    """Raised by ``TaskContext.raise_if_cancelled`` when a cancel was requested."""

    kind = "cancelled"
    retryable = False


class WrongWorker(TaskError):
    """This worker cannot run the task, another can: the recording's file is in another data directory.
    The worker gives the task back uncharged, with ``affinity`` naming the data directory that can run it.
    """

    kind = "wrong_worker"
    retryable = True

    def __init__(self, message: str, *, affinity: str | None) -> None:
        super().__init__(message)
        self.affinity = affinity


class LLMError(StenographError):
    code = "llm_error"


#: The most characters of one input an error message quotes back (a 100 KB value stays out of the answer).
MAX_ECHO_CHARS = 200


def cut_text(text: str, limit: int = MAX_ECHO_CHARS) -> str:
    """``text``, or its first ``limit`` characters and ``…`` when longer."""
    return text if len(text) <= limit else text[:limit] + "…"


def echo(value: object, limit: int = MAX_ECHO_CHARS) -> str:
    """``value`` quoted as an error message shows an input (its ``repr``), a string over ``limit`` characters
    cut to its first ``limit`` and followed by its length: ``'abc…' (100,000 characters)``. A list or tuple
    is shown item by item, at most 10 of them."""
    if isinstance(value, str):
        if len(value) <= limit:
            return repr(value)
        return f"{cut_text(value, limit)!r} ({len(value):,} characters)"
    if isinstance(value, list | tuple):
        items = [echo(item, limit) for item in value[:10]]
        more = [f"... {len(value) - 10} more"] if len(value) > 10 else []
        return "[" + ", ".join(items + more) + "]"
    return cut_text(repr(value), limit)
