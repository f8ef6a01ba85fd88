"""``Stenograph(settings)``: the service every front end calls (the API, the CLI, the OpenAI route)."""

from __future__ import annotations

from sqlalchemy import Engine

from stenograph.queue import TaskQueue
from stenograph.queue.wakeup import workers_notifier
from stenograph.recordings.store import TranscriptStore
from stenograph.service.ask import AskUseCases
from stenograph.service.database import open_database
from stenograph.service.profiles import ProfileUseCases
from stenograph.service.recordings import RecordingUseCases
from stenograph.service.system import SystemUseCases
from stenograph.service.tasks import TaskUseCases
from stenograph.service.transcripts import TranscriptUseCases
from stenograph.service.watch import WatchUseCases
from stenograph.service.webhooks import WebhookUseCases
from stenograph.settings import Settings
from stenograph.steps.base import finish_hooks


class Stenograph(
    RecordingUseCases,
    TranscriptUseCases,
    TaskUseCases,
    SystemUseCases,
    AskUseCases,
    WebhookUseCases,
    ProfileUseCases,
    WatchUseCases,
):
    """Owns the engine, the task queue and the recordings store built from ``settings``, and offers the use
    cases: recordings (:mod:`~stenograph.service.recordings`), transcripts, summaries and the glossary
    (:mod:`~stenograph.service.transcripts`), tasks and workers (:mod:`~stenograph.service.tasks`), health,
    metrics and the LLM (:mod:`~stenograph.service.system`), questions (:mod:`~stenograph.service.ask`),
    webhooks (:mod:`~stenograph.service.webhooks`), voice profiles (:mod:`~stenograph.service.profiles`),
    watched folders (:mod:`~stenograph.service.watch`).

    Args:
        settings: the settings.
        engine: an engine to use (the caller keeps it: :meth:`close` does not dispose it); default one
            opened by :func:`~stenograph.service.database.open_database`.
        migrate: apply the migrations when opening the engine here.
    """

    def __init__(self, settings: Settings, *, engine: Engine | None = None, migrate: bool = True) -> None:
        self.settings = settings
        self._owns_engine = engine is None
        self.engine = engine if engine is not None else open_database(settings, migrate=migrate)
        notify = workers_notifier(settings, self.engine)
        self.queue = TaskQueue(self.engine, settings, notify=notify, on_finished=finish_hooks())
        self.store = TranscriptStore(self.engine)

    @classmethod
    def open(cls, settings: Settings) -> Stenograph:
        """The service on ``settings``' database, migrated."""
        return cls(settings)

    def close(self) -> None:
        """Release the database connections (of an engine this service opened)."""
        if self._owns_engine:
            self.engine.dispose()

    def __enter__(self) -> Stenograph:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
