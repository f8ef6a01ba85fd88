"""The interface every compared queue implements (:class:`QueuePeer`), and process helpers.

Every peer runs the same no-op task: it appends one line ``key attempt pid start end`` to a *witness* file
(times in seconds since the epoch, from ``time.time()`` at the start and end of the task's body) and
returns. The harness (:mod:`bench.queue_bench`) reads every figure from those lines, so the clock and the
bookkeeping are the same for every peer; only the queue in between changes.
"""

from __future__ import annotations

import os
import subprocess
import sys
from abc import ABC, abstractmethod
from pathlib import Path

from bench.common import REPO


class QueuePeer(ABC):
    """One queue under test, used as its own documentation says.

    Attributes:
        name: the row's label.
        guarantees: what the queue promises by default (delivery, what happens to a task whose worker dies).
        worker_note: how its workers run (processes, threads, forking), as printed next to the row.
        idle_gap_s: see below.
    """

    name: str = ""
    guarantees: str = ""
    worker_note: str = ""
    #: Seconds the latency measurement waits between one task's start and the next enqueue (drawn uniformly):
    #: long enough for the worker to go idle again, and, for a polling worker, spread over its poll period.
    idle_gap_s: tuple[float, float] = (0.05, 0.3)

    def unavailable(self) -> str | None:
        """Why this peer cannot run here (its server does not answer, a package is missing), or None."""
        return None

    @abstractmethod
    def setup(self, scratch: Path) -> None:
        """Create fresh, empty storage for one measurement (a new file or database under ``scratch``)."""

    @abstractmethod
    def durability(self) -> str:
        """The storage's durability settings, read from the storage itself (after :meth:`setup`)."""

    @abstractmethod
    def enqueue(self, witness: Path, key: str) -> str:
        """Enqueue one no-op task that records ``key`` in ``witness``, the way the peer's users would.

        Returns:
            the key its witness line will carry: ``key``, or the task's own id where the handler writes that.
        """

    @abstractmethod
    def start_workers(self, count: int, log: Path) -> list[subprocess.Popen[bytes]]:
        """Start ``count`` workers (processes, or one consumer with ``count`` workers); output to ``log``."""

    @abstractmethod
    def teardown(self) -> None:
        """Drop the storage made by :meth:`setup` (also after a failed or partial setup)."""


def spawn(args: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """Start ``args`` in the repository root with the benchmark's modules importable; output to ``log``."""
    environment = dict(os.environ if env is None else env)
    environment["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), environment.get("PYTHONPATH")]))
    environment["PYTHONUNBUFFERED"] = "1"
    with log.open("ab") as handle:
        return subprocess.Popen(
            args, cwd=REPO, env=environment, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
        )


def venv_script(name: str) -> str:
    """The path of a console script installed next to this Python (``.venv/bin/NAME``)."""
    return str(Path(sys.executable).parent / name)
