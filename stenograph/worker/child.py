"""A worker's task slot: a long-lived child process that runs one task at a time.

The child keeps what its handlers load (Whisper, an LLM) between tasks. It talks to its parent over a
pipe; the parent alone changes task statuses and holds leases, so a native crash, a hang or a leak in a
handler cannot stop the heartbeat or take down other slots.

Messages, parent → child: ``("run", {"id", "type", "attempt", "params"})``, ``("stop",)``.
Child → parent: ``("ready", pid)``, ``("progress", fraction, message, eta_s)``, ``("done", result)``,
``("error", kind, message, retryable, traceback)``, ``("cancelled", message)``.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import signal
import sys
import time
import traceback
from multiprocessing.connection import Connection
from multiprocessing.synchronize import Event
from typing import Any

from stenograph.errors import TaskCancelled, TaskError
from stenograph.settings import Settings

#: Seconds between two progress messages of one task (the parent writes each one to the database).
PROGRESS_INTERVAL_S = 1.0

PR_SET_PDEATHSIG = 1


class ChildContext:
    """The :class:`~stenograph.queue.context.TaskContext` a handler gets in the child process."""

    def __init__(self, conn: Connection, cancel_event: Event, settings: Settings, task: dict[str, Any]) -> None:
        self._conn = conn
        self._cancel = cancel_event
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
        self._conn.send(("progress", float(fraction), message, eta_s))

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def raise_if_cancelled(self) -> None:
        if self._cancel.is_set():
            raise TaskCancelled("cancelled on request")


def _die_with_parent() -> None:
    """Ask Linux to SIGKILL this process when its parent dies (prctl PR_SET_PDEATHSIG)."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def child_main(conn: Connection, cancel_event: Event, settings_data: dict[str, Any], slot: int) -> None:
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
    from stenograph.worker.handlers import resolve_handler

    conn.send(("ready", _pid()))
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message[0] == "stop":
            return
        task: dict[str, Any] = message[1]
        cancel_event.clear()
        ctx = ChildContext(conn, cancel_event, settings, task)
        try:
            handler = resolve_handler(task["type"], task["params"])
            result = handler(ctx, task["params"])
            reply: tuple[Any, ...] = ("done", result)
        except TaskCancelled as exc:
            reply = ("cancelled", str(exc))
        except TaskError as exc:
            reply = ("error", exc.kind, str(exc), exc.retryable, traceback.format_exc())
        except Exception as exc:  # a handler's unexpected error: retried with backoff
            reply = ("error", type(exc).__name__, str(exc) or repr(exc), True, traceback.format_exc())
        try:
            conn.send(reply)
        except (BrokenPipeError, OSError):
            return


def _pid() -> int:
    import os

    return os.getpid()
