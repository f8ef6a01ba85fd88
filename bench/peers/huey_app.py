"""The Huey application the consumer loads: ``huey_consumer bench.peers.huey_app.huey``.

``BENCH_HUEY_DB`` names the SQLite file; ``BENCH_HUEY_SYNCHRONOUS`` (``NORMAL`` or empty) sets the durability:

- empty: ``SqliteHuey`` exactly as documented, with its defaults (``journal_mode='wal'``, ``fsync=None``: no
  ``synchronous`` pragma, so SQLite's compiled-in default applies, FULL on Debian's build);
- ``NORMAL``: the same storage with ``PRAGMA synchronous=NORMAL`` on each connection, which is what Stenograph
  uses. ``SqliteHuey`` has no parameter for it (its ``fsync`` flag chooses between FULL and OFF), hence the
  small subclass below; nothing else changes.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
from typing import Any

from huey import SqliteHuey
from huey.storage import SqliteStorage

from bench.peers.noop import record


class NormalSyncSqliteStorage(SqliteStorage):  # type: ignore[misc]
    """Huey's SQLite storage with ``synchronous=NORMAL`` (Stenograph's setting) on every connection."""

    def _create_connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection = super()._create_connection()
        conn.execute("pragma synchronous=NORMAL")
        return conn


class NormalSyncSqliteHuey(SqliteHuey):  # type: ignore[misc]
    storage_class = NormalSyncSqliteStorage


def make_huey(filename: str, synchronous: str = "") -> tuple[Any, Any]:
    """A Huey instance on ``filename`` and its ``noop(witness, key)`` task."""
    cls = NormalSyncSqliteHuey if synchronous.upper() == "NORMAL" else SqliteHuey
    instance = cls("bench", filename=filename)
    task = instance.task(name="noop")(record)
    return instance, task


#: The database file when BENCH_HUEY_DB is not set (the peer sets it to its scratch folder).
DEFAULT_DB = os.environ.get("BENCH_HUEY_DB", os.path.join(tempfile.gettempdir(), "huey-bench.db"))
huey, noop = make_huey(DEFAULT_DB, os.environ.get("BENCH_HUEY_SYNCHRONOUS", ""))
