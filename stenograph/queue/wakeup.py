"""Waking idle workers the moment a task is enqueued, without a busy loop.

Two channels, both optional (a worker still polls every ``poll_interval`` seconds without them):

- Local: each worker binds a Linux abstract-namespace Unix datagram socket and writes its name to a file in
``<data_dir>/wakeup/``. Enqueueing sends one byte to each registered socket; the worker's loop waits on
the socket with its poll interval as the timeout. Abstract names avoid the 108-byte path limit of Unix
  sockets, and vanish with the process.
- PostgreSQL: enqueueing also sends ``NOTIFY stenograph_tasks``; each worker holds one extra connection
  that ``LISTEN``s on it, so workers on other machines wake too (PostgreSQL documentation, "NOTIFY":
  a notification is delivered to every listening session when the sending transaction commits).
  A lost listening connection is reopened at the next wait; until then the worker polls.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import socket
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from stenograph.settings import Settings

log = logging.getLogger("stenograph.wakeup")

#: The PostgreSQL notification channel that enqueueing signals and workers listen on.
CHANNEL = "stenograph_tasks"


class WakeupListener:
    """The worker's end: a socket to wait on (``fileno()``), drained with :meth:`drain`."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.name = f"stenograph-{os.getpid()}-{secrets.token_hex(6)}"
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind("\0" + self.name)
        self.sock.setblocking(False)
        self.path = directory / f"{self.name}.wakeup"
        self.path.write_text(self.name)

    def fileno(self) -> int:
        return self.sock.fileno()

    def drain(self) -> None:
        """Read every pending wake-up byte."""
        while True:
            try:
                self.sock.recv(64)
            except (BlockingIOError, InterruptedError):
                return

    def close(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        self.sock.close()


class LocalNotifier:
    """The enqueueing end of the local channel, for one wake-up folder.

    The folder's registrations are read again only when the folder changes (its modification time: a worker
    registering or leaving writes or removes a file there), and one socket is kept, so a wake-up costs a
    ``stat`` and one datagram per worker (an enqueue is tens of microseconds; a glob and a file read per
    worker at each one cost more than the enqueue itself).
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._seen: int | None = None
        self._targets: list[tuple[Path, str]] = []
        self._sock: socket.socket | None = None

    def __call__(self) -> None:
        """Wake every worker registered in the folder; forget the registrations of dead ones."""
        try:
            changed = os.stat(self.directory).st_mtime_ns
        except OSError:
            return
        if changed != self._seen:
            self._seen = changed
            self._targets = []
            with contextlib.suppress(OSError):
                for entry in self.directory.glob("*.wakeup"):
                    with contextlib.suppress(OSError):
                        self._targets.append((entry, "\0" + entry.read_text()))
        if not self._targets:
            return
        if self._sock is None:
            self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            self._sock.setblocking(False)
        for entry, address in self._targets:
            try:
                self._sock.sendto(b"!", address)
            except (ConnectionRefusedError, FileNotFoundError):
                with contextlib.suppress(FileNotFoundError):
                    entry.unlink()  # the folder changes: read again at the next wake-up
            except (BlockingIOError, OSError) as exc:  # its buffer is full: it is awake already
                log.debug("wake-up of %s skipped: %s", entry.name, exc)


class PostgresListener:
    """A dedicated autocommit connection that ``LISTEN``s on :data:`CHANNEL` (``fileno()`` to wait on).

    Args:
        database_url: the SQLAlchemy URL of the PostgreSQL database (``postgresql+psycopg://...``).

    Raises:
        psycopg.OperationalError: the database cannot be reached.
    """

    def __init__(self, database_url: str) -> None:
        import psycopg

        dsn = make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
        self.conn: Any = psycopg.connect(dsn, autocommit=True)
        self.conn.execute(f"LISTEN {CHANNEL}")

    def fileno(self) -> int:
        return int(self.conn.fileno())

    def drain(self) -> int:
        """Consume every pending notification without blocking; returns how many there were.

        Raises:
            psycopg.OperationalError: the connection was lost (the caller reopens it).
        """
        return sum(1 for _ in self.conn.notifies(timeout=0))

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.conn.close()


class WorkerWakeup:
    """Everything a worker waits on to wake early: its local socket and, on PostgreSQL, a listener.

    :meth:`waitables` gives the objects for :func:`multiprocessing.connection.wait`; :meth:`woken` is
    called with what became ready and says whether any of it was a wake-up (draining it).
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.local = WakeupListener(settings.wakeup_dir)
        self.postgres: PostgresListener | None = None
        self._postgres_wanted = not settings.is_sqlite
        self._reopen_at = 0.0

    def waitables(self, now: float) -> list[Any]:
        """The objects to wait on; reopens a lost PostgreSQL listener at most every 5 s (``now`` in
        seconds on the monotonic clock)."""
        if self._postgres_wanted and self.postgres is None and now >= self._reopen_at:
            try:
                self.postgres = PostgresListener(self.settings.resolved_database_url)
            except Exception as exc:  # the worker goes on polling
                log.warning("cannot LISTEN for new tasks (polling every %g s): %s", self.settings.poll_interval, exc)
                self._reopen_at = now + 5.0
        return [self.local] if self.postgres is None else [self.local, self.postgres]

    def woken(self, ready: list[Any]) -> bool:
        """Drain whatever of ours is in ``ready``; True when a wake-up arrived."""
        woke = False
        if self.local in ready:
            self.local.drain()
            woke = True
        if self.postgres is not None and self.postgres in ready:
            try:
                self.postgres.drain()
            except Exception as exc:
                log.warning("the LISTEN connection was lost (%s); reopening it", exc)
                self.postgres.close()
                self.postgres = None
            woke = True
        return woke

    def close(self) -> None:
        self.local.close()
        if self.postgres is not None:
            self.postgres.close()


class WorkersNotifier:
    """The ``notify`` callable for :class:`~stenograph.queue.TaskQueue`: wakes the local workers and, on
    PostgreSQL, every listening worker on any machine. Failures are logged, never raised: a worker that misses
    a wake-up finds the task at its next poll.

    The queue sends the PostgreSQL notification inside its own enqueue transaction when it can
    (``pg_notify`` in the insert statement: no transaction of its own) and then calls :meth:`local` only.
    """

    def __init__(self, settings: Settings, engine: Engine) -> None:
        self.engine = engine
        self.postgres = engine.dialect.name == "postgresql"
        self.local = LocalNotifier(settings.wakeup_dir)

    def __call__(self) -> None:
        self.local()
        if self.postgres:
            try:
                with self.engine.begin() as conn:
                    conn.execute(text(f"NOTIFY {CHANNEL}"))
            except SQLAlchemyError as exc:
                log.warning("NOTIFY %s failed (workers will find the task at their next poll): %s", CHANNEL, exc)


def workers_notifier(settings: Settings, engine: Engine) -> WorkersNotifier:
    """The notifier of workers for ``settings`` and ``engine`` (see :class:`WorkersNotifier`)."""
    return WorkersNotifier(settings, engine)
