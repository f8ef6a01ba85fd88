"""The baseline: a worker loop as Stenograph's first design had it, polling its table every 5 s.

The queue is one SQLite table (``jobs``: id, status, witness, key) in WAL mode with ``synchronous=NORMAL``
(Stenograph's settings). A worker process (``python -m bench.peers.baseline DB``) loops: in one
``BEGIN IMMEDIATE`` transaction it marks the oldest pending job running (``UPDATE ... RETURNING``); when it
got one it runs it and marks it done, else it sleeps 5 s. No wake-up, no lease, no retry, no events.
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType

from bench.common import sqlite_durability
from bench.peers.base import QueuePeer, spawn
from bench.peers.noop import record

#: Seconds the baseline worker sleeps when it found nothing.
POLL_SECONDS = 5.0

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS jobs (id INTEGER PRIMARY KEY, status TEXT NOT NULL DEFAULT 'pending', "
    "witness TEXT NOT NULL, key TEXT NOT NULL)"
)
CLAIM = (
    "UPDATE jobs SET status = 'running' WHERE id = "
    "(SELECT id FROM jobs WHERE status = 'pending' ORDER BY id LIMIT 1) RETURNING id, witness, key"
)


def connect(path: str) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions written out), WAL, ``synchronous=NORMAL``."""
    conn = sqlite3.connect(path, timeout=60, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(SCHEMA)
    return conn


def work(path: str) -> None:
    """The worker loop; returns on SIGTERM or SIGINT."""
    stopping = False

    def stop(_signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    conn = connect(path)
    while not stopping:
        conn.execute("BEGIN IMMEDIATE")
        row = conn.execute(CLAIM).fetchone()
        conn.execute("COMMIT")
        if row is None:
            deadline = time.monotonic() + POLL_SECONDS
            while not stopping and time.monotonic() < deadline:
                time.sleep(0.1)  # sleeps in short steps only to notice a signal: it does not poll the table
            continue
        job_id, witness, key = row
        record(witness, key)
        conn.execute("UPDATE jobs SET status = 'done' WHERE id = ?", (job_id,))
    conn.close()


class BaselinePeer(QueuePeer):
    """The 5 s polling loop above, on its own SQLite file."""

    name = "Baseline: poll every 5 s"
    guarantees = "at most once: a job whose worker dies stays 'running' for ever (no lease); no retry"
    worker_note = "N `python -m bench.peers.baseline` processes, each running one job at a time"
    idle_gap_s = (0.05, 0.05 + POLL_SECONDS)  # tasks arrive at any point of the 5 s sleep

    def __init__(self) -> None:
        self.path: str | None = None
        self.conn: sqlite3.Connection | None = None

    def setup(self, scratch: Path) -> None:
        self.path = str(scratch / "baseline.db")
        self.conn = connect(self.path)

    def durability(self) -> str:
        assert self.conn is not None
        journal = self.conn.execute("PRAGMA journal_mode").fetchone()[0]
        synchronous = self.conn.execute("PRAGMA synchronous").fetchone()[0]
        return sqlite_durability(str(journal), int(synchronous))

    def enqueue(self, witness: Path, key: str) -> str:
        assert self.conn is not None
        self.conn.execute("INSERT INTO jobs (witness, key) VALUES (?, ?)", (str(witness), key))
        return key

    def start_workers(self, count: int, log: Path) -> list[subprocess.Popen[bytes]]:
        assert self.path is not None
        return [spawn([sys.executable, "-m", "bench.peers.baseline", self.path], log) for _ in range(count)]

    def teardown(self) -> None:
        if self.conn is not None:
            self.conn.close()
        self.conn = self.path = None


if __name__ == "__main__":
    work(sys.argv[1])
