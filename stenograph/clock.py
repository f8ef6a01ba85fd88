"""The one clock of Stenograph. Tests patch :func:`now` (the pattern of rq's ``utils.now``)."""

from __future__ import annotations

from datetime import UTC, datetime


def now() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)
