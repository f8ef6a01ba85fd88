"""Many worker processes on PostgreSQL: exactly-once under load, and no overlapping attempts under chaos.

Both are judged from outside witnesses written by the simulated handler (see
:mod:`stenograph.worker.simulate`): ``witness`` gets ``task_id attempt pid start end`` when an attempt's
work is done, ``witness_starts`` gets ``task_id attempt pid ppid start`` when it begins, so attempts that
were killed half-way are seen too. The task table is not trusted for the verdict.
"""

from __future__ import annotations

import itertools
import random
import signal
import subprocess
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest

from stenograph.queue import TaskQueue
from stenograph.queue.wakeup import workers_notifier
from stenograph.settings import Settings
from tests.acceptance.test_worker_processes import witness_lines
from tests.helpers import (
    read_logs,
    running_workers,
    start_worker,
    stop_process,
    wait_for,
    wait_until_workers_ready,
)

pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.parametrize("backend", ["postgres"])]


def completed(queue: TaskQueue) -> int:
    return queue.list_tasks(status="completed", limit=1)[1]


def test_eight_workers_run_five_thousand_tasks_exactly_once(
    queue: TaskQueue, settings: Settings, tmp_path: Path
) -> None:
    witness = tmp_path / "witness.log"
    params = {"simulate": {"seconds": 0.0, "witness": str(witness)}}
    waking = TaskQueue(queue.engine, settings, notify=workers_notifier(settings, queue.engine))
    with running_workers(settings, tmp_path, count=8):
        wait_until_workers_ready(tmp_path, 8)  # then every enqueue wakes eight competing workers
        ids = [waking.enqueue("transcription", params).id for _ in range(5000)]
        wait_for(lambda: completed(queue) == 5000, timeout=900, interval=1.0, what="5,000 tasks to complete")
    rows = witness_lines(witness)
    counts = Counter(task_id for task_id, *_ in rows)
    assert set(counts) == set(ids)
    assert max(counts.values()) == 1, [t for t, n in counts.items() if n > 1][:10]
    assert {attempt for _, attempt, *_ in rows} == {1}
    # Workers claimed concurrently (not necessarily all eight: one claim takes every pending no-op task).
    assert len({pid for _, _, pid, *_ in rows}) >= 2
    assert "database is locked" not in read_logs(tmp_path) and "deadlock" not in read_logs(tmp_path)
    assert queue.list_tasks(status="failed")[1] + queue.list_tasks(status="pending")[1] == 0


def test_chaos_sigkilled_workers_never_overlap_attempts(make_settings: Any, tmp_path: Path) -> None:
    """300 tasks of 0.2 to 1 s, 2 s leases; a random worker is SIGKILLed every 2 to 4 s and replaced."""
    settings: Settings = make_settings(lease_seconds=2.0, heartbeat_seconds=0.5, poll_interval=0.5, max_attempts=50)
    from stenograph.db import create_db_engine

    engine = create_db_engine(settings)
    queue = TaskQueue(engine, settings)
    ends, starts = tmp_path / "ends.log", tmp_path / "starts.log"
    rng = random.Random(20261129)
    ids = [
        queue.enqueue(
            "transcription",
            {
                "simulate": {
                    "seconds": round(rng.uniform(0.2, 1.0), 3),
                    "witness": str(ends),
                    "witness_starts": str(starts),
                }
            },
        ).id
        for _ in range(300)
    ]
    workers: list[subprocess.Popen[bytes]] = [start_worker(settings, tmp_path / f"w{n}.log", 2) for n in range(4)]
    died_by: dict[int, float] = {}  # worker pid -> a time by which it and its slot processes were dead
    kills = 0
    pause = threading.Event()
    try:
        deadline = time.monotonic() + 600
        while completed(queue) < 300:
            assert time.monotonic() < deadline, f"only {completed(queue)} of 300 tasks completed"
            pause.wait(rng.uniform(2.0, 4.0))  # the chaos schedule, not a synchronisation
            victim = workers.pop(rng.randrange(len(workers)))
            victim.send_signal(signal.SIGKILL)
            victim.wait(30)
            slots = {int(line.split()[2]) for line in _lines(starts) if int(line.split()[3]) == victim.pid}
            wait_for(lambda s=slots: not any(_running(p) for p in s), timeout=30, what="the slots to die")  # type: ignore[misc]
            died_by[victim.pid] = time.time()
            kills += 1
            workers.append(start_worker(settings, tmp_path / f"w{kills + 4}.log", 2))
    finally:
        for worker in workers:
            stop_process(worker)
        engine.dispose()
    assert kills >= 3, "the run was too short to kill anything"
    finished = witness_lines(ends)
    assert {task_id for task_id, *_ in finished} == set(ids)  # every task's work was done
    # Every attempt that began, with its end: from its own end line, else when its worker was dead.
    end_of = {(t, a): end for t, a, _pid, _start, end in finished}
    attempts: dict[int, list[tuple[float, float, int]]] = defaultdict(list)
    for line in _lines(starts):
        task_id, attempt, _pid, ppid, start = line.split()
        key = (int(task_id), int(attempt))
        end = end_of.get(key, died_by.get(int(ppid)))
        assert end is not None, f"attempt {key} neither ended nor was killed"
        attempts[key[0]].append((float(start), end, key[1]))
    killed_attempts = sum(len(runs) for runs in attempts.values()) - len(finished)
    for task_id, runs in attempts.items():
        runs.sort()
        assert len({attempt for *_, attempt in runs}) == len(runs), f"task {task_id} ran one attempt twice"
        for (_, first_end, a), (second_start, _, b) in itertools.pairwise(runs):
            assert first_end <= second_start, f"task {task_id}: attempts {a} and {b} overlapped"
    assert killed_attempts >= 1, "no attempt was caught by a kill: the chaos tested nothing"


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def _running(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie (an orphan's zombie may linger in a container)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
