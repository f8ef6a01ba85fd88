"""Apply the Alembic migrations: at start-up of every process and by ``stenograph db upgrade``."""

from __future__ import annotations

import fcntl
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config() -> Config:
    """An Alembic config pointing at the package's migrations."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def upgrade(engine: Engine, *, lock_dir: Path | None = None) -> None:
    """Upgrade the database to the newest revision.

    Several processes starting at once (``stenograph serve`` and its workers) serialise on a file lock in
    ``lock_dir`` when given (the data directory), so only one runs the DDL at a time.

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
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
