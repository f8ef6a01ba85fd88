"""The one place that opens the database: create the engine, apply the migrations, follow its clock."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError

from stenograph.db import create_db_engine, sync_clock, upgrade
from stenograph.settings import Settings

#: Errors of a database URL or data directory that cannot be used (the CLI says "cannot start").
DATABASE_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    ModuleNotFoundError,
    ArgumentError,
    OperationalError,
    NoSuchModuleError,
)


def open_database(settings: Settings, *, migrate: bool = True) -> Engine:
    """The engine of ``settings``' database, migrated to the newest revision (unless ``migrate`` is False)
    and with the process clock following the database server's (PostgreSQL: task times and worker
    liveness are compared on one clock).

    Raises:
        one of :data:`DATABASE_ERRORS`, or ConfigurationError: the database cannot be used.
    """
    engine = create_db_engine(settings)
    try:
        if migrate:
            migrate_database(engine, settings)
        sync_clock(engine)
    except BaseException:
        engine.dispose()
        raise
    return engine


def migrate_database(engine: Engine, settings: Settings) -> None:
    """Apply the migrations (under a file lock in the data directory on SQLite)."""
    upgrade(engine, lock_dir=settings.data_dir if settings.is_sqlite else None)


def upgrade_database(settings: Settings) -> str:
    """``stenograph db upgrade``: migrate the database; returns its URL with the password hidden."""
    open_database(settings).dispose()
    return shown_url(settings)


def shown_url(settings: Settings) -> str:
    """The database URL with its password hidden."""
    return make_url(settings.resolved_database_url).render_as_string(hide_password=True)
