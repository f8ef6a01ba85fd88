"""Queue benchmark: Stenograph against the queues users would pick instead, on no-op tasks.

Figures, for each peer (:mod:`bench.peers`), all read from the witness lines the tasks write:

- ``enqueue_per_s``: tasks enqueued per second, one call per task from one Python process (no workers yet).
- ``drain_per_s`` with N workers: the queue holds ``tasks`` tasks before any worker starts; then N workers
  drain it. Tasks per second = (tasks - 1) / (start of the last task - start of the first task), so worker
  start-up is not counted. ``executions`` and ``distinct`` say whether every task ran exactly once.
- ``pickup latency`` p50, p95, p99 in milliseconds: one idle worker; a task is enqueued, and the time from
  just before the enqueue call to the start of the task's body is one sample; the next task is enqueued a
  random 50-300 ms after that start (over the whole 5 s poll period for the baseline).

Goals (checked in :mod:`bench.report`): Stenograph on SQLite drains at least 2 times as fast as SqliteHuey at
the same durability; pickup p50 at most 50 ms on SQLite and PostgreSQL.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from bench.common import percentile
from bench.peers.base import QueuePeer
from bench.peers.baseline import BaselinePeer
from bench.peers.huey_peer import HueyPeer
from bench.peers.procrastinate_peer import ProcrastinatePeer
from bench.peers.rq_peer import RQPeer
from bench.peers.stenograph_peer import StenographPeer

console = Console(stderr=True)


@dataclass(frozen=True)
class Scale:
    """How much each measurement does.

    Attributes:
        tasks: tasks enqueued before draining.
        workers: worker counts drained with, for every peer.
        stenograph_workers: worker counts for the two Stenograph rows (adds 8).
        samples: pickup-latency samples per peer.
        baseline_samples: samples for the 5 s polling baseline (each costs 2.5 s on average).
        timeout_s: longest wait for one drain or one sample before the figure is given up.
    """

    tasks: int
    workers: tuple[int, ...]
    stenograph_workers: tuple[int, ...]
    samples: int
    baseline_samples: int
    timeout_s: float


FULL = Scale(
    tasks=10_000, workers=(1, 4), stenograph_workers=(1, 4, 8), samples=200, baseline_samples=20, timeout_s=900
)
QUICK = Scale(tasks=200, workers=(1, 4), stenograph_workers=(1, 4), samples=25, baseline_samples=3, timeout_s=120)


def all_peers() -> list[QueuePeer]:
    """Every row of the table, Stenograph on SQLite first (the reference of every ratio)."""
    return [
        StenographPeer("sqlite"),
        StenographPeer("postgresql"),
        HueyPeer(synchronous="NORMAL"),
        HueyPeer(synchronous=""),
        ProcrastinatePeer(),
        RQPeer(),
        BaselinePeer(),
    ]


# ----------------------------------------------------------------------------------------------
# witness file
def read_witness(path: Path) -> list[tuple[str, float]]:
    """(key, start time in seconds since the epoch) of every line written so far."""
    rows = []
    for line in path.read_text().splitlines():
        fields = line.split()
        if len(fields) == 5:
            rows.append((fields[0], float(fields[3])))
    return rows


def count_lines(path: Path) -> int:
    return path.read_bytes().count(b"\n")


class WitnessTail:
    """Reads the lines appended to a witness file since the last call."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self.partial = b""

    def new_rows(self) -> list[tuple[str, float]]:
        with self.path.open("rb") as handle:
            handle.seek(self.offset)
            data = self.partial + handle.read()
        self.offset += len(data) - len(self.partial)
        *lines, self.partial = data.split(b"\n")
        return [(f[0], float(f[3])) for f in (line.decode().split() for line in lines) if len(f) == 5]


# ----------------------------------------------------------------------------------------------
# workers
def stop_processes(procs: list[subprocess.Popen[bytes]], grace_s: float = 30.0) -> None:
    """SIGTERM each worker (their graceful stop), then SIGKILL whatever is left of their process groups."""
    for proc in procs:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    for proc in procs:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(max(deadline - time.monotonic(), 0.1))
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)  # children (slots, forked horses) left behind
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(5)


