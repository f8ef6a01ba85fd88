"""The precedence of settings: flag > environment > .env > default (pinned here)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from stenograph.settings import build_settings, is_loopback_host


def test_default_when_nothing_is_set() -> None:
    assert build_settings().poll_interval == 5.0
    assert build_settings().lease_seconds == 60.0
    assert build_settings().max_attempts == 3
    assert build_settings().data_dir == Path("data")


def test_dotenv_beats_default(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("STENOGRAPH_POLL_INTERVAL=7\n")
    assert build_settings().poll_interval == 7.0


def test_environment_beats_dotenv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text("STENOGRAPH_POLL_INTERVAL=7\n")
    monkeypatch.setenv("STENOGRAPH_POLL_INTERVAL", "8")
    assert build_settings().poll_interval == 8.0


def test_flag_beats_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text("STENOGRAPH_WORKERS=2\n")
    monkeypatch.setenv("STENOGRAPH_WORKERS", "3")
    assert build_settings(workers=4).workers == 4
    assert build_settings(workers=None).workers == 3  # an absent flag does not override


def test_server_url_follows_the_same_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert build_settings().server_url is None
    (tmp_path / ".env").write_text("STENOGRAPH_SERVER_URL=http://from-dotenv:8000\n")
    assert build_settings().server_url == "http://from-dotenv:8000"
    monkeypatch.setenv("STENOGRAPH_SERVER_URL", "https://from-env/stenograph/")
    assert build_settings().server_url == "https://from-env/stenograph"  # the trailing slash is dropped
    assert build_settings(server_url="http://from-flag:9000").server_url == "http://from-flag:9000"
    assert build_settings(server_url=None).server_url == "https://from-env/stenograph"


@pytest.mark.parametrize("url", ["api-host:8000", "ftp://api-host", "http://", "http://api-host/?token=x"])
def test_a_server_url_must_be_http_with_a_host(url: str) -> None:
    with pytest.raises(ValidationError, match="server_url"):
        build_settings(server_url=url)


def test_an_empty_server_url_means_none(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STENOGRAPH_SERVER_URL", "")
    assert build_settings().server_url is None


def test_serve_may_start_no_worker() -> None:
    assert build_settings(workers=0).workers == 0


def test_every_documented_name_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    names = {
        "STENOGRAPH_DATA_DIR": ("data_dir", "/tmp/x", Path("/tmp/x")),
        "STENOGRAPH_DATABASE_URL": ("database_url", "sqlite:////tmp/x.db", "sqlite:////tmp/x.db"),
        "STENOGRAPH_API_TOKEN": ("api_token", "s3cret", "s3cret"),
        "STENOGRAPH_SERVER_URL": ("server_url", "http://api-host:8000", "http://api-host:8000"),
        "STENOGRAPH_WORKERS": ("workers", "2", 2),
        "STENOGRAPH_POLL_INTERVAL": ("poll_interval", "1.5", 1.5),
        "STENOGRAPH_LEASE_SECONDS": ("lease_seconds", "30", 30.0),
        "STENOGRAPH_HEARTBEAT_SECONDS": ("heartbeat_seconds", "5", 5.0),
        "STENOGRAPH_SHUTDOWN_GRACE_SECONDS": ("shutdown_grace_seconds", "12", 12.0),
        "STENOGRAPH_MAX_ATTEMPTS": ("max_attempts", "5", 5),
        "STENOGRAPH_BACKOFF_BASE_SECONDS": ("backoff_base_seconds", "0.5", 0.5),
        "STENOGRAPH_TASK_TIMEOUTS": ("task_timeouts", '{"summary": 60}', {"summary": 60.0}),
        "STENOGRAPH_PIPELINE_STEPS": ("pipeline_steps", "transcription,summary", ["transcription", "summary"]),
        "STENOGRAPH_TASK_TYPES": ("task_types", "transcription", ["transcription"]),
    }
    for env, (_, raw, _) in names.items():
        monkeypatch.setenv(env, raw)
    settings = build_settings()
    for attribute, _, expected in names.values():
        assert getattr(settings, attribute) == expected, attribute


def test_invalid_values_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STENOGRAPH_PIPELINE_STEPS", "transcription,translation")
    with pytest.raises(ValidationError, match="translation"):
        build_settings()
    monkeypatch.delenv("STENOGRAPH_PIPELINE_STEPS")
    with pytest.raises(ValidationError):
        build_settings(poll_interval=0)
    with pytest.raises(ValidationError, match="translation"):
        build_settings(task_types="transcription,translation")
    with pytest.raises(ValidationError, match="at least one task type"):
        build_settings(task_types="")


def test_default_database_is_sqlite_in_the_data_dir(tmp_path: Path) -> None:
    settings = build_settings(data_dir=tmp_path / "d")
    assert settings.resolved_database_url == f"sqlite:///{(tmp_path / 'd' / 'stenograph.db').resolve()}"
    assert settings.is_sqlite


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.1.2.3", True),
        ("::1", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("10.0.0.2", False),
    ],
)
def test_loopback_hosts(host: str, loopback: bool) -> None:
    assert is_loopback_host(host) is loopback


@pytest.mark.parametrize(
    ("given", "used"),
    [
        ("postgres://u:p%40ss@db-host:5432/steno", "postgresql+psycopg://u:p%40ss@db-host:5432/steno"),
        ("postgresql://u@db-host/steno", "postgresql+psycopg://u@db-host/steno"),
        ("postgresql+psycopg://u@db-host/steno", "postgresql+psycopg://u@db-host/steno"),
        ("sqlite:////tmp/x.db", "sqlite:////tmp/x.db"),
        ("  ", None),
    ],
)
def test_postgres_urls_of_every_spelling_use_psycopg(given: str, used: str | None) -> None:
    assert build_settings(database_url=given).database_url == used


@pytest.mark.parametrize("url", ["mysql://u:secret@db-host/steno", "mongodb://db-host", "db-host:5432/steno"])
def test_other_databases_are_refused_by_name(url: str) -> None:
    with pytest.raises(ValidationError, match="only sqlite and postgresql databases are supported") as refused:
        build_settings(database_url=url)
    assert "secret" not in str(refused.value)


def test_repeated_task_types_count_once() -> None:
    settings = build_settings(task_types="transcription,transcription, summary,transcription")
    assert settings.task_types == ["transcription", "summary"]


def test_glossary_setting_is_limited(monkeypatch: pytest.MonkeyPatch) -> None:
    from pydantic import ValidationError

    monkeypatch.setenv("STENOGRAPH_GLOSSARY", " Kubernetes ,AT&T,  São  Paulo ")
    assert build_settings().glossary == ["Kubernetes", "AT&T", "São Paulo"]
    for bad in ("x" * 100_000, ",".join(f"t{i}" for i in range(101)), '["a\\nb"]', "<b>"):
        monkeypatch.setenv("STENOGRAPH_GLOSSARY", bad)
        with pytest.raises(ValidationError, match="glossary"):
            build_settings()


def test_a_sqlite_path_in_a_missing_directory_is_refused_and_creates_nothing(tmp_path: Path) -> None:
    from stenograph.db import create_db_engine
    from stenograph.errors import ConfigurationError

    missing = tmp_path / "typo" / "deeper"
    settings = build_settings(data_dir=tmp_path / "data", database_url=f"sqlite:///{missing / 'x.db'}")
    with pytest.raises(ConfigurationError, match="does not exist"):
        create_db_engine(settings)
    assert not (tmp_path / "typo").exists()
    default = build_settings(data_dir=tmp_path / "new" / "data")
    create_db_engine(default).dispose()
    assert (tmp_path / "new" / "data").is_dir()


def test_a_token_must_be_printable_ascii() -> None:
    import pytest
    from pydantic import ValidationError

    for token in ("pässwörd-ünïcode-tökén", "has spaces in it 1234"):
        with pytest.raises(ValidationError, match="printable ASCII"):
            build_settings(api_token=token)
    assert build_settings(api_token="0123456789abcdef").api_token == "0123456789abcdef"


def test_watch_and_export_settings_are_read_and_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STENOGRAPH_WATCH_DIRS", "/in/a, /in/b")
    monkeypatch.setenv("STENOGRAPH_EXPORT_DIR", "/out")
    monkeypatch.setenv("STENOGRAPH_EXPORT_FORMATS", "vtt,json,md")
    monkeypatch.setenv("STENOGRAPH_EXPORT_OVERWRITE", "true")
    monkeypatch.setenv("STENOGRAPH_WATCH_POLLING", "true")
    monkeypatch.setenv("STENOGRAPH_WATCH_STABLE_SECONDS", "4")
    settings = build_settings()
    assert [str(folder.path) for folder in settings.watch_dirs] == ["/in/a", "/in/b"]
    assert settings.export_dir == Path("/out") and settings.export_formats == ["vtt", "json", "md"]
    assert settings.export_overwrite and settings.watch_polling and settings.watch_stable_seconds == 4.0
    monkeypatch.setenv("STENOGRAPH_WATCH_DIRS", '[{"path": "/in/de", "steps": "transcription", "language": "de"}]')
    [folder] = build_settings().watch_dirs
    assert folder.options() == {"steps": ["transcription"], "language": "de"}
    monkeypatch.setenv("STENOGRAPH_WATCH_DIRS", "relative/dir")
    with pytest.raises(ValidationError, match="absolute"):
        build_settings()
    monkeypatch.delenv("STENOGRAPH_WATCH_DIRS")
    monkeypatch.setenv("STENOGRAPH_EXPORT_FORMATS", "srt,docx")
    with pytest.raises(ValidationError, match="docx"):
        build_settings()
