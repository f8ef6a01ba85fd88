"""State a worker shares with one slot process: cancel requests per task attempt, and the start gate.

Cancel requests.

A slot runs a batch of tasks one after another, so a request must name the attempt it is for: a request
for a task later in the batch must not stop the one running now, and must still be seen when that task
starts. The parent writes ``(task id, attempt)`` into a small ring shared with the child and then sets an
event; the child checks the event first (a cheap read that is false almost always) and the ring only
when it is set.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import time
from collections.abc import Iterator
from multiprocessing.context import SpawnContext

#: Requests remembered per slot; the oldest is forgotten first (a batch rarely holds more than one).
RING_SIZE = 8


class CancelFlags:
    """Cancel requests shared by a worker and one slot process (picklable to a spawned child).

    Args:
        context: the ``spawn`` multiprocessing context the slot's process is started with.
    """

    def __init__(self, context: SpawnContext | None = None) -> None:
        ctx = context or multiprocessing.get_context("spawn")
        self._event = ctx.Event()
        self._ring = ctx.Array("q", 2 * RING_SIZE)
        self._next = ctx.Value("i", 0)

    def request(self, task_id: int, attempt: int) -> None:
        """Ask the child to stop ``task_id``'s attempt ``attempt`` (now or when it starts)."""
        with self._next.get_lock():
            index = self._next.value
            self._next.value = (index + 1) % RING_SIZE
        with self._ring.get_lock():
            self._ring[2 * index] = task_id
            self._ring[2 * index + 1] = attempt
        self._event.set()

    def is_requested(self, task_id: int, attempt: int) -> bool:
        """True when a request names this attempt."""
        if not self._event.is_set():
            return False
        with self._ring.get_lock():
            ring = self._ring[:]
        return any(ring[i] == task_id and ring[i + 1] == attempt for i in range(0, len(ring), 2))

    def clear(self) -> None:
        """Forget every request (the slot's process is idle or being replaced)."""
        with self._ring.get_lock():
            for i in range(len(self._ring)):
                self._ring[i] = 0
        self._event.clear()


class StartGate:
    """Which task of its batches a slot process is running, and which it must not start.

    The child passes the gate before each task (:meth:`enter`): it records the task as started unless the
    parent revoked it. The parent, holding the gate (:meth:`held`), reads the running task and revokes the
    tasks queued after it (:meth:`revoke`), so that no revoked task can start afterwards: it can then put
    them back to pending at once. Tasks carry a sequence number, increasing per slot; a revocation is a
    range of them.

    Args:
        context: the ``spawn`` multiprocessing context the slot's process is started with.
    """

    def __init__(self, context: SpawnContext | None = None) -> None:
        ctx = context or multiprocessing.get_context("spawn")
        self._lock = ctx.Lock()
        self._current = ctx.RawValue("q", 0)
        self._started = ctx.RawValue("d", 0.0)  # time.monotonic() at its start: CLOCK_MONOTONIC, system-wide
        self._revoked = ctx.RawArray("q", 2)  # (lo, hi]: sequence numbers that must not start

    def enter(self, task_id: int, seq: int) -> bool:
        """The child, before a task: True (and the task is recorded as running) unless it was revoked."""
        with self._lock:
            if self._revoked[0] < seq <= self._revoked[1]:
                return False
            self._current.value = task_id
            self._started.value = time.monotonic()
            return True

    @property
    def current(self) -> int:
        """The id of the task the child started last (0: none since :meth:`reset`)."""
        return int(self._current.value)

    @property
    def started(self) -> float:
        """When the child started the current task, in ``time.monotonic()`` seconds (Linux's monotonic
        clock is one for every process of the machine), 0.0 when none."""
        return float(self._started.value)

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        """Hold the gate: the child starts no task meanwhile."""
        with self._lock:
            yield

    def revoke(self, first_seq: int, last_seq: int) -> None:
        """Under :meth:`held`: the tasks numbered ``first_seq`` to ``last_seq`` must not start."""
        self._revoked[0] = first_seq - 1
        self._revoked[1] = last_seq

    def reset(self) -> None:
        """A new child process: nothing started, nothing revoked."""
        with self._lock:
            self._current.value = 0
            self._revoked[0] = self._revoked[1] = 0
