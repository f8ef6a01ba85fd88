"""A worker's task slot: a long-lived child process that runs its tasks one at a time.

The child keeps what its handlers load (Whisper, an LLM) between tasks. It talks to its parent over a
pipe; the parent alone changes task statuses and holds leases, so a native crash, a hang or a leak in a
handler cannot stop the heartbeat or take down other slots.

Before each task the child passes a :class:`~stenograph.worker.shared.StartGate`: it records the task
as running, so that the parent knows which task a crash, a hang or a cancel concerns even while the
batch's successes wait to be sent, and it skips a task the parent has revoked (given back to pending
because a task before it ran long, or the worker is stopping).

Messages, parent → child: ``("run", [task, ...], budget_s)`` where a task is ``{"id", "seq", "type", "attempt",
"params", "recording_id"}``; ``("stop",)``. The tasks of one ``run`` are a batch: they run in order; once
``budget_s`` has passed since the batch began, the ones not started go back as ``unstarted``.

Child → parent: ``("ready", pid)``, ``("progress", id, fraction, message, eta_s)``,
``("done", [(id, result, started, ended), ...])`` (times in seconds since the epoch; successes are sent
together, at most :data:`DONE_FLUSH_S` after the first of them, and always before any other message),
``("error", id, kind, message, retryable, traceback)``, ``("cancelled", id, message)``,
``("elsewhere", id, affinity, message)`` (another data directory's workers must run it),
``("unstarted", [id, ...])``.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from stenograph.errors import TaskCancelled, TaskError, WrongWorker
from stenograph.settings import Settings
from stenograph.worker.shared import CancelFlags, StartGate

#: Seconds between two progress messages of one task (the parent writes each one to the database).
PROGRESS_INTERVAL_S = 1.0

#: Seconds a child holds successes before sending them (one message for a group of short tasks).
DONE_FLUSH_S = 0.01

PR_SET_PDEATHSIG = 1


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
    conn: Connection, cancel: CancelFlags, gate: StartGate, settings_data: dict[str, Any], slot: int
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
    report = Reporter(conn)
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message[0] == "stop":
            return
        try:
            _run_batch(report, cancel, gate, settings, message[1], message[2])
        except (BrokenPipeError, OSError):
            return


class Reporter:
    """A slot process's messages to its parent, in order.

    Successes wait in a group, sent at most :data:`DONE_FLUSH_S` after the first of them: by the runner
    after a task, or by a background thread while a long task runs (so that a short task's success is not
    held back by the long one after it). Any other message is sent after the group before it.
    """

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._cond = threading.Condition()
        self._done: list[tuple[int, Any, float, float]] = []
        self._since = 0.0  # monotonic time of the oldest unsent success
        threading.Thread(target=self._flush_late, name="reporter", daemon=True).start()

    def success(self, task_id: int, result: Any, started: float, ended: float) -> None:
        with self._cond:
            if not self._done:
                self._since = time.monotonic()
                self._cond.notify()
            self._done.append((task_id, result, started, ended))
            if time.monotonic() - self._since >= DONE_FLUSH_S:
                self._flush()

    def send(self, message: tuple[Any, ...]) -> None:
        with self._cond:
            self._flush()
            self._conn.send(message)

    def flush(self) -> None:
        with self._cond:
            self._flush()

    def _flush(self) -> None:  # the lock is held
        if self._done:
            done, self._done = self._done, []
            self._conn.send(("done", done))

    def _flush_late(self) -> None:
        with self._cond:
            while True:
                while not self._done:
                    self._cond.wait()
                left = self._since + DONE_FLUSH_S - time.monotonic()
                if left > 0:
                    self._cond.wait(left)
                elif self._done:
                    try:
                        self._flush()
                    except OSError:  # the parent is gone
                        return


def _run_batch(
    report: Reporter,
    cancel: CancelFlags,
    gate: StartGate,
    settings: Settings,
    tasks: list[dict[str, Any]],
    budget_s: float,
) -> None:
    """Run ``tasks`` in order; successes are reported in groups, anything else at once (after them)."""
    from stenograph.worker.handlers import resolve_handler

    began = time.monotonic()
    for index, task in enumerate(tasks):
        if index and time.monotonic() - began > budget_s:
            report.send(("unstarted", [later["id"] for later in tasks[index:]]))
            return
        if not gate.enter(task["id"], task["seq"]):
            continue  # revoked by the parent, which has put it back to pending
        ctx = ChildContext(report.send, cancel, settings, task)
        started = time.time()
        try:
            handler = resolve_handler(task["type"], task["params"])
            report.success(task["id"], handler(ctx, task["params"]), started, time.time())
        except TaskCancelled as exc:
            report.send(("cancelled", task["id"], str(exc)))
        except WrongWorker as exc:
            report.send(("elsewhere", task["id"], exc.affinity, str(exc)))
        except TaskError as exc:
            # An expected failure (a TaskError says what went wrong): its message is enough, no traceback.
            report.send(("error", task["id"], exc.kind, str(exc), exc.retryable, ""))
        except Exception as exc:  # a handler's unexpected error: retried with backoff
            report.send(("error", task["id"], type(exc).__name__, str(exc) or repr(exc), True, traceback.format_exc()))
    report.flush()


def _pid() -> int:
    import os

    return os.getpid()
