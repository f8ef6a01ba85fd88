"""``create_app(settings)``: the FastAPI application. Nothing is created at import time."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from stenograph.api.auth import FailureLimiter, install_auth
from stenograph.api.docs import install_docs
from stenograph.api.errors import install_error_handlers
from stenograph.api.routes import ask, openai_compat, profiles, recordings, system, tasks, transcripts, webhooks
from stenograph.api.routes import watch as watch_routes
from stenograph.api.security import HostPolicy, SecurityMiddleware, install_log_redaction
from stenograph.service import Stenograph
from stenograph.settings import Settings
from stenograph.watch.watcher import WatchControl

STATIC_DIR = Path(__file__).resolve().parent.parent / "web" / "static"


def create_app(
    settings: Settings, *, migrate: bool = True, auth_clock: Callable[[], float] = time.monotonic
) -> FastAPI:
    """Build the API for ``settings``: the service (engine, migrations, queue), routes, auth and the web app.

    ``auth_clock`` (monotonic seconds) times the window of failed sign-ins. The Host, Origin and header
    rules of :mod:`stenograph.api.security` wrap everything, auth included.
    """
    service = Stenograph(settings, migrate=migrate)
    watch = WatchControl(service)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        watch.start()  # only when watched folders are configured (docs/watch-folders.md)
        yield
        watch.stop()
        service.close()

    app = FastAPI(
        title="Stenograph",
        version="0.1.0",
        description="Local-first transcription: recordings in, transcripts, corrections and summaries out.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.stenograph = service
    app.state.watch = watch
    install_error_handlers(app)
    install_auth(app, settings.api_token, FailureLimiter(clock=auth_clock))
    install_docs(app)
    app.include_router(tasks.router)
    app.include_router(system.router)
    app.include_router(recordings.router)
    app.include_router(transcripts.router)
    app.include_router(openai_compat.router)
    app.include_router(ask.router)
    app.include_router(webhooks.router)
    app.include_router(profiles.router)
    app.include_router(watch_routes.router)
    if (STATIC_DIR / "index.html").exists():
        app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

        @app.get("/", include_in_schema=False)
        def index() -> FileResponse:
            return FileResponse(STATIC_DIR / "index.html")

    # Added last, so it is the outermost middleware: it runs before auth and adds its headers to every answer.
    app.add_middleware(SecurityMiddleware, policy=HostPolicy(settings))
    install_log_redaction()
    return app
