"""Helpers shared by the test folders: waiting on conditions, worker processes, free ports."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy import Connection, Engine

from stenograph.settings import Settings, build_settings
from stenograph.supervisor import settings_environment

if TYPE_CHECKING:
    from fastapi import FastAPI

T = TypeVar("T")
REPO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True, slots=True)
class OldDatabase:
    """A data directory's database held at an old revision: its settings, engine and open connection."""

    settings: Settings
    engine: Engine
    conn: Connection


@contextlib.contextmanager
def database_at_revision(data_dir: Path, revision: str) -> Iterator[OldDatabase]:
    """A new SQLite database in ``data_dir`` upgraded only to Alembic ``revision``, for inserting old rows.

    The body writes rows through ``old.conn`` (one transaction); when it ends without an error the rows are
    committed and the database is upgraded to head the way the server does it (``stenograph.db.upgrade``), so
    the test then checks ``old.engine``. The test disposes of the engine.
    """
    from alembic import command

    from stenograph.db import create_db_engine, upgrade
    from stenograph.db.migrate import alembic_config

    settings = build_settings(data_dir=data_dir)
    engine = create_db_engine(settings)
    config = alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)
        yield OldDatabase(settings, engine, conn)
    upgrade(engine, lock_dir=settings.data_dir)


def wait_for(condition: Callable[[], T], timeout: float = 30.0, interval: float = 0.05, what: str = "") -> T:
    """Return the first truthy value of ``condition()``; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or condition}")
        time.sleep(interval)


@contextlib.contextmanager
def serve_app(app: FastAPI) -> Iterator[str]:
    """Run ``app`` in uvicorn on a free local port, in a thread of this process; yields its base URL
    (``http://127.0.0.1:<port>``) once the server has started, and stops it on exit (30 s at most)."""
    import uvicorn

    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    try:
        wait_for(lambda: server.started, what="uvicorn to start")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)
        listener.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_process(
    args: list[str], settings: Settings, log: Path, extra_env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """Start ``python -m ...`` with the settings in its environment; output goes to ``log``."""
    env = settings_environment(settings)
    env.update(extra_env or {})
    handle = open(log, "ab")  # noqa: SIM115 - closed with the process
    return subprocess.Popen([sys.executable, *args], env=env, stdout=handle, stderr=subprocess.STDOUT, cwd=REPO)


def start_worker(
    settings: Settings, log: Path, concurrency: int = 1, extra_env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    return start_process(["-m", "stenograph.worker", "--concurrency", str(concurrency)], settings, log, extra_env)


def stop_process(process: subprocess.Popen[bytes], timeout: float = 60.0, sig: signal.Signals = signal.SIGTERM) -> int:
    """``sig`` (SIGTERM), wait; SIGKILL when it does not exit in ``timeout`` seconds (then re-raises
    ``subprocess.TimeoutExpired``). Returns the exit code."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(sig)
        try:
            return process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
            raise
    return int(process.returncode)


@contextlib.contextmanager
def running_workers(
    settings: Settings, log_dir: Path, count: int = 1, concurrency: int = 1
) -> Iterator[list[subprocess.Popen[bytes]]]:
    processes = [start_worker(settings, log_dir / f"worker-{n}.log", concurrency) for n in range(count)]
    try:
        yield processes
    finally:
        for process in processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                stop_process(process)


def wait_until_workers_ready(log_dir: Path, count: int, timeout: float = 120) -> None:
    """Wait until ``count`` workers logging to ``log_dir`` have their slot processes up."""
    wait_for(
        lambda: read_logs(log_dir).count("slot process(es) waiting for tasks") >= count,
        timeout=timeout,
        what=f"{count} workers to be ready",
    )


def read_logs(log_dir: Path) -> str:
    return "\n".join(p.read_text(errors="replace") for p in sorted(log_dir.glob("*.log")))


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
