"""procrastinate on PostgreSQL: its schema applied with ``SchemaManager.apply_schema``, jobs deferred with
``task.defer`` from a synchronous context (``App.open``), and N ``procrastinate worker`` processes (each
``--concurrency 1``; workers LISTEN for new jobs and also poll every 5 s, the defaults)."""

from __future__ import annotations

import contextlib
import os
import subprocess
from pathlib import Path
from typing import Any

from bench.common import create_postgres_database, drop_postgres_database, postgres_durability, postgres_unavailable
from bench.peers.base import QueuePeer, spawn, venv_script

GUARANTEES = (
    "at least once only with help: a job whose worker dies stays 'doing' until someone retries it "
    "(get_stalled_jobs + retry_job, by hand or a periodic task); finished jobs are kept (delete_jobs=never)"
)


class ProcrastinatePeer(QueuePeer):
    """``procrastinate`` with ``PsycopgConnector``."""

    name = "procrastinate (PostgreSQL)"
    guarantees = GUARANTEES
    worker_note = "N `procrastinate worker` processes, --concurrency 1 each"

    def __init__(self) -> None:
        self.url: str | None = None
        self.opened = contextlib.ExitStack()
        self.task: Any = None

    def unavailable(self) -> str | None:
        return postgres_unavailable()

    def setup(self, scratch: Path) -> None:
        from procrastinate import PsycopgConnector

        from bench.peers import procrastinate_app

        self.url = create_postgres_database("procrastinate_bench")
        # The module's app, pointed at this measurement's database while it lasts (procrastinate's own recipe).
        app = self.opened.enter_context(procrastinate_app.app.replace_connector(PsycopgConnector(conninfo=self.url)))
        self.opened.enter_context(app.open())
        app.schema_manager.apply_schema()
        self.task = procrastinate_app.noop

    def durability(self) -> str:
        assert self.url is not None
        return postgres_durability(self.url)

    def enqueue(self, witness: Path, key: str) -> str:
        self.task.defer(witness=str(witness), key=key)
        return key

    def start_workers(self, count: int, log: Path) -> list[subprocess.Popen[bytes]]:
        assert self.url is not None
        env = dict(os.environ, BENCH_PROCRASTINATE_DSN=self.url)
        args = [venv_script("procrastinate"), "--app=bench.peers.procrastinate_app.app", "worker", "--concurrency=1"]
        return [spawn(args, log, env) for _ in range(count)]

    def teardown(self) -> None:
        self.opened.close()
        if self.url is not None:
            drop_postgres_database(self.url)
        self.task = self.url = None
