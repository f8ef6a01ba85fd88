"""The procrastinate application its worker loads: ``procrastinate --app=bench.peers.procrastinate_app.app``.

``BENCH_PROCRASTINATE_DSN`` is the PostgreSQL connection string (libpq form)."""

from __future__ import annotations

import os

from procrastinate import App, PsycopgConnector

from bench.peers.noop import record

app = App(connector=PsycopgConnector(conninfo=os.environ.get("BENCH_PROCRASTINATE_DSN", "")))


@app.task(name="noop")
def noop(witness: str, key: str) -> None:
    """The no-op task (a synchronous task: procrastinate runs it in a thread of the worker)."""
    record(witness, key)
