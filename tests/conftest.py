"""Fixtures for every test folder: settings on a fresh database per test, SQLite or PostgreSQL.

Tests that take ``settings`` (or ``queue``) run once per backend (the storage contract of huey's
``test_storage.py``): ``sqlite`` always, ``postgres`` when the server on 127.0.0.1:5432 answers (CI starts
it). Each PostgreSQL test gets its own database, cloned from a template migrated once per session, and
dropped afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from stenograph.db import create_db_engine, upgrade
from stenograph.queue import TaskQueue
from stenograph.settings import Settings, build_settings
from tests.audio_factory import AudioFactory, corpus_dir, tools_missing

#: Short timings so that tests of leases, retries and shutdown finish quickly; no LLM probing.
FAST_SETTINGS: dict[str, object] = {
    "poll_interval": 0.5,
    "heartbeat_seconds": 0.5,
    "lease_seconds": 5.0,
    "backoff_base_seconds": 0.05,
    "backoff_cap_seconds": 0.2,
    "shutdown_grace_seconds": 10.0,
    "cancel_grace_seconds": 3.0,
    "llm": "none",
    "llm_patience_seconds": 0.0,  # an LLM server the tests stop stays down: no waiting for it
    # Diarization is on by default in the product; tests that want it choose it (no engine at test time).
    "pipeline_steps": ["transcription", "correction", "summary"],
}

POSTGRES_ADMIN_URL = os.environ.get("STENOGRAPH_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")


def _postgres_available() -> str | None:
    try:
        import psycopg

        with psycopg.connect(POSTGRES_ADMIN_URL, connect_timeout=3):
            return None
    except Exception as exc:  # the reason goes into the skip message
        return f"PostgreSQL not reachable at {POSTGRES_ADMIN_URL}: {exc}"


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No STENOGRAPH_* variable or .env file of the developer's leaks into a test."""
    for key in list(os.environ):
        if key.startswith("STENOGRAPH_") and key not in ("STENOGRAPH_CORPUS_DIR", "STENOGRAPH_TEST_POSTGRES"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="session")
def postgres_skip_reason() -> str | None:
    return _postgres_available()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _postgres_url(name: str) -> str:
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    return f"{base}/{name}"


def _drop_database(name: str) -> None:
    import psycopg

    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'")
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')


@pytest.fixture(scope="session")
def postgres_template(postgres_skip_reason: str | None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A PostgreSQL database migrated to the newest revision once per session (so the migrations run
    from an empty database at every session); each test's database is cloned from it."""
    if postgres_skip_reason:
        pytest.skip(postgres_skip_reason)
    import psycopg

    name = f"stenograph_template_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        settings = build_settings(data_dir=tmp_path_factory.mktemp("template"), database_url=_postgres_url(name))
        engine = create_db_engine(settings)
        upgrade(engine)
        engine.dispose()
        yield name
    finally:
        _drop_database(name)


@pytest.fixture
def database_url(backend: str, request: pytest.FixtureRequest) -> Iterator[str | None]:
    """None on SQLite (the data directory's file); on PostgreSQL a fresh database cloned from the
    migrated template (``CREATE DATABASE ... TEMPLATE``), dropped afterwards."""
    if backend == "sqlite":
        yield None
        return
    template: str = request.getfixturevalue("postgres_template")
    import psycopg

    name = f"stenograph_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    yield _postgres_url(name)
    _drop_database(name)


@pytest.fixture
def make_settings(tmp_path: Path, database_url: str | None):  # type: ignore[no-untyped-def]
    """Build settings on this test's database and data directory, with overrides."""

    def make(**overrides: object) -> Settings:
        values: dict[str, object] = {
            **FAST_SETTINGS,
            "data_dir": tmp_path / "data",
            "database_url": database_url,
        }
        values.update(overrides)
        return build_settings(**values)

    return make


@pytest.fixture
def settings(make_settings) -> Settings:  # type: ignore[no-untyped-def]
    return make_settings()  # type: ignore[no-any-return]


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    engine = create_db_engine(settings)
    upgrade(engine, lock_dir=settings.data_dir)
    yield engine
    engine.dispose()


@pytest.fixture
def queue(engine: Engine, settings: Settings) -> TaskQueue:
    return TaskQueue(engine, settings)


@pytest.fixture(scope="session")
def audio(tmp_path_factory: pytest.TempPathFactory) -> AudioFactory:
    """Session-wide :class:`AudioFactory`; skips when espeak-ng, sox or ffmpeg is missing."""
    missing = tools_missing()
    if missing:
        pytest.skip(f"audio generation needs {', '.join(missing)} (apt-get install espeak-ng sox ffmpeg)")
    return AudioFactory(tmp_path_factory.mktemp("audio"))


@pytest.fixture(scope="session")
def corpus() -> Path:
    """The speech corpus folder (STENOGRAPH_CORPUS_DIR, default ../shared/audio); skips when absent."""
    folder = corpus_dir()
    if not (folder / "MANIFEST.tsv").is_file():
        pytest.skip(f"speech corpus not found at {folder} (set STENOGRAPH_CORPUS_DIR)")
    return folder


@pytest.fixture
def sqlite_settings(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Settings on SQLite only, for the slow model tests that need not run per backend."""

    def make(**overrides: object) -> Settings:
        values: dict[str, object] = {
            **FAST_SETTINGS,
            "data_dir": tmp_path / "data",
        }
        values.update(overrides)
        return build_settings(**values)

    return make
