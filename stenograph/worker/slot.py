"""The parent's view of one task slot: the child process, its pipe, and the task it runs."""

from __future__ import annotations

import contextlib
import multiprocessing
import signal
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.context import SpawnProcess
from typing import Any

from stenograph.queue.records import TaskRecord
from stenograph.settings import Settings
from stenograph.worker.child import child_main

_SPAWN = multiprocessing.get_context("spawn")


@dataclass
class Running:
    """The task a slot runs, with the monotonic times the parent enforces."""

    task: TaskRecord
    started: float
    deadline: float | None
    cancel_seen: float | None = None
    lost: bool = False


class Slot:
    """One child process (spawned, long-lived) and the task it is running, if any."""

    def __init__(self, number: int, settings: Settings) -> None:
        self.number = number
        self.settings = settings
        self.running: Running | None = None
        self.ready = False
        self.cancel_event = _SPAWN.Event()
        self.process: SpawnProcess
        self.conn: Connection
        self.start()

    def start(self) -> None:
        self.ready = False
        parent_end, child_end = _SPAWN.Pipe()
        self.conn = parent_end
        self.process = _SPAWN.Process(
            target=child_main,
            args=(child_end, self.cancel_event, self.settings.model_dump(mode="json"), self.number),
            name=f"stenograph-slot-{self.number}",
            daemon=True,
        )
        self.process.start()
        child_end.close()

    @property
    def busy(self) -> bool:
        return self.running is not None

    def run(self, task: TaskRecord) -> None:
        timeout = self.settings.timeout_for(task.type)
        now = time.monotonic()
        self.cancel_event.clear()
        self.running = Running(task, now, now + timeout if timeout else None)
        payload: dict[str, Any] = {
            "id": task.id,
            "type": task.type,
            "attempt": task.attempts,
            "params": task.params,
            "recording_id": task.recording_id,
        }
        self.conn.send(("run", payload))

    def request_cancel(self) -> None:
        if self.running is not None and self.running.cancel_seen is None:
            self.running.cancel_seen = time.monotonic()
        self.cancel_event.set()

    def kill(self) -> None:
        """Kill the child at once (SIGKILL) and reap it."""
        with contextlib.suppress(ProcessLookupError):
            if self.process.pid is not None:
                import os

                os.kill(self.process.pid, signal.SIGKILL)
        self.process.join(5)
        self.conn.close()

    def restart(self) -> None:
        """Replace a dead or killed child by a fresh one."""
        if self.process.is_alive():
            self.kill()
        else:
            self.process.join(1)
            self.conn.close()
        self.running = None
        self.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Ask an idle child to exit; kill it when it does not within ``timeout`` seconds."""
        with contextlib.suppress(BrokenPipeError, OSError):
            self.conn.send(("stop",))
        self.process.join(timeout)
        if self.process.is_alive():
            self.kill()
        else:
            self.conn.close()
