"""Helpers of the benchmark: temporary settings, worker processes, CPU and memory readings."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from stenograph.db import create_db_engine, upgrade
from stenograph.queue import TaskQueue
from stenograph.queue.wakeup import LocalNotifier
from stenograph.settings import Settings, build_settings
from stenograph.supervisor import settings_environment

T = TypeVar("T")
REPO = Path(__file__).resolve().parent.parent
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def corpus_dir() -> Path:
    path = Path(os.environ.get("STENOGRAPH_CORPUS_DIR", "../shared/audio"))
    return path if path.is_absolute() else (REPO / path).resolve()


@contextmanager
def bench_settings(**overrides: Any) -> Iterator[tuple[Settings, TaskQueue]]:
    """Settings on a fresh SQLite database in a temporary folder, and its queue."""
    with tempfile.TemporaryDirectory(prefix="stenograph-bench-") as folder:
        values: dict[str, Any] = {"data_dir": Path(folder) / "data", "llm": "none", "heartbeat_seconds": 2.0}
        values.update(overrides)
        settings = build_settings(**values)
        engine = create_db_engine(settings)
        upgrade(engine, lock_dir=settings.data_dir)
        yield settings, TaskQueue(engine, settings, notify=LocalNotifier(settings.wakeup_dir))
        engine.dispose()


def start_workers(settings: Settings, count: int, log: Path, concurrency: int = 1) -> list[subprocess.Popen[bytes]]:
    env = settings_environment(settings)
    handle = log.open("ab")
    return [
        subprocess.Popen(
            [sys.executable, "-m", "stenograph.worker", "--concurrency", str(concurrency)],
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
        for _ in range(count)
    ]


def stop_workers(workers: list[subprocess.Popen[bytes]]) -> None:
    for worker in workers:
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
    for worker in workers:
        try:
            worker.wait(60)
        except subprocess.TimeoutExpired:
            worker.kill()


def wait_for(condition: Callable[[], T], timeout: float, interval: float = 0.05) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"benchmark condition not met in {timeout} s")
        time.sleep(interval)


def submit_file(settings: Settings, queue: TaskQueue, path: Path, *, link: bool = False) -> int:
    """Enqueue ``path`` as a recording with the transcription step only; the task's id.

    ``link`` stores a symbolic link instead of a copy (for multi-hour files).
    """
    from stenograph.recordings.store import TranscriptStore
    from stenograph.steps.submit import PipelineRequest, new_stored_name, submit_recording
    from stenograph.steps.transcription.media import probe

    settings.uploads_dir.mkdir(parents=True, exist_ok=True)
    stored = settings.uploads_dir / new_stored_name()
    if link:
        stored.symlink_to(path)
    else:
        stored.write_bytes(path.read_bytes())
    _, [task] = submit_recording(
        queue,
        TranscriptStore(queue.engine),
        PipelineRequest.build(settings, steps=["transcription"]),
        name=path.name,
        stored_name=stored.name,
        size_bytes=path.stat().st_size,
        media=probe(stored),
    )
    return task.id


def descendants(pid: int) -> list[int]:
    """``pid`` and every process below it."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, stack = [], [pid]
    while stack:
        current = stack.pop()
        found.append(current)
        stack.extend(children.get(current, []))
    return found


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds used so far by ``pids`` (from /proc/PID/stat)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / CLOCK_TICKS


def peak_rss_mib(pid: int) -> float:
    """The peak resident set size (VmHWM) of a live process, in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


#: The PostgreSQL server the benchmark uses (trust authentication); each measurement makes its own database.
POSTGRES_ADMIN_DSN = os.environ.get("STENOGRAPH_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
#: The Redis server RQ uses.
REDIS_URL = os.environ.get("STENOGRAPH_BENCH_REDIS", "redis://127.0.0.1:6379/0")


def postgres_unavailable() -> str | None:
    """Why PostgreSQL cannot be used (no driver, no server), or None."""
    try:
        import psycopg
    except ImportError:
        return "psycopg not installed (pip install -e '.[bench]')"
    try:
        with psycopg.connect(POSTGRES_ADMIN_DSN, connect_timeout=3):
            return None
    except psycopg.Error as exc:
        return f"no PostgreSQL server at {POSTGRES_ADMIN_DSN}: {str(exc).strip()[:120]}"


def create_postgres_database(prefix: str) -> str:
    """Create an empty database named ``<prefix>_<pid>_<n>``; its ``postgresql://`` URL."""
    import psycopg
    from psycopg import sql

    name = f"{prefix}_{os.getpid()}_{time.monotonic_ns() % 10**9}"
    with psycopg.connect(POSTGRES_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return POSTGRES_ADMIN_DSN.rsplit("/", 1)[0] + "/" + name


def drop_postgres_database(url: str) -> None:
    """Drop the database of ``url`` (closing its other sessions first)."""
    import psycopg
    from psycopg import sql

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(POSTGRES_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def postgres_durability(url: str) -> str:
    """``fsync`` and ``synchronous_commit`` of the server behind ``url``, e.g. 'PostgreSQL 15, fsync=on, ...'."""
    import psycopg

    with psycopg.connect(url) as conn:
        version = conn.execute("SHOW server_version").fetchone()
        fsync = conn.execute("SHOW fsync").fetchone()
        commit = conn.execute("SHOW synchronous_commit").fetchone()
    assert version and fsync and commit
    return f"PostgreSQL {version[0].split()[0]}, fsync={fsync[0]}, synchronous_commit={commit[0]}"


SYNCHRONOUS_NAMES = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}


def sqlite_durability(journal_mode: str, synchronous: int) -> str:
    """'SQLite journal_mode=WAL, synchronous=NORMAL (1)' from the two pragmas' values."""
    level = SYNCHRONOUS_NAMES.get(synchronous, str(synchronous))
    return f"SQLite journal_mode={journal_mode.upper()}, synchronous={level} ({synchronous})"
