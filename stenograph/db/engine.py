"""The engine factory: SQLite in WAL mode with ``BEGIN IMMEDIATE`` transactions, or PostgreSQL.

On SQLite every transaction starts with ``BEGIN IMMEDIATE``, so a writer takes the database's write lock
when the transaction begins rather than upgrading a read lock later (an upgrade that can fail with
'database is locked' however long ``busy_timeout`` is). The recipe is SQLAlchemy's own ("Serializable
isolation / Savepoints / Transactional DDL" in the pysqlite dialect documentation).
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from stenograph import clock
from stenograph.errors import ConfigurationError
from stenograph.settings import Settings

log = logging.getLogger("stenograph.db")

#: A clock offset from the database server beyond this many seconds is logged as a warning.
CLOCK_WARNING_SECONDS = 1.0

#: How long a SQLite connection waits for the write lock before giving up, in milliseconds.
SQLITE_BUSY_TIMEOUT_MS = 60_000


def create_db_engine(settings: Settings, *, pool: bool = True) -> Engine:
    """Create the engine for ``settings.resolved_database_url``.

    For SQLite, the data directory is created when the database file lies directly in it (the default);
    any other directory must exist already, so that a mistyped path creates nothing.

    Args:
        settings: the settings.
        pool: False gives a NullPool (one connection per use), for short-lived processes.

    Raises:
        sqlalchemy.exc.ArgumentError: the URL is malformed.
        ConfigurationError: a SQLite database whose directory does not exist (outside the data directory).
    """
    url = make_url(settings.resolved_database_url)
    kwargs: dict[str, Any] = {}
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:" and not url.database.startswith("file:"):
            _sqlite_directory(Path(url.database), settings.data_dir)
        kwargs["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False}
        if not pool:
            kwargs["poolclass"] = NullPool
        engine = create_engine(url, **kwargs)
        _configure_sqlite(engine)
        return engine
    if url.get_backend_name() == "postgresql" and url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    if not pool:
        kwargs["poolclass"] = NullPool
    else:
        kwargs.update(pool_pre_ping=True, pool_size=5, max_overflow=10)
    return create_engine(url, **kwargs)


def _sqlite_directory(database: Path, data_dir: Path) -> None:
    """Create the data directory when ``database`` lies in it; else refuse a directory that does not exist.

    Raises:
        ConfigurationError: the directory of ``database`` does not exist (or is not a directory).
    """
    parent = database.expanduser().parent
    if parent.resolve() == data_dir.expanduser().resolve():
        parent.mkdir(parents=True, exist_ok=True)
        return
    if not parent.is_dir():
        raise ConfigurationError(
            f"the directory {parent} of the SQLite database {database} does not exist: create it, or fix "
            "STENOGRAPH_DATABASE_URL (only the data directory is created for you)"
        )


def _prepare_sqlite(dbapi_connection: Any) -> None:
    # Transactions are begun explicitly (BEGIN IMMEDIATE): pysqlite would defer them.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def sqlite_connect(engine: Engine) -> Any:
    """A DBAPI connection to ``engine``'s SQLite database outside its pool, set up as the pool's are (WAL,
    busy timeout, ``synchronous=NORMAL``, foreign keys, explicit transactions): for a hot path that keeps one
    per thread (the enqueue). The caller issues ``BEGIN IMMEDIATE`` and ``COMMIT`` itself."""
    import sqlite3

    database = engine.url.database or ":memory:"
    connection = sqlite3.connect(database, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000, check_same_thread=False)
    _prepare_sqlite(connection)
    return connection


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        _prepare_sqlite(dbapi_connection)  # SQLAlchemy's "begin" event below issues BEGIN itself

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def sync_clock(engine: Engine) -> float:
    """On PostgreSQL, make :func:`stenograph.clock.now` follow the database server's clock (leases
    written by workers on other machines are then compared on one clock); a no-op on SQLite.

    Returns:
        the offset applied, in seconds (the database's time minus this machine's).

    Raises:
        sqlalchemy.exc.OperationalError: the database cannot be reached.
    """
    if engine.dialect.name != "postgresql":
        return 0.0

    def database_now() -> datetime:
        with engine.connect() as conn:
            value: datetime = conn.execute(text("SELECT clock_timestamp()")).scalar_one()
        return value

    database_now()  # open a pooled connection first, so that no sample times a connect
    seconds = clock.sync(database_now).total_seconds()
    if abs(seconds) > CLOCK_WARNING_SECONDS:
        log.warning("this machine's clock is %+.1f s off the database server's; following the database's", seconds)
    return seconds
