"""The test task's handler: simulated work with progress, cancellation and failure modes.

Params (the ``simulate`` object of a task's params), all optional:

- ``seconds`` (float, default 3): how long the work takes.
- ``fail``: ``true`` or ``"retryable"`` raises a retryable error at the end of every attempt,
  ``"permanent"`` a permanent one (no retry).
- ``ignore_cancel`` (bool): never look at the cancel flag (the worker's parent kills it after the grace).
- ``crash`` (bool): the process kills itself with SIGKILL halfway (a native crash).
- ``cpu_bound`` (bool): spin on the CPU for ``seconds`` without reporting progress or looking at the
  cancel flag (like native code holding the process); the lease must survive it.
- ``witness`` (path): append ``task_id attempt pid start end`` (times in seconds since the epoch) to this
  file when the work is done: an outside record of every execution, for tests.
- ``witness_starts`` (path): append ``task_id attempt pid ppid start`` when the work starts, so that a
  test can also see attempts that were killed before they ended (``ppid`` is the worker's process).
"""

from __future__ import annotations

import os
import signal
import threading
import time
from typing import Any

from stenograph.errors import PermanentError, RetryableError
from stenograph.queue.context import TaskContext

#: Seconds between progress reports and cancel checks.
STEP_SECONDS = 0.1


def run_simulated(ctx: TaskContext, params: dict[str, Any]) -> dict[str, Any]:
    """Simulate ``seconds`` of work. Returns ``{"simulated": true, "seconds": ...}``.

    Raises:
        RetryableError, PermanentError: when ``fail`` asks for it.
        TaskCancelled: when a cancel was requested (unless ``ignore_cancel``).
    """
    spec = params.get("simulate") or {}
    seconds = float(spec.get("seconds", 3.0))
    started = time.time()
    if spec.get("witness_starts"):
        _append(spec["witness_starts"], f"{ctx.task_id} {ctx.attempt} {os.getpid()} {os.getppid()} {started:.6f}\n")
    deadline = time.monotonic() + seconds
    if spec.get("cpu_bound"):
        spins = 0
        while time.monotonic() < deadline:
            spins += sum(range(10_000))  # pure computation, no I/O, no checks
        deadline = time.monotonic()
    wait = threading.Event()
    while True:
        left = deadline - time.monotonic()
        if not spec.get("ignore_cancel"):
            ctx.raise_if_cancelled()
        if spec.get("crash") and left <= seconds / 2:
            os.kill(os.getpid(), signal.SIGKILL)
        if left <= 0:
            break
        done = 1.0 - left / seconds if seconds > 0 else 1.0
        ctx.report_progress(done, f"simulating {seconds:g} s of work", eta_s=left)
        wait.wait(min(STEP_SECONDS, left))
    if spec.get("witness"):
        _append(spec["witness"], f"{ctx.task_id} {ctx.attempt} {os.getpid()} {started:.6f} {time.time():.6f}\n")
    fail = spec.get("fail", False)
    if fail == "permanent":
        raise PermanentError("simulated permanent failure", kind="simulated_failure")
    if fail:
        raise RetryableError(f"simulated failure in attempt {ctx.attempt}", kind="simulated_failure")
    return {"simulated": True, "seconds": seconds}


def _append(path: str, line: str) -> None:
    """Append one line with a single ``write`` on an ``O_APPEND`` descriptor (atomic for short lines)."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)
