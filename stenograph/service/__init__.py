"""The service layer: :class:`Stenograph` owns the database, the queue and the recordings store and offers
every use case; the API, the CLI and the OpenAI-compatible route call it and nothing below it.

Opening the database (:mod:`stenograph.service.database`) is imported at once; the rest on first use, so
that a worker, which only opens the database here, does not load the media and upload modules.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from stenograph.service.database import DATABASE_ERRORS, open_database, shown_url, upgrade_database
from stenograph.service.errors import ServiceError

if TYPE_CHECKING:
    from stenograph.service.core import Stenograph
    from stenograph.service.recordings import StoredFile
    from stenograph.service.transcripts import render_transcript, transcript_json, version_json

__all__ = [
    "DATABASE_ERRORS",
    "ServiceError",
    "Stenograph",
    "StoredFile",
    "open_database",
    "render_transcript",
    "shown_url",
    "transcript_json",
    "upgrade_database",
    "version_json",
]

_LAZY = {
    "Stenograph": "stenograph.service.core",
    "StoredFile": "stenograph.service.recordings",
    "render_transcript": "stenograph.service.transcripts",
    "transcript_json": "stenograph.service.transcripts",
    "version_json": "stenograph.service.transcripts",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'stenograph.service' has no attribute {name!r}")
