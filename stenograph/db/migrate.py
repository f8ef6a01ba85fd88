"""Apply the Alembic migrations: at start-up of every process and by ``stenograph db upgrade``."""

from __future__ import annotations

import fcntl
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

MIGRATIONS_DIR = Path(__file__).parent / "migrations"

#: The key of the PostgreSQL advisory lock that serialises migrations across processes and machines
#: (any constant of 64 bits; this one spells "stenogra" in ASCII).
MIGRATION_LOCK_KEY = 0x737465_6E6F_6772_61


def alembic_config() -> Config:
    """An Alembic config pointing at the package's migrations."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def upgrade(engine: Engine, *, lock_dir: Path | None = None) -> None:
    """Upgrade the database to the newest revision.

    Several processes starting at once (``stenograph serve`` and its workers) serialise, so only one runs
    the DDL at a time and the others then find the database up to date: on PostgreSQL, on an advisory lock
    (``pg_advisory_lock``) held by the migration's connection for the whole upgrade, which also covers
    workers on other machines; and on a file lock in ``lock_dir`` when given (the data directory).

    Raises:
        sqlalchemy.exc.OperationalError: the database cannot be reached.
    """
    config = alembic_config()
    if lock_dir is not None:
        lock_dir.mkdir(parents=True, exist_ok=True)
        with open(lock_dir / ".migrate.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                _run(engine, config)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
    else:
        _run(engine, config)


def _run(engine: Engine, config: Config) -> None:
    postgres = engine.dialect.name == "postgresql"
    with engine.connect() as connection:
        if postgres:
            # A session lock, not a transaction one: it outlives the commits of the upgrade below.
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
            connection.commit()
        try:
            with connection.begin():
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
        finally:
            if postgres:
                try:
                    connection.rollback()
                    connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY})
                    connection.commit()
                except SQLAlchemyError:
                    connection.invalidate()  # closing the session releases the lock; never pool it
