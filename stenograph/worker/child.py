"""A worker's task slot: a long-lived child process that runs its tasks one at a time.

The child keeps what its handlers load (Whisper, an LLM) between tasks. It talks to its parent over a
pipe; the parent alone changes task statuses and holds leases, so a native crash, a hang or a leak in a
handler cannot stop the heartbeat or take down other slots.

Before each task the child writes its id to a shared integer, so that the parent knows which task a
crash, a hang or a cancel concerns even while the batch's successes wait to be sent.

Messages, parent → child: ``("run", [task, ...], budget_s)`` where a task is ``{"id", "type", "attempt",
"params", "recording_id"}``; ``("stop",)``. The tasks of one ``run`` are a batch: they run in order; once
``budget_s`` has passed since the batch began, the ones not started go back as ``unstarted``.

Child → parent: ``("ready", pid)``, ``("progress", id, fraction, message, eta_s)``,
``("done", [(id, result, started, ended), ...])`` (times in seconds since the epoch; successes are sent
together at most every :data:`DONE_FLUSH_S`, and always before any other message), ``("error", id, kind,
message, retryable, traceback)``, ``("cancelled", id, message)``, ``("unstarted", [id, ...])``.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import signal
import sys
import time
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any, Protocol

from stenograph.errors import TaskCancelled, TaskError
from stenograph.settings import Settings
from stenograph.worker.cancel import CancelFlags

#: Seconds between two progress messages of one task (the parent writes each one to the database).
PROGRESS_INTERVAL_S = 1.0

#: Seconds a child holds successes before sending them (one message for a group of short tasks).
DONE_FLUSH_S = 0.01

PR_SET_PDEATHSIG = 1


class SharedInt(Protocol):
    """A shared integer (``multiprocessing.RawValue("q")``)."""

    value: int


class ChildContext:
    """The :class:`~stenograph.queue.context.TaskContext` a handler gets in the child process."""

    def __init__(
        self, send: Callable[[tuple[Any, ...]], None], cancel: CancelFlags, settings: Settings, task: dict[str, Any]
    ) -> None:
        self._send = send
        self._cancel = cancel
        self.settings = settings
        self.task_id: int = task["id"]
        self.task_type: str = task["type"]
        self.attempt: int = task["attempt"]
        self.recording_id: int | None = task.get("recording_id")
        self._last_sent = 0.0

    def report_progress(self, fraction: float, message: str = "", eta_s: float | None = None) -> None:
        now = time.monotonic()
        # Throttled, except the reports that open a phase (0) or close the task (1): a dropped
        # "loading the model" would leave the previous phase's message showing for minutes.
        if now - self._last_sent < PROGRESS_INTERVAL_S and 0.0 < fraction < 1.0:
            return
        self._last_sent = now
        self._send(("progress", self.task_id, float(fraction), message, eta_s))

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_requested(self.task_id, self.attempt)

    def raise_if_cancelled(self) -> None:
        if self.cancelled:
            raise TaskCancelled("cancelled on request")


def _die_with_parent() -> None:
    """Ask Linux to SIGKILL this process when its parent dies (prctl PR_SET_PDEATHSIG)."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def child_main(
    conn: Connection, cancel: CancelFlags, current: SharedInt, settings_data: dict[str, Any], slot: int
) -> None:
    """Entry point of a slot process (``multiprocessing`` spawn target)."""
    _die_with_parent()
    # The parent decides when its children stop: a terminal's Ctrl-C reaches the whole process group.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format=f"%(asctime)s %(levelname)s [slot {slot}] %(name)s: %(message)s",
    )
    settings = Settings(**settings_data)
    conn.send(("ready", _pid()))
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message[0] == "stop":
            return
        try:
            _run_batch(conn, cancel, current, settings, message[1], message[2])
        except (BrokenPipeError, OSError):
            return


def _run_batch(
    conn: Connection,
    cancel: CancelFlags,
    current: SharedInt,
    settings: Settings,
    tasks: list[dict[str, Any]],
    budget_s: float,
) -> None:
    """Run ``tasks`` in order; successes are reported in groups, anything else at once (after them)."""
    from stenograph.worker.handlers import resolve_handler

    done: list[tuple[int, Any, float, float]] = []
    began = last_flush = time.monotonic()

    def send(message: tuple[Any, ...]) -> None:
        if done:
            conn.send(("done", done.copy()))
            done.clear()
        conn.send(message)

    for index, task in enumerate(tasks):
        if index and time.monotonic() - began > budget_s:
            send(("unstarted", [later["id"] for later in tasks[index:]]))
            return
        ctx = ChildContext(send, cancel, settings, task)
        current.value = task["id"]
        started = time.time()
        try:
            handler = resolve_handler(task["type"], task["params"])
            done.append((task["id"], handler(ctx, task["params"]), started, time.time()))
        except TaskCancelled as exc:
            send(("cancelled", task["id"], str(exc)))
        except TaskError as exc:
            send(("error", task["id"], exc.kind, str(exc), exc.retryable, traceback.format_exc()))
        except Exception as exc:  # a handler's unexpected error: retried with backoff
            send(("error", task["id"], type(exc).__name__, str(exc) or repr(exc), True, traceback.format_exc()))
        if done and time.monotonic() - last_flush >= DONE_FLUSH_S:
            conn.send(("done", done.copy()))
            done.clear()
            last_flush = time.monotonic()
    if done:
        conn.send(("done", done))


def _pid() -> int:
    import os

    return os.getpid()
