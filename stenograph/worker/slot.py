"""The parent's view of one task slot: the child process, its pipe, and the batch of tasks it runs."""

from __future__ import annotations

import contextlib
import multiprocessing
import signal
import time
from collections import deque
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.context import SpawnProcess
from typing import Any

from stenograph.queue.records import TaskRecord
from stenograph.settings import Settings
from stenograph.worker.cancel import CancelFlags
from stenograph.worker.child import child_main

_SPAWN = multiprocessing.get_context("spawn")


#: Seconds a batch may run before the tasks it has not started go back to the queue.
BATCH_BUDGET_S = 0.5


@dataclass(eq=False)
class Running:
    """A task sent to a slot, with the monotonic times the parent enforces. ``started`` and ``deadline``
    are set when it becomes the slot's current task (the first of its batch not yet reported)."""

    task: TaskRecord
    started: float | None = None
    deadline: float | None = None
    cancel_seen: float | None = None
    lost: bool = False


class Slot:
    """One child process (spawned, long-lived) and the tasks sent to it, in order, not yet reported."""

    def __init__(self, number: int, settings: Settings) -> None:
        self.number = number
        self.settings = settings
        self.batch: deque[Running] = deque()
        self.ready = False
        self.cancel = CancelFlags(_SPAWN)
        #: The id of the task the child is running (it writes it as each task starts; 0: none yet). A batch's
        #: successes reach the parent in groups, so the first task not reported may have ended already.
        self.current = _SPAWN.RawValue("q", 0)
        self.process: SpawnProcess
        self.conn: Connection
        self.start()

    def start(self) -> None:
        self.ready = False
        parent_end, child_end = _SPAWN.Pipe()
        self.conn = parent_end
        self.process = _SPAWN.Process(
            target=child_main,
            args=(child_end, self.cancel, self.current, self.settings.model_dump(mode="json"), self.number),
            name=f"stenograph-slot-{self.number}",
            daemon=True,
        )
        self.process.start()
        child_end.close()

    @property
    def running(self) -> Running | None:
        """The current task: the first of the batch not yet reported."""
        return self.batch[0] if self.batch else None

    @property
    def active(self) -> Running | None:
        """The task the child is running now, as far as the parent can tell (its deadline starts when the
        parent first sees it), or the first task not reported."""
        task_id = self.current.value
        if task_id:
            for running in self.batch:
                if running.task.id == task_id:
                    self._start(running)
                    return running
        return self.running

    @property
    def busy(self) -> bool:
        return bool(self.batch)

    def run(self, tasks: list[TaskRecord]) -> None:
        """Send ``tasks`` to the child as one batch (after any batch it is still running)."""
        if not self.batch:
            self.cancel.clear()
        self.batch.extend(Running(task) for task in tasks)
        self._start_current()
        payload: list[dict[str, Any]] = [
            {"id": t.id, "type": t.type, "attempt": t.attempts, "params": t.params, "recording_id": t.recording_id}
            for t in tasks
        ]
        self.conn.send(("run", payload, BATCH_BUDGET_S))

    def take(self, task_id: int) -> Running | None:
        """Remove a reported task from the batch (normally its first); the next one becomes current."""
        for running in self.batch:
            if running.task.id == task_id:
                self.batch.remove(running)
                self._start_current()
                return running
        return None

    def find(self, task_id: int) -> Running | None:
        return next((running for running in self.batch if running.task.id == task_id), None)

    def _start_current(self) -> None:
        if self.running is not None:
            self._start(self.running)

    def _start(self, running: Running) -> None:
        if running.started is None:
            timeout = self.settings.timeout_for(running.task.type)
            running.started = time.monotonic()
            running.deadline = running.started + timeout if timeout else None

    def request_cancel(self, running: Running) -> None:
        if running.cancel_seen is None:
            running.cancel_seen = time.monotonic()
        self.cancel.request(running.task.id, running.task.attempts)

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
        self.batch.clear()
        self.cancel.clear()
        self.current.value = 0
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
