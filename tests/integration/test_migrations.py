"""The Alembic migrations create exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

import multiprocessing
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, make_url, text

from stenograph.db import create_db_engine, upgrade
from stenograph.db.migrate import alembic_config
from stenograph.db.models import Base
from stenograph.settings import Settings, build_settings
from tests.conftest import POSTGRES_ADMIN_URL
from tests.helpers import REPO, database_at_revision


def _ours(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    if name in ("ix_tasks_claim", "ix_tasks_running"):  # expression and partial indexes Alembic cannot compare
        return False
    return not (name or "").startswith("recordings_fts")  # the SQLite FTS5 table is not a model


def test_the_claim_reads_the_next_task_from_the_index_without_sorting(engine: Engine, backend: str) -> None:
    from stenograph.queue.statements import claim_one

    if backend != "sqlite":
        pytest.skip("the plan is checked on SQLite; PostgreSQL picks its plan by its statistics")
    candidate = str(claim_one(None, False, postgres=False).compile(dialect=engine.dialect))
    select_part = candidate[candidate.index("(SELECT") + 1 : candidate.rindex(") AND tasks.status")]
    with engine.connect() as conn:
        placeholders = ("x",) * select_part.count("?")  # values do not change the plan
        plan = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + select_part, placeholders)
        details = " | ".join(str(row[-1]) for row in plan)
    assert "USING INDEX ix_tasks_claim" in details, details
    assert "TEMP B-TREE" not in details, details  # no sort of the pending tasks at each claim


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


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "stenograph.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        env={"PATH": "/usr/bin:/bin", **(env or {})},
    )


def test_db_upgrade_and_serve_take_the_database_url_flag(settings: Settings, tmp_path: Path) -> None:
    url = settings.database_url or f"sqlite:///{tmp_path / 'flagged.db'}"
    data_dir = str(settings.data_dir)
    # The flag wins over the environment (which names a database that would be refused).
    result = _cli("db", "upgrade", "--data-dir", data_dir, "--database-url", url, env={"STENOGRAPH_DATABASE_URL": "x"})
    assert result.returncode == 0, result.stderr
    assert f"/{make_url(url).database} is up to date" in result.stdout
    if settings.database_url is None:
        assert (tmp_path / "flagged.db").is_file()
    for command in (["db", "upgrade"], ["serve", "--port", "0"]):
        refused = _cli(*command, "--data-dir", data_dir, "--database-url", "mysql://u:secret@db-host/steno")
        assert refused.returncode == 2, refused.stdout
        said = " ".join(refused.stderr.split())  # the console wraps long lines
        assert "only sqlite and postgresql databases are supported" in said and "secret" not in said


@pytest.fixture
def empty_postgres_url(backend: str, database_url: str | None) -> Iterator[str]:
    """A PostgreSQL database with no table at all (the ``database_url`` fixture's is already migrated)."""
    if backend != "postgres" or database_url is None:
        pytest.skip("PostgreSQL only: on SQLite the processes of one data directory share a file lock")
    import psycopg

    name = f"stenograph_empty_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(database_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'")
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')


def _upgrade_when_all_are_ready(url: str, data_dir: str, ready: Any) -> None:
    """In a child process: build the engine, wait for the other children, then upgrade (no file lock)."""
    engine = create_db_engine(build_settings(database_url=url, data_dir=Path(data_dir)))
    ready.wait(timeout=60)
    upgrade(engine)


def test_processes_upgrading_an_empty_postgres_database_at_once_all_succeed(
    empty_postgres_url: str, tmp_path: Path
) -> None:
    spawn = multiprocessing.get_context("spawn")
    ready = spawn.Barrier(3)
    children = [
        spawn.Process(target=_upgrade_when_all_are_ready, args=(empty_postgres_url, str(tmp_path / f"d{i}"), ready))
        for i in range(3)
    ]
    for child in children:
        child.start()
    for child in children:
        child.join(timeout=120)
    assert [child.exitcode for child in children] == [0, 0, 0]
    engine = create_db_engine(build_settings(database_url=empty_postgres_url, data_dir=tmp_path / "check"))
    try:
        with engine.connect() as conn:
            versions = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    finally:
        engine.dispose()
    assert versions == [ScriptDirectory.from_config(alembic_config()).get_current_head()]


def test_a_data_directory_of_revision_0005_upgrades_in_place(tmp_path: Path) -> None:
    """A database written before task dependency edges: its ``depends_on`` links become required edges,
    so a pending dependant still waits for its dependency, and the queue reads it as before."""
    from stenograph.queue import TaskQueue

    with database_at_revision(tmp_path / "data", "0005") as old:
        now = "2026-11-30 12:00:00.000000"
        for task_id, depends_on in ((1, None), (2, 1)):
            old.conn.exec_driver_sql(
                "INSERT INTO tasks (id, type, status, priority, params, attempts, max_attempts, run_after, created_at, "
                "updated_at, progress, cancel_requested, depends_on) VALUES (?, 'summary', 'pending', 0, '{}', 0, 3, "
                "?, ?, ?, 0.0, 0, ?)",
                (task_id, now, now, now, depends_on),
            )
    engine, settings = old.engine, old.settings
    queue = TaskQueue(engine, settings)
    first = queue.claim("w")
    assert first is not None and first.id == 1
    assert queue.claim("w") is None  # task 2 still waits for task 1
    queue.complete(1, "w", 1, None)
    second = queue.claim("w")
    assert second is not None and second.id == 2 and second.depends_on == 1
    engine.dispose()


