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
