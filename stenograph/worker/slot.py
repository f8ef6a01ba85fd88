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
from stenograph.worker.child import child_main
from stenograph.worker.shared import CancelFlags, StartGate

_SPAWN = multiprocessing.get_context("spawn")


#: Seconds one task of a batch may run before the tasks queued after it go back to the queue (the parent
#: watches the task its slot runs, and batches are sized to about half of it).
BATCH_BUDGET_S = 0.5
#: Seconds a whole batch may run, its tasks all short, before its slot gives back the ones it has not started
#: (a safety net for a run-time estimate gone wrong; tighter, a busy machine's batches churned: each give-back
#: is a claim and a release in the events log, and the same worker claims them again at once).
BATCH_RUN_LIMIT_S = 4 * BATCH_BUDGET_S


def describe_exit(code: int | None) -> str:
    """'exit code 3' or 'killed by SIGKILL' for a slot process's exit code (``Process.exitcode``)."""
    if code is None:
        return "still running"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


@dataclass(eq=False)
class Running:
    """A task sent to a slot, with the monotonic times the parent enforces. ``started`` and ``deadline``
    are set when it becomes the slot's current task (the first of its batch not yet reported)."""

    task: TaskRecord
    seq: int = 0  # the slot's sequence number of this task (see StartGate)
    started: float | None = None
    deadline: float | None = None
    cancel_seen: float | None = None
    lost: bool = False
    #: Whether the queue knows when it started (its claim did, or the heartbeat reported it).
    marked: bool = False
    #: The newest progress (fraction, message, eta_s) the heartbeat thread has not written yet.
    progress: tuple[float, str | None, float | None] | None = None


class Slot:
    """One child process (spawned, long-lived) and the tasks sent to it, in order, not yet reported."""

    def __init__(self, number: int, settings: Settings) -> None:
        self.number = number
        self.settings = settings
        self.batch: deque[Running] = deque()
        self.ready = False
        self.cancel = CancelFlags(_SPAWN)
        #: Which task the child runs (a batch's successes reach the parent in groups, so the first task not
        #: reported may have ended already), and which queued tasks it must not start.
        self.gate = StartGate(_SPAWN)
        self._seq = 0
        #: A cancel was requested for a task of the batch since the worker last looked (see the worker).
        self.cancels_pending = False
        self.process: SpawnProcess
        self.conn: Connection
        self.start()

    def start(self) -> None:
        self.ready = False
        parent_end, child_end = _SPAWN.Pipe()
        self.conn = parent_end
        self.process = _SPAWN.Process(
            target=child_main,
            args=(child_end, self.cancel, self.gate, self.settings.model_dump(mode="json"), self.number),
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
        task_id = self.gate.current
        if task_id:
            for running in self.batch:
                if running.task.id == task_id:
                    self._start(running, self.gate.started or None)
                    return running
        return self.running

    @property
    def busy(self) -> bool:
        return bool(self.batch)

    def run(self, tasks: list[TaskRecord]) -> None:
        """Send ``tasks`` to the child as one batch (after any batch it is still running)."""
        if not self.batch:
            self.cancel.clear()
        first = self._seq + 1
        self._seq += len(tasks)
        self.batch.extend(
            Running(task, seq, marked=task.started_at is not None) for seq, task in enumerate(tasks, first)
        )
        self._start_current()
        payload: list[dict[str, Any]] = [
            {
                "id": t.id,
                "seq": seq,
                "type": t.type,
                "attempt": t.attempts,
                "params": t.params,
                "recording_id": t.recording_id,
            }
            for seq, t in enumerate(tasks, first)
        ]
        self.conn.send(("run", payload, BATCH_RUN_LIMIT_S))

    def take(self, task_id: int) -> Running | None:
        """Remove a reported task from the batch (normally its first); the next one becomes current."""
        for running in self.batch:
            if running.task.id == task_id:
                self.batch.remove(running)
                self._start_current()
                return running
        return None

    def revoke_unstarted(self, first: Running | None = None) -> list[Running]:
        """Take back the tasks the child has not started: all those queued after the one it runs, or
        ``first`` and those after it (nothing when the child has started ``first``). They leave the batch;
        the child will skip them."""
        with self.gate.held():
            batch = list(self.batch)
            started = next((i for i, r in enumerate(batch) if r.task.id == self.gate.current), -1)
            start = started + 1
            if first is not None:
                wanted = next((i for i, r in enumerate(batch) if r is first), None)
                if wanted is None or wanted <= started:
                    return []
                start = wanted
            revoked = batch[start:]
            if revoked:
                self.gate.revoke(revoked[0].seq, revoked[-1].seq)
                self.batch = deque(batch[:start])
        return revoked

    def started_unmarked(self) -> Running | None:
        """The task the child has started whose start the queue does not know yet, if any."""
        task_id = self.gate.current
        running = self.find(task_id) if task_id else None
        if running is None or running.marked or running.lost:
            return None
        self._start(running, self.gate.started or None)
        return running

    def find(self, task_id: int) -> Running | None:
        return next((running for running in self.batch if running.task.id == task_id), None)

    def _start_current(self) -> None:
        if self.running is not None:
            self._start(self.running)

    def _start(self, running: Running, at: float | None = None) -> None:
        """Note when ``running`` started (``at``: the child's own monotonic time, else now) and its deadline."""
        if running.started is None:
            timeout = self.settings.timeout_for(running.task.type)
            running.started = at or time.monotonic()
            running.deadline = running.started + timeout if timeout else None

    def request_cancel(self, running: Running) -> None:
        if running.cancel_seen is None:
            running.cancel_seen = time.monotonic()
            self.cancels_pending = True
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
        self.gate.reset()
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