def test_a_data_directory_of_revision_0006_upgrades_in_place_to_webhooks_and_sources(tmp_path: Path) -> None:
    """Revisions 0009 (webhooks) and 0010 (an import's source): an existing recording is kept, with no
    source (an upload), and endpoints and deliveries can be written."""
    from stenograph.recordings.store import TranscriptStore
    from stenograph.webhooks.store import WebhookStore

    with database_at_revision(tmp_path / "data", "0006") as old:
        old.conn.exec_driver_sql(
            "INSERT INTO recordings (id, name, stored_name, size_bytes, created_at, media, options, speakers) "
            "VALUES (1, 'old.wav', 'abc', 10, '2026-11-30 12:00:00.000000', '{}', '{}', '{}')"
        )
    engine = old.engine
    recording = TranscriptStore(engine).recording(1)
    assert recording["name"] == "old.wav" and recording["source_url"] is None and recording["source_title"] is None
    hooks = WebhookStore(engine)
    endpoint = hooks.create_endpoint(
        url="http://a.example/h", secret="whsec_x", events=None, include_transcript=False, description=None
    )
    with engine.begin() as conn:
        delivery_id, message_id = hooks.add_delivery(
            conn, endpoint_id=endpoint["id"], url=endpoint["url"], event="task.failed", payload={"a": 1}
        )
    assert hooks.deliveries(endpoint["id"])[0]["message_id"] == message_id.lower() and delivery_id == 1
    engine.dispose()


def test_a_data_directory_of_revision_0010_upgrades_in_place_to_watched_files(tmp_path: Path) -> None:
    """Revision 0012 (watched folders): an existing recording and the stored glossary are kept, and a
    watched file can be claimed, submitted as that recording and exported."""
    from stenograph.recordings.store import TranscriptStore
    from stenograph.watch.known import KnownFiles

    with database_at_revision(tmp_path / "data", "0010") as old:
        old.conn.exec_driver_sql(
            "INSERT INTO recordings (id, name, stored_name, size_bytes, created_at, media, options, speakers) "
            "VALUES (1, 'old.wav', 'abc', 10, '2026-11-30 12:00:00.000000', '{}', '{}', '{}')"
        )
        old.conn.exec_driver_sql("INSERT INTO app_settings (key, value) VALUES ('glossary', '[\"Stenograph\"]')")
    engine = old.engine
    store = TranscriptStore(engine)
    assert store.recording(1)["name"] == "old.wav" and store.glossary() == ["Stenograph"]
    known = KnownFiles(engine)
    assert known.claim("ab" * 32, 10, "/in", "/in/old.wav") and not known.claim("ab" * 32, 10, "/in", "/in/x.wav")
    known.settle("ab" * 32, "submitted", recording_id=1)
    [row] = known.unexported()
    assert known.claim_export(row.id) and not known.claim_export(row.id)
    assert known.unexported() == [] and known.all()[0].recording_id == 1
    engine.dispose()


def test_a_data_directory_of_revision_0012_upgrades_in_place_to_one_statement_enqueues(tmp_path: Path) -> None:
    """Revision 0013 (partial link indexes, the enqueued-event trigger): an existing task and its events are
    kept; a new task, enqueued on the driver path or in a caller's transaction, gets exactly one ``enqueued``
    event; queries by recording and by requirement still use their (now partial) indexes."""
    from stenograph.queue import TaskQueue

    with database_at_revision(tmp_path / "data", "0012") as old:
        old.conn.exec_driver_sql(
            "INSERT INTO tasks (id, type, status, priority, params, attempts, max_attempts, run_after, created_at, "
            "updated_at, progress, cancel_requested) VALUES (1, 'transcription', 'completed', 0, '{}', 1, 3, "
            "'2026-11-30 12:00:00.000000', '2026-11-30 12:00:00.000000', '2026-11-30 12:00:00.000000', 1, 0)"
        )
        old.conn.exec_driver_sql(
            "INSERT INTO task_events (task_id, at, to_status, message) "
            "VALUES (1, '2026-11-30 12:00:00.000000', 'pending', 'enqueued')"
        )
    engine = old.engine
    queue = TaskQueue(engine, old.settings, notify=lambda: None)
    alone = queue.enqueue("summary", {})
    with engine.begin() as conn:
        linked = queue.enqueue("correction", {}, depends_on=alone.id, conn=conn)
    for task_id in (1, alone.id, linked.id):
        assert [e.to_status for e in queue.events(task_id)] == ["pending"], task_id
    with engine.connect() as conn:
        for column, value, expected in (("depends_on", alone.id, [linked.id]), ("recording_id", 7, [])):
            query = f"SELECT id FROM tasks WHERE {column} = ?"
            assert conn.exec_driver_sql(query, (value,)).scalars().all() == expected
            plan = " ".join(str(row[-1]) for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + query, (value,)))
            assert f"ix_tasks_{column}" in plan, plan
        trigger = conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'trigger'").scalars().all()
        partial = (
            conn.exec_driver_sql(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND sql LIKE '%IS NOT NULL%' ORDER BY name"
            )
            .scalars()
            .all()
        )
    assert trigger == ["tasks_enqueued_event"]
    assert partial == ["ix_tasks_depends_on", "ix_tasks_recording_id"]
    engine.dispose()