def wait_until(
    condition: Callable[[], bool], timeout: float, procs: list[subprocess.Popen[bytes]], log: Path, interval: float
) -> None:
    """Wait for ``condition()``; raise when it times out or every worker process exited."""
    deadline = time.monotonic() + timeout
    while not condition():
        if all(proc.poll() is not None for proc in procs):
            tail = log.read_text(errors="replace")[-800:] if log.exists() else ""
            raise RuntimeError(f"the workers exited; log tail:\n{tail}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"not done within {timeout:g} s")
        time.sleep(interval)


# ----------------------------------------------------------------------------------------------
# measurements
def enqueue_and_drain(peer: QueuePeer, scale: Scale, workers: int, folder: Path) -> dict[str, Any]:
    """Enqueue ``scale.tasks`` no-op tasks, then drain them with ``workers`` workers (see the module docstring)."""
    witness = folder / "witness.log"
    witness.touch()
    log = folder / "workers.log"
    started = time.perf_counter()
    for number in range(scale.tasks):
        peer.enqueue(witness, f"t{number}")
    enqueue_s = time.perf_counter() - started
    procs = peer.start_workers(workers, log)
    try:
        wait_until(lambda: count_lines(witness) >= scale.tasks, scale.timeout_s, procs, log, 0.2)
    finally:
        stop_processes(procs)
    rows = read_witness(witness)
    starts = sorted(start for _, start in rows)
    return {
        "workers": workers,
        "tasks": scale.tasks,
        "enqueue_per_s": scale.tasks / enqueue_s,
        "drain_s": starts[-1] - starts[0],
        "drain_per_s": (len(starts) - 1) / (starts[-1] - starts[0]),
        "executions": len(rows),
        "distinct": len({key for key, _ in rows}),
    }


def pickup_latency(peer: QueuePeer, samples: int, timeout: float, folder: Path, seed: int = 1) -> dict[str, Any]:
    """Enqueue-to-start latency of one idle worker, in milliseconds (see the module docstring)."""
    witness = folder / "witness.log"
    witness.touch()
    log = folder / "workers.log"
    tail = WitnessTail(witness)
    rng = random.Random(seed)
    procs = peer.start_workers(1, log)
    latencies: list[float] = []
    try:
        seen: dict[str, float] = {}

        def arrived(count: int = 0, key: str = "") -> bool:
            seen.update(tail.new_rows())
            return key in seen if key else len(seen) >= count

        for number in range(3):  # warm-up: the worker has started and run tasks before
            peer.enqueue(witness, f"warm{number}")
        wait_until(lambda: arrived(count=3), timeout, procs, log, 0.05)
        time.sleep(1.0)
        for number in range(samples):
            sent = time.time()
            key = peer.enqueue(witness, f"l{number}")
            wait_until(lambda k=key: arrived(key=k), timeout, procs, log, 0.002)  # type: ignore[misc]
            latencies.append((seen[key] - sent) * 1000)
            time.sleep(rng.uniform(*peer.idle_gap_s))
    finally:
        stop_processes(procs)
    return {
        "samples": len(latencies),
        "p50_ms": percentile(latencies, 0.50),
        "p95_ms": percentile(latencies, 0.95),
        "p99_ms": percentile(latencies, 0.99),
        "max_ms": max(latencies),
        "raw_ms": [round(value, 3) for value in latencies],
    }


def measure_peer(peer: QueuePeer, scale: Scale, scratch: Path) -> dict[str, Any]:
    """Every figure of one peer; a failing figure is recorded as an error and the others still run."""
    row: dict[str, Any] = {"name": peer.name, "guarantees": peer.guarantees, "workers_run_as": peer.worker_note}
    reason = peer.unavailable()
    if reason is not None:
        row["skipped"] = reason
        console.print(f"[yellow]{peer.name}: skipped ({reason})")
        return row
    counts = scale.stenograph_workers if isinstance(peer, StenographPeer) else scale.workers
    row["throughput"] = {}
    for workers in counts:
        with tempfile.TemporaryDirectory(dir=scratch) as folder:
            try:
                peer.setup(Path(folder))
                row["durability"] = peer.durability()
                figures = enqueue_and_drain(peer, scale, workers, Path(folder))
                row["throughput"][str(workers)] = figures
                console.print(
                    f"{peer.name}: {workers} worker(s): {figures['drain_per_s']:.0f} tasks/s "
                    f"(enqueue {figures['enqueue_per_s']:.0f}/s)"
                )
            except Exception as exc:
                row["throughput"][str(workers)] = {"error": f"{type(exc).__name__}: {exc}"}
                console.print(f"[red]{peer.name}: {workers} worker(s): {type(exc).__name__}: {exc}")
            finally:
                peer.teardown()
    if isinstance(peer, StenographPeer):
        with tempfile.TemporaryDirectory(dir=scratch) as folder:
            try:
                peer.setup(Path(folder))
                row["enqueue_many"] = {"per_s": peer.enqueue_many_rate(Path(folder) / "witness.log", scale.tasks)}
                console.print(f"{peer.name}: enqueue_many {row['enqueue_many']['per_s']:,.0f} tasks/s")
            except Exception as exc:
                row["enqueue_many"] = {"error": f"{type(exc).__name__}: {exc}"}
            finally:
                peer.teardown()
    samples = scale.baseline_samples if isinstance(peer, BaselinePeer) else scale.samples
    with tempfile.TemporaryDirectory(dir=scratch) as folder:
        try:
            peer.setup(Path(folder))
            row["latency"] = pickup_latency(peer, samples, min(scale.timeout_s, 60.0), Path(folder))
            console.print(
                f"{peer.name}: pickup p50 {row['latency']['p50_ms']:.1f} ms, p95 {row['latency']['p95_ms']:.1f} ms"
            )
        except Exception as exc:
            row["latency"] = {"error": f"{type(exc).__name__}: {exc}"}
            console.print(f"[red]{peer.name}: latency: {type(exc).__name__}: {exc}")
        finally:
            peer.teardown()
    return row


def run(quick: bool = False) -> dict[str, Any]:
    """The queue section: one row per peer (see the module docstring), and the scale used."""
    scale = QUICK if quick else FULL
    rows = []
    with tempfile.TemporaryDirectory(prefix="stenograph-queue-bench-") as scratch:
        for peer in all_peers():
            rows.append(measure_peer(peer, scale, Path(scratch)))
    return {"scale": scale.__dict__, "rows": rows}
