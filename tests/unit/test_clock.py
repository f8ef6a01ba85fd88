"""The clock follows a reference clock (the database server's on PostgreSQL) by Cristian's algorithm."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, text

from stenograph import clock
from stenograph.db import sync_clock


@pytest.fixture(autouse=True)
def _restore_offset() -> Iterator[None]:
    before = clock.offset()
    yield
    clock.sync(lambda: datetime.now(UTC) + before)


def test_sync_follows_a_clock_that_runs_ahead() -> None:
    ahead = timedelta(seconds=90)
    offset = clock.sync(lambda: datetime.now(UTC) + ahead)
    assert abs((offset - ahead).total_seconds()) < 0.05
    assert abs((clock.now() - (datetime.now(UTC) + ahead)).total_seconds()) < 0.05


def test_sync_keeps_the_sample_with_the_shortest_round_trip() -> None:
    # The first answer is late (its round trip is long, its estimate is off); the later quick ones win.
    answers = iter([timedelta(seconds=30), timedelta(seconds=5), timedelta(seconds=5)])
    slow = iter([0.2, 0.0, 0.0])

    def reference() -> datetime:
        wait = next(slow)
        if wait:
            deadline = datetime.now(UTC) + timedelta(seconds=wait)
            while datetime.now(UTC) < deadline:  # a slow network, simulated by spinning
                pass
        return datetime.now(UTC) + next(answers)

    assert abs(clock.sync(reference, samples=3).total_seconds() - 5.0) < 0.05


def test_a_failing_reference_leaves_the_offset_alone() -> None:
    clock.sync(lambda: datetime.now(UTC) + timedelta(seconds=7))

    def broken() -> datetime:
        raise ConnectionError("down")

    with pytest.raises(ConnectionError):
        clock.sync(broken)
    assert abs(clock.offset().total_seconds() - 7.0) < 0.05


def test_sync_clock_follows_the_database_server(engine: Engine, backend: str) -> None:
    clock.sync(lambda: datetime.now(UTC) + timedelta(hours=1))  # pretend this machine is an hour off
    seconds = sync_clock(engine)
    if backend == "sqlite":
        assert seconds == 0.0  # one machine: nothing to follow
        return
    with engine.connect() as conn:
        database = conn.execute(text("SELECT clock_timestamp()")).scalar_one()
    assert abs((clock.now() - database).total_seconds()) < 1.0
