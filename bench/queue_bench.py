"""Queue benchmark on SQLite: no-op tasks per second with 1 and 4 workers; enqueue-to-start latency of an
idle worker (p50, p95, p99); CPU an idle worker uses. Goals: p50 at most 50 ms, idle under 2% of a core."""

from __future__ import annotations

import random
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import (
    bench_settings,
    cpu_seconds,
    descendants,
    percentile,
    start_workers,
    stop_workers,
    wait_for,
)

NOOP: dict[str, Any] = {"simulate": {"seconds": 0}}


def throughput(workers: int, tasks: int = 600) -> float:
    """Tasks per second: tasks / (last finish - first start), from the tasks' own timestamps."""
    with bench_settings(poll_interval=1.0) as (settings, queue), tempfile.TemporaryDirectory() as logs:
        for _ in range(tasks):
            queue.enqueue("transcription", NOOP)
        procs = start_workers(settings, workers, Path(logs) / "w.log")
        try:
            wait_for(lambda: queue.list_tasks(status="completed", limit=1)[1] == tasks, timeout=900, interval=0.2)
        finally:
            stop_workers(procs)
        records, _ = queue.list_tasks(limit=tasks)
        first = min(r.started_at for r in records if r.started_at)
        last = max(r.finished_at for r in records if r.finished_at)
        return tasks / (last - first).total_seconds()


def latency_and_idle(samples: int = 100) -> dict[str, float]:
    """Enqueue-to-start latency (started_at - created_at) for an idle worker, and its idle CPU share."""
    with bench_settings(poll_interval=5.0) as (settings, queue), tempfile.TemporaryDirectory() as logs:
        log = Path(logs) / "w.log"
        [worker] = start_workers(settings, 1, log)
        try:
            wait_for(lambda: " ready: " in log.read_text(), timeout=60)
            pids = descendants(worker.pid)
            before, start = cpu_seconds(pids), time.monotonic()
            time.sleep(10.0)  # measuring an idle worker: nothing to wait for
            idle_share = (cpu_seconds(pids) - before) / (time.monotonic() - start)
            latencies = []
            rng = random.Random(1)
            for _ in range(samples):
                record = queue.enqueue("transcription", NOOP)
                done = wait_for(lambda r=record: queue.get(r.id).status == "completed" and queue.get(r.id), 30, 0.005)
                assert done.started_at is not None
                latencies.append((done.started_at - done.created_at).total_seconds() * 1000)
                time.sleep(rng.uniform(0.05, 0.3))  # let the worker go idle again
        finally:
            stop_workers([worker])
    return {
        "latency_p50_ms": percentile(latencies, 0.50),
        "latency_p95_ms": percentile(latencies, 0.95),
        "latency_p99_ms": percentile(latencies, 0.99),
        "idle_cpu_percent_of_core": idle_share * 100,
    }


def run() -> dict[str, Any]:
    results: dict[str, Any] = {}
    results["tasks_per_second_1_worker"] = throughput(1)
    results["tasks_per_second_4_workers"] = throughput(4)
    results.update(latency_and_idle())
    return results
