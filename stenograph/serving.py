"""The API (uvicorn in a thread) and the supervised worker pool, as ``serve`` and ``desktop`` run them.

:class:`Service` starts both, stops them in order (the API, then the workers' graceful stage: running tasks
get ``shutdown_grace_seconds``) and says whether everything ended cleanly.
"""

from __future__ import annotations

import threading

from stenograph.settings import Settings


class Service:
    """uvicorn on ``settings.host:settings.port`` plus ``settings.workers`` supervised worker processes.

    Raises (constructor): the errors of :data:`stenograph.service.database.DATABASE_ERRORS` when the
    database or data directory cannot be used.
    """

    def __init__(self, settings: Settings) -> None:
        import uvicorn

        from stenograph.api import create_app
        from stenograph.api.security import install_log_redaction
        from stenograph.supervisor import Supervisor

        self.settings = settings
        api = create_app(settings)
        self.server = uvicorn.Server(
            uvicorn.Config(api, host=settings.host, port=settings.port, log_level="info", lifespan="on")
        )
        install_log_redaction()  # again after uvicorn's logging set-up: sign-in links show as ?token=***
        self.supervisor = Supervisor(
            settings,
            settings.workers,
            settings.concurrency,
            on_give_up=lambda _reason: setattr(self.server, "should_exit", True),
        )
        self.thread = threading.Thread(target=self.server.run, name="api", daemon=True)

    @property
    def url(self) -> str:
        """The base URL of the API, e.g. ``http://127.0.0.1:8000``."""
        return f"http://{self.settings.host}:{self.settings.port}"

    def start(self) -> None:
        """Start the workers and the API thread (returns at once)."""
        self.supervisor.start()
        self.thread.start()

    def wait_started(self, timeout: float) -> bool:
        """Wait until uvicorn listens (True) or the API thread ended or ``timeout`` seconds passed (False)."""
        finished = threading.Event()
        deadline = threading.Timer(timeout, finished.set)
        deadline.start()
        try:
            while not self.server.started and self.thread.is_alive() and not finished.is_set():
                finished.wait(0.05)
        finally:
            deadline.cancel()
        return bool(self.server.started)

    def stop(self, force: bool = False) -> None:
        """Ask the API and the workers to stop; ``force``: at once (a second Ctrl-C)."""
        self.server.should_exit = True
        if force:
            self.server.force_exit = True
        self.supervisor.stop(force=force)

    def join(self) -> int:
        """Wait for the API thread, then stop the workers and wait for them: the exit status (0: clean)."""
        while self.thread.is_alive():
            self.thread.join(0.5)
        self.supervisor.stop()
        clean = self.supervisor.wait(self.settings.shutdown_grace_seconds + 15)
        if self.supervisor.gave_up or not self.server.started:
            return 1
        return 0 if clean else 1
