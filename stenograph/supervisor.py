"""The supervisor of ``stenograph serve``: a pool of worker processes, restarted with backoff when one dies.

Each worker is ``python -m stenograph.worker`` in a session of its own (so a terminal's Ctrl-C reaches
only the supervisor, which forwards one SIGTERM: the workers' first, graceful stage), with every setting
passed through its environment. Its output lines are printed with a ``[Worker]`` prefix
(``[Worker 2]`` when there are several). A worker that dies is restarted after 1, 2, 4 ... 30 s; one that
dies ``GIVE_UP_AFTER`` times in a row within ``QUICK_EXIT_SECONDS`` of its start makes the supervisor give
up, so ``stenograph serve`` exits non-zero rather than serving with no worker.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import IO

from stenograph.settings import Settings

QUICK_EXIT_SECONDS = 30.0
GIVE_UP_AFTER = 5
BACKOFF_CAP_SECONDS = 30.0


def settings_environment(settings: Settings) -> dict[str, str]:
    """The environment that gives a child process exactly these settings."""
    env = dict(os.environ)
    for name, value in settings.model_dump(mode="json").items():
        key = f"STENOGRAPH_{name.upper()}"
        if value is None:
            env.pop(key, None)
        elif isinstance(value, (dict, list)):
            env[key] = json.dumps(value)
        else:
            env[key] = str(value)
    env["STENOGRAPH_DATABASE_URL"] = settings.resolved_database_url
    env["STENOGRAPH_DATA_DIR"] = str(settings.data_dir.resolve())
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _term_with_parent() -> None:
    """In the child before exec: SIGTERM when the supervisor dies (prctl PR_SET_PDEATHSIG)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").prctl(1, signal.SIGTERM, 0, 0, 0)


class ManagedWorker:
    """One worker process slot of the pool, with its restart loop in a thread."""

    def __init__(self, supervisor: Supervisor, number: int) -> None:
        self.supervisor = supervisor
        self.number = number
        self.prefix = "[Worker]" if supervisor.count == 1 else f"[Worker {number}]"
        self.process: subprocess.Popen[bytes] | None = None
        self.quick_failures = 0
        self.restarts = 0
        self.thread = threading.Thread(target=self._loop, name=f"worker-{number}", daemon=True)

    def _spawn(self) -> subprocess.Popen[bytes]:
        command = [
            sys.executable,
            "-m",
            "stenograph.worker",
            "--concurrency",
            str(self.supervisor.concurrency),
        ]
        return subprocess.Popen(
            command,
            env=self.supervisor.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_term_with_parent,
        )

    def _pump(self, stream: IO[bytes]) -> None:
        for raw in iter(stream.readline, b""):
            self.supervisor.emit(f"{self.prefix} {raw.decode(errors='replace').rstrip()}")

    def _loop(self) -> None:
        sup = self.supervisor
        while not sup.stopping.is_set():
            started = time.monotonic()
            self.process = self._spawn()
            assert self.process.stdout is not None
            self._pump(self.process.stdout)
            code = self.process.wait()
            if sup.stopping.is_set():
                return
            lived = time.monotonic() - started
            self.quick_failures = self.quick_failures + 1 if lived < QUICK_EXIT_SECONDS else 1
            self.restarts += 1
            delay = min(BACKOFF_CAP_SECONDS, 2 ** (self.quick_failures - 1))
            sup.emit(f"{self.prefix} exited ({_exit_text(code)}) after {lived:.1f} s; restarting in {delay:g} s")
            if self.quick_failures >= GIVE_UP_AFTER:
                sup.give_up(f"{self.prefix} died {self.quick_failures} times in a row right after starting")
                return
            if sup.stopping.wait(delay):
                return

    def signal(self, sig: int) -> None:
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(sig)


def _exit_text(code: int) -> str:
    if code < 0:
        return f"killed by {signal.Signals(-code).name}"
    return f"exit code {code}"


class Supervisor:
    """Starts ``count`` workers with ``concurrency`` slots each and keeps them running."""

    def __init__(
        self,
        settings: Settings,
        count: int,
        concurrency: int = 1,
        emit: Callable[[str], None] | None = None,
        on_give_up: Callable[[str], None] | None = None,
    ) -> None:
        self.settings = settings
        self.count = count
        self.concurrency = concurrency
        self.env = settings_environment(settings)
        self.stopping = threading.Event()
        self.gave_up: str | None = None
        self._emit_lock = threading.Lock()
        self._emit = emit or (lambda line: print(line, flush=True))
        self._on_give_up = on_give_up
        self.workers = [ManagedWorker(self, n + 1) for n in range(count)]

    def emit(self, line: str) -> None:
        with self._emit_lock:
            self._emit(line)

    def start(self) -> None:
        for worker in self.workers:
            worker.thread.start()

    def give_up(self, reason: str) -> None:
        self.gave_up = reason
        self.emit(f"[Supervisor] giving up: {reason}")
        if self._on_give_up is not None:
            self._on_give_up(reason)

    def stop(self, *, force: bool = False) -> None:
        """Send SIGTERM to every worker (the second call: again, which makes them release at once)."""
        if self.stopping.is_set() and not force:
            return
        self.stopping.set()
        for worker in self.workers:
            worker.signal(signal.SIGTERM)

    def wait(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for every worker to exit; kill the rest. True when all exited."""
        deadline = time.monotonic() + timeout
        clean = True
        for worker in self.workers:
            process = worker.process
            if process is None:
                continue
            try:
                process.wait(max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                clean = False
                worker.signal(signal.SIGKILL)
                process.wait(5)
            worker.thread.join(5)
        return clean

    def all_alive(self) -> bool:
        return all(w.process is not None and w.process.poll() is None for w in self.workers)
