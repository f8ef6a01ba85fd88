"""The ``stenograph`` command line (Typer): ``serve``, ``worker``, ``db upgrade``, ``transcribe``.

Flags win over the environment, which wins over ``.env``, which wins over the defaults
(:func:`stenograph.settings.build_settings`).
"""

from __future__ import annotations

import logging
import signal
import sys
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer
from pydantic import ValidationError
from pydantic_settings import SettingsError
from rich.console import Console

from stenograph.cli_transcribe import transcribe
from stenograph.instance import InstanceLock
from stenograph.logs import configure_logging
from stenograph.service.database import DATABASE_ERRORS
from stenograph.settings import MIN_TOKEN_LENGTH, Settings, binds_loopback_only, build_settings
from stenograph.steps.registry import TASK_TYPES

app = typer.Typer(help="Stenograph: local-first transcription with a durable task queue.", no_args_is_help=True)
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
app.add_typer(db_app, name="db")
err = Console(stderr=True, soft_wrap=True)  # an error is one line, whatever the terminal (logs, grep)

DataDir = Annotated[Path | None, typer.Option("--data-dir", help="Data directory (env STENOGRAPH_DATA_DIR; ./data).")]
DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        help="The database, postgresql+psycopg://user@host/db to share it between machines (env "
        "STENOGRAPH_DATABASE_URL, better for a URL holding a password: a flag shows in ps; default SQLite in "
        "the data directory).",
    ),
]


def _settings(**overrides: object) -> Settings:
    try:
        return build_settings(**overrides)
    except ValidationError as exc:
        for error in exc.errors():
            where = ".".join(str(p) for p in error["loc"])
            name = f"STENOGRAPH_{where.upper()}" if where else "settings"
            err.print(f"invalid setting {name}: {error['msg']}", style="red", markup=False)
        raise typer.Exit(2) from exc
    except (SettingsError, UnicodeDecodeError) as exc:
        err.print(f"invalid settings (environment or .env): {exc}", style="red", markup=False)
        raise typer.Exit(2) from exc


def _cannot_start(exc: BaseException) -> typer.Exit:
    """Print why the database or data directory cannot be used; the exit to raise."""
    err.print(f"cannot start: {type(exc).__name__}: {exc}", style="red", markup=False)
    return typer.Exit(2)


#: Errors of a database URL or data directory that cannot be used.
STARTUP_ERRORS = DATABASE_ERRORS


def bind_refusal(settings: Settings) -> str | None:
    """Why ``serve`` must not bind ``settings.host`` with ``settings.api_token``, or None when it may.

    Anything but loopback (``""`` and wildcard addresses included, names resolved as the bind would) needs a
    token of at least :data:`~stenograph.settings.MIN_TOKEN_LENGTH` characters.
    """
    if binds_loopback_only(settings.host, settings.port):
        return None
    shown = repr(settings.host) if not settings.host.strip() else settings.host
    if not settings.api_token:
        return (
            f"refusing to bind {shown} (beyond this machine; an empty host means every interface): "
            f"set STENOGRAPH_API_TOKEN to serve beyond this machine"
        )
    if len(settings.api_token) < MIN_TOKEN_LENGTH:
        return (
            f"refusing to bind {shown}: STENOGRAPH_API_TOKEN has {len(settings.api_token)} characters, "
            f"at least {MIN_TOKEN_LENGTH} are needed to serve beyond this machine (openssl rand -hex 32)"
        )
    return None


