"""Stenograph itself, on SQLite (the default, embedded) or PostgreSQL: ``stenograph worker`` processes with
their default settings (poll every 5 s, woken at once on enqueue; one slot process each)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

from bench.common import (
    create_postgres_database,
    drop_postgres_database,
    postgres_durability,
    postgres_unavailable,
    sqlite_durability,
)
from bench.peers.base import QueuePeer, spawn
from stenograph.db import create_db_engine, upgrade
from stenograph.queue import TaskQueue
from stenograph.queue.wakeup import workers_notifier
from stenograph.settings import Settings, build_settings
from stenograph.supervisor import settings_environment

GUARANTEES = (
    "at least once: every running task (batched or not) holds a lease its worker renews; when the worker dies "
    "its tasks go back to pending at lease expiry (60 s); every transition is kept in task_events"
)


class StenographPeer(QueuePeer):
    """Stenograph's ``TaskQueue.enqueue`` and ``python -m stenograph.worker`` processes.

    Args:
        backend: ``"sqlite"`` or ``"postgresql"``.
    """

    worker_note = "N `stenograph worker` processes, 1 slot (child process) each"
    guarantees = GUARANTEES

    def __init__(self, backend: str) -> None:
        self.backend = backend
        self.name = "Stenograph (SQLite)" if backend == "sqlite" else "Stenograph (PostgreSQL)"
        self.settings: Settings | None = None
        self.engine: Engine | None = None
        self.queue: TaskQueue | None = None
        self.database_url: str | None = None

    def unavailable(self) -> str | None:
        return postgres_unavailable() if self.backend == "postgresql" else None

    def setup(self, scratch: Path) -> None:
        values: dict[str, Any] = {"data_dir": scratch / "stenograph-data", "llm": "none"}
        if self.backend == "postgresql":
            self.database_url = create_postgres_database("stenograph_bench")
            values["database_url"] = self.database_url.replace("postgresql://", "postgresql+psycopg://", 1)
        self.settings = build_settings(**values)
        self.engine = create_db_engine(self.settings)
        upgrade(self.engine, lock_dir=self.settings.data_dir if self.settings.is_sqlite else None)
        self.queue = TaskQueue(self.engine, self.settings, notify=workers_notifier(self.settings, self.engine))

    def durability(self) -> str:
        assert self.engine is not None
        if self.database_url is not None:
            return postgres_durability(self.database_url)
        with self.engine.connect() as conn:
            journal = conn.execute(text("PRAGMA journal_mode")).scalar_one()
            synchronous = conn.execute(text("PRAGMA synchronous")).scalar_one()
        return sqlite_durability(str(journal), int(synchronous))

    def enqueue(self, witness: Path, key: str) -> str:
        assert self.queue is not None
        record = self.queue.enqueue("transcription", {"simulate": {"seconds": 0, "witness": str(witness)}})
        return str(record.id)

    def enqueue_many_rate(self, witness: Path, tasks: int, batch: int = 1000) -> float:
        """No-op tasks per second through ``TaskQueue.enqueue_many`` in batches of ``batch`` (one event per
        task, one wake-up per batch), no worker running."""
        import time

        from stenograph.queue.driver import TaskSpec

        assert self.queue is not None
        spec = TaskSpec("transcription", {"simulate": {"seconds": 0, "witness": str(witness)}})
        count = max(tasks, batch)
        started = time.perf_counter()
        for _ in range(count // batch):
            self.queue.enqueue_many([spec] * batch)
        return (count // batch) * batch / (time.perf_counter() - started)

    def start_workers(self, count: int, log: Path) -> list[subprocess.Popen[bytes]]:
        assert self.settings is not None
        env = settings_environment(self.settings)
        args = [sys.executable, "-m", "stenograph.worker", "--concurrency", "1"]
        return [spawn(args, log, env) for _ in range(count)]

    def teardown(self) -> None:
        if self.engine is not None:
            self.engine.dispose()
        if self.database_url is not None:
            drop_postgres_database(self.database_url)
        self.settings = self.engine = self.queue = None
        self.database_url = None
