"""The Alembic migrations create exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect

from stenograph.db import upgrade
from stenograph.db.models import Base
from stenograph.settings import Settings
from tests.helpers import REPO


def _ours(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    return not (name or "").startswith("recordings_fts")  # the SQLite FTS5 table is not a model


def test_migrations_match_the_models(engine: Engine) -> None:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_object": _ours, "compare_type": False})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []


def test_upgrade_is_idempotent(engine: Engine, settings: Settings) -> None:
    upgrade(engine, lock_dir=settings.data_dir)
    tables = set(inspect(engine).get_table_names())
    assert {"tasks", "task_events", "workers", "recordings", "transcript_versions", "segments"} <= tables


def test_db_upgrade_command(settings: Settings) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "stenograph.cli", "db", "upgrade", "--data-dir", str(settings.data_dir)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        env={
            "PATH": "/usr/bin:/bin",
            **({"STENOGRAPH_DATABASE_URL": settings.database_url} if settings.database_url else {}),
        },
    )
    assert result.returncode == 0, result.stderr
    assert "up to date" in result.stdout