def _check_model(settings: Settings) -> None:
    """Exit 2 when ``STENOGRAPH_WHISPER_MODEL`` cannot be used (a start refuses it like any bad setting,
    instead of every transcription failing later)."""
    from stenograph.errors import ConfigurationError
    from stenograph.steps.submit import check_model_name

    try:
        check_model_name(settings, settings.whisper_model)
    except ConfigurationError as exc:
        err.print(f"invalid setting STENOGRAPH_WHISPER_MODEL: {exc}", style="red", markup=False)
        raise typer.Exit(2) from exc


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind (env STENOGRAPH_HOST, default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (env STENOGRAPH_PORT, default 8000).")] = None,
    workers: Annotated[
        int | None,
        typer.Option(help="Worker processes (env STENOGRAPH_WORKERS, default 1); 0: the API only, workers elsewhere."),
    ] = None,
    concurrency: Annotated[
        int | None, typer.Option(help="Task slots per worker (env STENOGRAPH_CONCURRENCY; 1).")
    ] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Start the API and a supervised pool of workers, as a desktop shell would."""
    from stenograph.serving import Service

    configure_logging()
    settings = _settings(
        host=host, port=port, workers=workers, concurrency=concurrency, data_dir=data_dir, database_url=database_url
    )
    refusal = bind_refusal(settings)
    if refusal:
        err.print(refusal, style="red", markup=False)
        raise typer.Exit(2)
    _check_model(settings)
    lock = hold_data_dir(settings)
    try:
        service = Service(settings)
    except STARTUP_ERRORS as exc:
        raise _cannot_start(exc) from exc
    signals_seen = 0

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        nonlocal signals_seen
        signals_seen += 1
        name = signal.Signals(signum).name
        if signals_seen == 1:
            print(f"[Supervisor] {name}: stopping the API and the workers (again to stop at once)", flush=True)
        service.stop(force=signals_seen > 1)

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    service.start()
    lock.publish(service.url)
    print(f"Stenograph on {service.url} (data in {settings.data_dir})", flush=True)
    if settings.workers == 0:
        print("no local workers (--workers 0): tasks wait for `stenograph worker` processes", flush=True)
    status = service.join()
    lock.release()
    raise typer.Exit(status)


def hold_data_dir(settings: Settings) -> InstanceLock:
    """The data directory's single-server lock; exit 2 when ``serve`` or ``desktop`` already holds it."""
    from stenograph.instance import acquire, running_url

    try:
        lock = acquire(settings.data_dir)
    except OSError as exc:
        raise _cannot_start(exc) from exc
    if lock is None:
        where = running_url(settings.data_dir) or "an address not published yet"
        err.print(
            f"cannot start: another Stenograph server holds {settings.data_dir} (on {where})",
            style="red",
            markup=False,
        )
        raise typer.Exit(2)
    return lock


@app.command()
def worker(
    concurrency: Annotated[int | None, typer.Option(help="Tasks run at once (env STENOGRAPH_CONCURRENCY; 1).")] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    server_url: Annotated[
        str | None,
        typer.Option(
            "--server-url",
            help="The API server, http://api-host:8000: recordings missing from the data directory are fetched "
            "from it with STENOGRAPH_API_TOKEN (env STENOGRAPH_SERVER_URL).",
        ),
    ] = None,
    task_types: Annotated[
        str | None,
        typer.Option(
            "--task-types",
            help="Task types to take, comma separated, e.g. transcription on a GPU machine "
            f"(env STENOGRAPH_TASK_TYPES; default all: {', '.join(TASK_TYPES)}).",
        ),
    ] = None,
) -> None:
    """Run a worker: takes tasks from the database until SIGINT/SIGTERM.

    On another machine than the API server: --database-url and --server-url (see docs/scaling.md).
    """
    from stenograph.worker import Worker

    configure_logging()
    settings = _settings(
        concurrency=concurrency,
        data_dir=data_dir,
        database_url=database_url,
        server_url=server_url,
        task_types=task_types,
    )
    _check_model(settings)
    if settings.server_url:
        from stenograph.errors import ConfigurationError
        from stenograph.worker.fetch import check_server

        print(f"recordings missing from {settings.uploads_dir} are fetched from {settings.server_url}", flush=True)
        try:
            check_server(settings)
        except ConfigurationError as exc:
            err.print(f"cannot start: {exc}", style="red", markup=False)
            raise typer.Exit(2) from exc
    try:
        worker = Worker(settings)
    except STARTUP_ERRORS as exc:
        raise _cannot_start(exc) from exc
    raise typer.Exit(worker.run())


@app.command()
def desktop(
    install: Annotated[
        bool, typer.Option("--install", help="Write a .desktop entry and icon under ~/.local/share, then exit.")
    ] = False,
    port: Annotated[int | None, typer.Option(help="Port (env STENOGRAPH_PORT, default 8000).")] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """A native window on the web app, running the API and the workers like `serve` (docs/desktop.md).

    When `serve` or another `desktop` already holds the data directory, the window opens on that server.
    """
    if install:
        from stenograph.desktop.install import install_entry

        print(f"wrote {install_entry()}")
        return
    from stenograph.desktop.app import run_desktop

    configure_logging()
    settings = _settings(port=port, data_dir=data_dir, database_url=database_url)
    refusal = bind_refusal(settings)
    if refusal:
        err.print(refusal, style="red", markup=False)
        raise typer.Exit(2)
    _check_model(settings)
    try:
        status = run_desktop(settings)
    except STARTUP_ERRORS as exc:
        raise _cannot_start(exc) from exc
    raise typer.Exit(status)


@db_app.command("upgrade")
def db_upgrade(data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """Apply the database migrations (also done at every start)."""
    from stenograph.service import upgrade_database

    configure_logging(logging.WARNING)
    settings = _settings(data_dir=data_dir, database_url=database_url)
    try:
        shown = upgrade_database(settings)
    except STARTUP_ERRORS as exc:
        raise _cannot_start(exc) from exc
    print(f"database at {shown} is up to date")


app.command()(transcribe)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    app(args=argv if argv is not None else sys.argv[1:], prog_name="stenograph")


if __name__ == "__main__":
    main()
