"""The one clock of Stenograph. Tests patch :func:`now` (the pattern of rq's ``utils.now``).

On PostgreSQL, workers on many machines compare lease deadlines written by each other, so every process
follows the database server's clock: :func:`sync` measures this machine's offset from it with Cristian's
algorithm (F. Cristian, "Probabilistic clock synchronization", Distributed Computing 3, 1989: the remote
time plus half the round trip, keeping the sample with the shortest round trip), and :func:`now` adds
that offset. On SQLite there is one machine and the offset stays zero.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

_offset = timedelta(0)


def now() -> datetime:
    """The current time, timezone-aware UTC (the database server's time where :func:`sync` was called)."""
    return datetime.now(UTC) + _offset


def offset() -> timedelta:
    """How far this process's clock is corrected: the reference's time minus the local time."""
    return _offset


def sync(reference_now: Callable[[], datetime], samples: int = 3) -> timedelta:
    """Follow ``reference_now`` (e.g. ``SELECT clock_timestamp()``) from now on; returns the new offset.

    Args:
        reference_now: returns the reference clock's time, timezone-aware.
        samples: round trips to take; the one with the shortest round trip (least uncertainty) wins.

    Raises:
        whatever ``reference_now`` raises (the offset is then unchanged).
    """
    global _offset
    best: tuple[float, timedelta] | None = None
    for _ in range(max(samples, 1)):
        started = time.monotonic()
        local = datetime.now(UTC)
        remote = reference_now()
        round_trip = time.monotonic() - started
        estimate = remote - (local + timedelta(seconds=round_trip / 2))
        if best is None or round_trip < best[0]:
            best = (round_trip, estimate)
    assert best is not None
    _offset = best[1]
    return _offset
