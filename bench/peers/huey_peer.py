"""Huey with ``SqliteHuey``: tasks enqueued by calling the decorated function, run by ``huey_consumer``
(one consumer process; ``-w N`` workers of the type given, ``-k thread`` by default in Huey's documentation,
``-k process`` for processes). Polling: Huey's consumer defaults (0.1 s, backing off by 1.15 up to 10 s)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

from bench.common import sqlite_durability
from bench.peers.base import QueuePeer, spawn, venv_script
from bench.peers.huey_app import make_huey

GUARANTEES = (
    "at most once: the consumer deletes a task from SQLite when it takes it; a task whose worker dies is lost "
    "(no lease, no retry unless retries= is set)"
)


class HueyPeer(QueuePeer):
    """``SqliteHuey`` and ``huey_consumer``.

    Args:
        synchronous: ``"NORMAL"`` (Stenograph's durability) or ``""`` (Huey's own default).
        worker_type: ``"process"`` or ``"thread"`` (the consumer's ``-k``).
    """

    guarantees = GUARANTEES

    def __init__(self, synchronous: str = "NORMAL", worker_type: str = "process") -> None:
        self.synchronous = synchronous
        self.worker_type = worker_type
        label = "synchronous=NORMAL" if synchronous else "defaults"
        self.name = f"Huey SqliteHuey ({label})"
        self.worker_note = f"1 `huey_consumer` process, -w N -k {worker_type}"
        self.filename: str | None = None
        self.huey: Any = None
        self.task: Any = None

    def setup(self, scratch: Path) -> None:
        self.filename = str(scratch / "huey.db")
        self.huey, self.task = make_huey(self.filename, self.synchronous)

    def durability(self) -> str:
        assert self.huey is not None
        journal = self.huey.storage.sql("pragma journal_mode", results=True)[0][0]
        synchronous = self.huey.storage.sql("pragma synchronous", results=True)[0][0]
        return sqlite_durability(str(journal), int(synchronous))

    def enqueue(self, witness: Path, key: str) -> str:
        self.task(str(witness), key)
        return key

    def start_workers(self, count: int, log: Path) -> list[subprocess.Popen[bytes]]:
        assert self.filename is not None
        env = dict(os.environ, BENCH_HUEY_DB=self.filename, BENCH_HUEY_SYNCHRONOUS=self.synchronous)
        args = [venv_script("huey_consumer"), "bench.peers.huey_app.huey", "-w", str(count), "-k", self.worker_type]
        return [spawn(args, log, env)]

    def teardown(self) -> None:
        if self.huey is not None:
            self.huey.storage.close()
        self.huey = self.task = self.filename = None
