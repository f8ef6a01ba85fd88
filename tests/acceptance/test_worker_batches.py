"""Real worker processes running batches of short tasks: a slot that dies inside a batch blames only the
task it was running, and the batch's other tasks run again without losing an attempt."""

from __future__ import annotations

from pathlib import Path

import pytest

from stenograph.queue import TaskQueue
from stenograph.settings import Settings
from tests.acceptance.test_worker_processes import sim, status_of, witness_lines
from tests.helpers import read_logs, running_workers, wait_for

pytestmark = pytest.mark.slow


def test_a_crash_inside_a_batch_is_blamed_on_its_own_task(queue: TaskQueue, settings: Settings, tmp_path: Path) -> None:
    witness = tmp_path / "witness.log"
    with running_workers(settings, tmp_path) as [worker]:
        warm = queue.enqueue("transcription", sim(0.0, witness=str(witness)))  # the worker learns: it is short
        wait_for(lambda: status_of(queue, warm.id) == "completed", timeout=90)
        with queue.engine.begin() as conn:  # one commit: the worker finds them all pending at once
            before = [queue.enqueue("transcription", sim(0.0, witness=str(witness)), conn=conn).id for _ in range(5)]
            crash = queue.enqueue("transcription", sim(0.02, crash=True), max_attempts=2, conn=conn).id
            after = [queue.enqueue("transcription", sim(0.0, witness=str(witness)), conn=conn).id for _ in range(5)]
        wait_for(lambda: status_of(queue, crash) == "failed", timeout=90)
        wait_for(lambda: all(status_of(queue, t) == "completed" for t in before + after), timeout=90)
        assert worker.poll() is None
    crashed = queue.get(crash)
    assert crashed.error_kind == "worker_crashed" and crashed.attempts == 2
    for task_id in before + after:
        assert queue.get(task_id).attempts == 1, task_id  # never blamed for the crash
    # They were in the crashed task's batch: at least those after it went back to pending and ran again.
    messages = [e.message or "" for t in after for e in queue.events(t)]
    assert any("batch died" in m for m in messages), messages
    assert "tasks completed" in read_logs(tmp_path)  # successes were recorded in groups
    ran = {int(task_id) for task_id, *_ in witness_lines(witness)}
    assert ran == {warm.id, *before, *after}


def test_short_tasks_queued_behind_a_long_one_are_given_back_while_it_runs(
    queue: TaskQueue, settings: Settings, tmp_path: Path
) -> None:
    """A type learned as short can still have a long task; the short tasks claimed in its batch must not
    wait for it in 'running' (another worker could run them): they go back to pending within about 0.5 s."""
    with running_workers(settings, tmp_path):
        warm = queue.enqueue("correction", sim(0.0))
        wait_for(lambda: status_of(queue, warm.id) == "completed", timeout=90)
        with queue.engine.begin() as conn:
            long = queue.enqueue("correction", sim(3.0), conn=conn).id
            short = [queue.enqueue("correction", sim(0.0), conn=conn).id for _ in range(20)]
        wait_for(
            lambda: status_of(queue, long) == "running" and all(status_of(queue, t) == "pending" for t in short),
            timeout=60,
            what="the short tasks back to pending while the long one runs",
        )
        wait_for(lambda: all(status_of(queue, t) == "completed" for t in [long, *short]), timeout=90)
    assert all(queue.get(t).attempts == 1 for t in short)  # giving back does not count an attempt
    messages = [e.message or "" for t in short for e in queue.events(t)]
    assert any("ran past 0.5 s" in m for m in messages), messages


def test_a_failed_task_is_retried_when_due_not_at_the_next_poll(make_settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from stenograph.db import create_db_engine, upgrade

    settings = make_settings(poll_interval=3600)  # only the retry's own due time can bring it back
    engine = create_db_engine(settings)
    upgrade(engine)
    queue = TaskQueue(engine, settings)
    task = queue.enqueue("summary", sim(0.0, fail=True), max_attempts=3)
    with running_workers(settings, tmp_path):
        wait_for(lambda: status_of(queue, task.id) == "failed", timeout=60)
    assert queue.get(task.id).attempts == 3
