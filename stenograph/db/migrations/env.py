"""Alembic environment: runs on the connection that :func:`stenograph.db.migrate.upgrade` passes in."""

from __future__ import annotations

from alembic import context

from stenograph.db.models import Base

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # `alembic` command line (developers only): use the URL from the config.
    from sqlalchemy import create_engine

    engine = create_engine(config.get_main_option("sqlalchemy.url") or "sqlite:///migrations-dev.db")
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
else:
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
