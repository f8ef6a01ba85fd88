"""What every use-case module of :class:`~stenograph.service.Stenograph` shares."""

from __future__ import annotations

from sqlalchemy import Engine

from stenograph.queue import TaskQueue
from stenograph.recordings.store import TranscriptStore
from stenograph.settings import Settings


class ServiceBase:
    """The settings, the engine, the queue and the recordings store (set by ``Stenograph.__init__``)."""

    settings: Settings
    engine: Engine
    queue: TaskQueue
    store: TranscriptStore
