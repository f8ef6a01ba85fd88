"""2,000 millisecond tasks through worker processes that are SIGKILLed while they hold batches of them, and
slot processes killed mid-batch: every task completes, none fails, and the events log holds each
transition once (no claim-and-give-back churn). Run on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import signal
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from stenograph.db.models import events_table
from stenograph.queue import TaskQueue
from tests.acceptance.test_worker_processes import sim
from tests.helpers import start_worker, stop_process, wait_for

pytestmark = pytest.mark.slow

TASKS = 2000


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def _held(queue: TaskQueue) -> int:
    return queue.list_tasks(status="running", limit=1)[1]


def _completed(queue: TaskQueue) -> int:
    return queue.list_tasks(status="completed", limit=1)[1]


def test_killed_workers_cost_unstarted_tasks_no_attempt(make_settings: Any, tmp_path: Path) -> None:
    from stenograph.db import create_db_engine, upgrade

    settings = make_settings(lease_seconds=2.0, heartbeat_seconds=0.5, max_attempts=3)
    engine = create_db_engine(settings)
    upgrade(engine, lock_dir=settings.data_dir)
    queue = TaskQueue(engine, settings)
    witness = tmp_path / "witness.log"
    with engine.begin() as conn:
        ids = [queue.enqueue("transcription", sim(0.002, witness=str(witness)), conn=conn).id for _ in range(TASKS)]
    workers: list[subprocess.Popen[bytes]] = []
    kills = 0
    try:
        for round_ in range(4):
            worker = start_worker(settings, tmp_path / f"worker-{round_}.log", concurrency=2)
            workers.append(worker)
            if round_ == 3:
                break
            done = _completed(queue)
            # Killed once it has run some tasks (it has learned they are short) and holds a batch of them.
            wait_for(
                lambda done=done: _completed(queue) >= done + 100 and _held(queue) >= 50,
                timeout=120,
                what="the worker to hold a batch",
            )
            if round_ == 1:  # a slot process dies inside its batch first; the worker replaces it
                slot = _children(worker.pid)[0]
                os.kill(slot, signal.SIGKILL)
                wait_for(
                    lambda done=done: _completed(queue) >= done + 300, timeout=120, what="progress after a slot kill"
                )
                wait_for(lambda: _held(queue) >= 50, timeout=120, what="a batch held again")
            os.kill(worker.pid, signal.SIGKILL)
            worker.wait(10)
            kills += 1
        wait_for(lambda: _completed(queue) == TASKS, timeout=300, interval=0.5, what="every task to complete")
    finally:
        for worker in workers:
            stop_process(worker, timeout=30)
    assert kills == 3
    statuses = Counter(queue.get(task_id).status for task_id in ids)
    assert statuses == {"completed": TASKS}
    with engine.connect() as conn:
        completions = dict(
            conn.execute(
                select(events_table.c.task_id, func.count())
                .where(events_table.c.to_status == "completed")
                .group_by(events_table.c.task_id)
            ).all()
        )
        total_events = conn.execute(select(func.count()).select_from(events_table)).scalar_one()
    assert set(completions) == set(ids) and set(completions.values()) == {1}  # completed exactly once
    # Readable: each task is enqueued, claimed and completed once, plus one give-back and one new claim for
    # each time a task went back to pending (mostly the tasks a killed worker held and had not started), and
    # no claim-and-give-back churn from batches that overrun their time budget.
    with engine.connect() as conn:
        back = conn.execute(
            select(events_table.c.message).where(
                events_table.c.from_status == "running", events_table.c.to_status == "pending"
            )
        ).scalars()
        reasons = Counter("budget" if "past" in (m or "") or "budget" in (m or "") else m[:40] for m in back)
    assert total_events == 3 * TASKS + 2 * sum(reasons.values()), (total_events, reasons)
    # A busy machine (2 cores, the test's own processes, PostgreSQL) can stall a millisecond task past the
    # 0.5 s budget now and then, which gives the tasks queued behind it back (0 to about 250 of these 2,000 in
    # runs here); never the churn of a task given back tens of times (before: 37 claims of one attempt).
    assert reasons["budget"] <= TASKS // 5, reasons
    with engine.connect() as conn:
        per_task = conn.execute(
            select(func.count())
            .where(events_table.c.from_status == "running", events_table.c.to_status == "pending")
            .group_by(events_table.c.task_id)
            .order_by(func.count().desc())
            .limit(1)
        ).scalar()
    assert (per_task or 0) <= kills + 3, per_task  # at most once per kill, and a stall or two
    engine.dispose()
