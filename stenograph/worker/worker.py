"""The worker: claims tasks, runs each in a slot process, holds their leases, and shuts down gracefully.

One loop in the main thread claims tasks and reacts to its slots' messages; a heartbeat thread renews
the leases of running tasks (every ``heartbeat_seconds``) and looks for cancel requests (every second).
Neither runs task code, which lives in child processes, so a CPU-bound handler cannot stop the
heartbeat.

Signals (the two-stage shutdown of rq's ``request_stop``/``request_force_stop``): the first SIGINT or
SIGTERM stops claiming and lets running tasks finish within ``shutdown_grace_seconds``; tasks still
running then go back to pending without counting the attempt. A second signal releases them at once.
The worker then exits 0 with no task left running under its id.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import wait
from types import FrameType
from typing import Any

from sqlalchemy import Engine

from stenograph import clock
from stenograph.datadir import data_dir_id
from stenograph.db import sync_clock
from stenograph.errors import NotFoundError, TransitionError
from stenograph.queue import TaskQueue, TaskRecord
from stenograph.queue.claims import FinishedRun
from stenograph.queue.wakeup import WorkerWakeup, workers_notifier
from stenograph.service.database import open_database
from stenograph.settings import Settings
from stenograph.worker.batching import FAST_S, BatchPolicy
from stenograph.worker.handlers import cancel_grace_s, finish_hooks
from stenograph.worker.slot import BATCH_BUDGET_S, Running, Slot, describe_exit
from stenograph.worker.slots import SlotPlan, cancel_deadline, streaming, wait_timeout

log = logging.getLogger("stenograph.worker")

#: Most messages read from one slot's pipe before the worker looks at its other duties.
DRAIN_MAX = 256
#: Seconds between checks for cancel requests of running tasks.
CANCEL_CHECK_SECONDS = 1.0
#: Seconds between re-measurements of the offset from the database server's clock (PostgreSQL).
CLOCK_SYNC_SECONDS = 300.0


def make_worker_id(hostname: str | None = None) -> str:
    """A worker id unique to this process start: ``host:pid:start-time-in-ms``."""
    return f"{hostname or socket.gethostname()}:{os.getpid()}:{int(time.time() * 1000)}"


def _utc(epoch_s: float) -> datetime:
    """A slot's wall-clock time (seconds since the epoch, same machine) on the queue's clock."""
    return datetime.fromtimestamp(epoch_s, UTC) + clock.offset()


def _since(monotonic_s: float | None) -> datetime:
    """The queue-clock time of a monotonic instant of this process (now when None)."""
    ago = time.monotonic() - monotonic_s if monotonic_s is not None else 0.0
    return clock.now() - timedelta(seconds=max(ago, 0.0))


class Worker:
    """A worker process with ``concurrency`` slots, and one more kept for interactive task types (a
    question) when it takes those and others.

    Args:
        settings: the settings (poll interval, lease, grace, attempts...).
        concurrency: number of slot processes for every type; default ``settings.concurrency``.
        engine: an engine to use; default one built from the settings (and migrated).
    """

    def __init__(self, settings: Settings, concurrency: int | None = None, engine: Engine | None = None) -> None:
        self.settings = settings
        self.concurrency = concurrency or settings.concurrency
        # open_database migrates and follows the database server's clock (leases are compared on it)
        self.engine = open_database(settings) if engine is None else engine
        if engine is not None:
            sync_clock(self.engine)
        notify = workers_notifier(settings, self.engine)
        self.queue = TaskQueue(self.engine, settings, notify=notify, on_finished=finish_hooks())
        self.id = make_worker_id()
        #: This data directory's id: tasks bound to another one's files are not claimed (None: this worker
        #: fetches files from the API server, so it runs any).
        self.home: str | None = None if settings.server_url else data_dir_id(settings.data_dir)
        self.slots: list[Slot] = []
        self._lock = threading.Lock()
        self._stop_requested = False
        self._force_stop = False
        self._claim_due = False
        self._gave_back = False
        self._retry_at = float("inf")  # monotonic time a task this worker failed is due again
        self.batching = BatchPolicy(settings.batch_max)
        #: How many slots (one more kept for interactive types) and which types each claims.
        self.plan = SlotPlan(settings, self.concurrency)
        self._shutdown_deadline: float | None = None
        self._heartbeat_stop = threading.Event()
        self._signal_r, self._signal_w = socket.socketpair()
        self._signal_r.setblocking(False)
        self._signal_w.setblocking(False)

    # ------------------------------------------------------------------------------------------
    def run(self) -> int:
        """Run until stopped by a signal (or :meth:`request_stop`). Returns the exit status, 0."""
        self.queue.register_worker(self.id, socket.gethostname(), os.getpid(), self.concurrency, self.plan.claim_types)
        listener = WorkerWakeup(self.settings)
        self._install_signals()
        self.slots = self.plan.start()
        heartbeat = threading.Thread(target=self._heartbeat_loop, name="heartbeat", daemon=True)
        heartbeat.start()
        log.info(
            "worker %s started: %d slot(s)%s, task types %s, poll every %g s, lease %g s",
            self.id,
            self.plan.count,
            " (one kept for interactive tasks)" if self.plan.reserved else "",
            ", ".join(self.settings.task_types),
            self.settings.poll_interval,
            self.settings.lease_seconds,
        )
        next_expiry_check = next_poll = 0.0
        try:
            while True:
                if self._force_stop:
                    self._release_all("the worker was stopped at once (second signal)")
                    break
                if self._stop_requested:
                    if not self._gave_back:  # tasks held in a batch and not started need no grace period
                        self._gave_back = True
                        self._give_back_unstarted("the worker is stopping and had not started it")
                    if not any(slot.busy for slot in self.slots):
                        break
                    if self._shutdown_deadline is not None and time.monotonic() >= self._shutdown_deadline:
                        self._release_all(
                            f"the worker shut down; the task did not finish within the "
                            f"{self.settings.shutdown_grace_seconds:g} s grace period"
                        )
                        break
                self._enforce_deadlines()
                if time.monotonic() >= next_expiry_check:
                    self.queue.expire_leases()
                    next_expiry_check = time.monotonic() + min(self.settings.heartbeat_seconds, 5.0)
                # Claim when the poll interval has passed, or at once when woken, a slot has freed or one of
                # our failed tasks is due for its retry.
                now = time.monotonic()
                if not self._stop_requested and (self._claim_due or now >= min(next_poll, self._retry_at)):
                    self._claim_due = False
                    if now >= self._retry_at:
                        self._retry_at = float("inf")
                    self._fill_slots()
                    next_poll = time.monotonic() + self.settings.poll_interval
                retry_at = self._retry_at if not self._stop_requested else float("inf")
                self._wait(listener, min(next_expiry_check, next_poll, retry_at))
        finally:
            self._heartbeat_stop.set()
            heartbeat.join(10)
            if any(slot.busy for slot in self.slots):  # only after an unexpected error in this loop
                self._release_all("the worker stopped unexpectedly")
            for slot in self.slots:
                slot.stop()
            listener.close()
            self.queue.stop_worker(self.id)
            self._restore_signals()
            log.info("worker %s stopped", self.id)
        return 0

    def request_stop(self) -> None:
        """The first stage of shutdown (what the first SIGINT/SIGTERM does); a second call forces it."""
        if self._stop_requested:
            self._force_stop = True
        else:
            self._stop_requested = True
            self._shutdown_deadline = time.monotonic() + self.settings.shutdown_grace_seconds
        with contextlib.suppress(BlockingIOError, OSError):
            self._signal_w.send(b"!")

    # ------------------------------------------------------------------------------------------
    def _install_signals(self) -> None:
        self._previous: dict[int, Any] = {}
        if threading.current_thread() is not threading.main_thread():
            return
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._previous[sig] = signal.signal(sig, self._on_signal)

    def _restore_signals(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if self._stop_requested:
            log.warning("received %s again: releasing running tasks and stopping now", name)
        else:
            busy = sum(slot.busy for slot in self.slots)
            log.warning(
                "received %s: no new tasks; %d running task(s) get %g s to finish (send it again to stop now)",
                name,
                busy,
                self.settings.shutdown_grace_seconds,
            )
        self.request_stop()

    def _wait(self, listener: WorkerWakeup, wake_at: float) -> None:
        """Block until a wake-up, a signal, a slot's message or death, or ``wake_at`` (monotonic s)."""
        now = time.monotonic()
        timeout = wait_timeout(self.slots, now, max(wake_at - now, 0.0), self.settings)
        if self._shutdown_deadline is not None:
            timeout = min(timeout, max(self._shutdown_deadline - now, 0.0))
        waitables: list[Any] = [*listener.waitables(now), self._signal_r]
        for slot in self.slots:
            waitables += [slot.conn, slot.process.sentinel]
        ready = wait(waitables, timeout)
        if listener.woken(ready):
            self._claim_due = True
            self._check_cancels()
        if self._signal_r in ready:
            try:
                while self._signal_r.recv(64):
                    pass
            except (BlockingIOError, OSError):
                pass
        for slot in self.slots:
            if slot.conn in ready:
                self._drain(slot)
                self._claim_due = True
            elif slot.process.sentinel in ready and not slot.process.is_alive():
                self._on_child_death(slot)
                self._claim_due = True

    def _fill_slots(self) -> None:
        """Give each free slot the next task (or batch). A slot running short tasks holds up to two batches:
        one running and the next waiting in its pipe, so its process never waits for the database."""
        limit, batchable = self.batching.limit(), self.batching.batchable
        for number, slot in enumerate(self.slots):
            if not slot.ready or not slot.process.is_alive():
                continue
            types = self.plan.types_for(number)
            for _ in range(2):  # a batch running and the next one waiting in the pipe
                if not slot.busy:
                    tasks = self.queue.claim_batch(self.id, types, limit, batchable, home=self.home)
                elif limit > 1 and len(slot.batch) <= limit and streaming(slot, batchable):
                    tasks = self.queue.claim_batch(
                        self.id, types, limit, batchable, only_batchable=True, home=self.home
                    )
                else:
                    break
                if not tasks:
                    break
                if len(tasks) == 1:
                    task = tasks[0]
                    log.info("task %d %s running (attempt %d/%d)", task.id, task.type, task.attempts, task.max_attempts)
                else:
                    log.debug("tasks %s claimed as a batch", ", ".join(str(t.id) for t in tasks))
                with self._lock:
                    slot.run(tasks)

    def _drain(self, slot: Slot) -> None:
        """Handle what the slot has sent, up to :data:`DRAIN_MAX` messages: a slot must never wait on a full
        pipe while its parent writes to the database, or its running task would seem to run long. Groups of
        successes in a row are recorded together, in one transaction."""
        done: list[tuple[int, Any, float, float]] = []
        for _ in range(DRAIN_MAX):
            try:
                message = slot.conn.recv()
            except (EOFError, OSError):
                if done:
                    self._on_done(slot, done)
                if not slot.process.is_alive():
                    self._on_child_death(slot)
                return
            if message[0] == "done":
                done += message[1]
            else:
                if done:  # successes come before any later message: keep that order
                    self._on_done(slot, done)
                    done = []
                self._on_message(slot, message)
            try:
                more = slot.conn.poll()
            except (EOFError, OSError):
                more = False
            if not more:
                break
        if done:
            self._on_done(slot, done)

    def _on_message(self, slot: Slot, message: tuple[Any, ...]) -> None:
        kind = message[0]
        if kind == "ready":
            slot.ready = True
            if all(s.ready for s in self.slots):
                log.info("worker %s ready: %d slot process(es) waiting for tasks", self.id, len(self.slots))
            return
        if kind == "unstarted":  # ("done" groups are recorded by _drain)
            with self._lock:
                returned = [r for r in (slot.take(task_id) for task_id in message[1]) if r is not None]
            for running in {r.task.type: r for r in returned}.values():
                self.batching.shrink(running.task.type)
            self._release_runs(returned, "its batch ran past its time budget before it started; back in line")
            return
        found = slot.find(message[1])
        if found is None:
            return
        running, task = found, found.task
        if kind == "progress":  # written by the heartbeat thread, at most once a second per task
            _, _, fraction, text, eta = message
            with self._lock:
                running.progress = (fraction, text, eta)
            return
        with self._lock:
            slot.take(task.id)
        if running.lost:
            log.warning("task %d %s: result discarded, its lease was lost", task.id, task.type)
            return
        try:
            if kind == "elsewhere":
                _, _, affinity, text = message
                self.queue.give_back(task.id, self.id, task.attempts, affinity=affinity, message=text)
                log.warning(
                    "task %d %s given back for another worker (not counted as an attempt): %s", task.id, task.type, text
                )
            elif kind == "cancelled":
                self._log_end(self.queue.mark_cancelled(task.id, self.id, task.attempts, message[2]))
            elif kind == "error":
                _, _, error_kind, text, retryable, trace = message
                shown = f"\n{trace.rstrip()}" if trace else ""  # a traceback only for an unexpected error
                log.error("task %d %s raised %s: %s%s", task.id, task.type, error_kind, text, shown)
                self._log_end(
                    self.queue.fail(task.id, self.id, task.attempts, kind=error_kind, message=text, retryable=retryable)
                )
        except (TransitionError, NotFoundError) as exc:
            log.warning("task %d %s: outcome not recorded: %s", task.id, task.type, exc)

    def _on_done(self, slot: Slot, outcomes: list[tuple[int, Any, float, float]]) -> None:
        """Record a group of successes in one transaction."""
        runs: list[FinishedRun] = []
        types: dict[int, str] = {}
        with self._lock:
            previous_end: float | None = None
            for task_id, result, started, ended in outcomes:
                running = slot.take(task_id)
                if running is None:
                    continue
                task = running.task
                # What a task costs its slot: from the end of the one before it (the slot's own work between
                # tasks, and a busy machine's share of CPU, count too), not only its handler's time.
                since = ended - previous_end if previous_end is not None else 0.0
                self.batching.observe(task.type, max(ended - started, min(since, FAST_S)))
                previous_end = ended
                if running.lost:
                    log.warning("task %d %s: result discarded, its lease was lost", task.id, task.type)
                    continue
                types[task.id] = task.type
                runs.append(FinishedRun(task.id, task.attempts, result, _utc(started), _utc(ended)))
        recorded = set(self.queue.complete_batch(self.id, runs))
        for run in runs:
            if run.task_id not in recorded:
                log.warning(
                    "task %d %s: outcome not recorded: the worker no longer holds it", run.task_id, types[run.task_id]
                )
        if len(runs) == 1 and recorded:
            run = runs[0]
            seconds = (run.finished_at - run.started_at).total_seconds()
            log.info("task %d %s completed in %.2f s", run.task_id, types[run.task_id], seconds)
        elif recorded:
            log.info(
                "%d tasks completed (%s), %d to %d",
                len(recorded),
                ", ".join(sorted(set(types.values()))),
                min(recorded),
                max(recorded),
            )

    def _on_child_death(self, slot: Slot) -> None:
        code = slot.process.exitcode
        running = slot.active
        # The batch's other tasks go back to pending: those after it did not start, and those before it
        # may have ended without their success being sent (they run again: at least once).
        others = [r for r in slot.batch if r is not running]
        if running is not None and not running.lost:
            task = running.task
            text = f"the worker process running this task died ({describe_exit(code)})"
            log.error("task %d %s: %s", task.id, task.type, text)
            try:
                self._log_end(
                    self.queue.fail(
                        task.id, self.id, task.attempts, kind="worker_crashed", message=text, retryable=True
                    )
                )
            except (TransitionError, NotFoundError) as exc:
                log.warning("task %d: %s", task.id, exc)
        else:
            log.error("slot %d process died (%s)", slot.number, describe_exit(code))
        with self._lock:
            if self._stop_requested:
                slot.batch.clear()
            else:
                slot.restart()
        self._release_runs(others, "the slot process running its batch died; it runs again")

    def _on_lost(self, slot: Slot, running: Running) -> None:
        if running.lost:
            return
        running.lost = True
        log.warning(
            "task %d %s: lease lost (another worker took it back); stopping our attempt",
            running.task.id,
            running.task.type,
        )
        self._restart(slot, "its slot process was replaced (a task of its batch lost its lease)", recorded=None)

    def _restart(self, slot: Slot, reason: str, *, recorded: Running | None) -> None:
        """Replace the slot's process; the tasks of its batch go back to pending, except lost ones and
        ``recorded`` (whose end the caller records)."""
        with self._lock:
            others = [r for r in slot.batch if r is not recorded and not r.lost]
            slot.restart()
        self._release_runs(others, reason)

    def _enforce_deadlines(self) -> None:
        now = time.monotonic()
        for slot in self.slots:
            running = slot.active
            if running is None:
                continue
            if slot.cancels_pending:  # a cancelled task that has not started is not waited for
                slot.cancels_pending = False
                first = next((r for r in slot.batch if r.cancel_seen is not None and r is not running), None)
                if first is not None:
                    with self._lock:
                        revoked = slot.revoke_unstarted(first)
                    self._release_runs(revoked, "a cancel was requested before it started")
            overran = running.started is not None and now - running.started > BATCH_BUDGET_S
            # A dead slot's batch is not overrunning: its death is handled (and blamed) on its own.
            if overran and slot.batch[-1] is not running and slot.process.is_alive():
                with self._lock:
                    revoked = slot.revoke_unstarted()
                if revoked:
                    self.batching.shrink(running.task.type)
                    text = f"task {running.task.id} before it in its slot ran past {BATCH_BUDGET_S:g} s; back in line"
                    self._release_runs(revoked, text)
            task = running.task
            cancel_at = cancel_deadline(running, self.settings)
            if any(r.lost for r in slot.batch):
                log.warning("a task of slot %d lost its lease; its slot process is replaced", slot.number)
                self._restart(slot, "its slot process was replaced (a task of its batch lost its lease)", recorded=None)
            elif running.deadline is not None and now >= running.deadline:
                timeout = self.settings.timeout_for(task.type)
                text = f"the task ran longer than the {timeout:g} s timeout for {task.type} tasks and was killed"
                self._restart(
                    slot, "its slot process was killed (another task of its batch timed out)", recorded=running
                )
                try:
                    self._log_end(
                        self.queue.fail(task.id, self.id, task.attempts, kind="timeout", message=text, retryable=False)
                    )
                except (TransitionError, NotFoundError) as exc:
                    log.warning("task %d: %s", task.id, exc)
            elif cancel_at is not None and now >= cancel_at:
                text = (
                    f"cancelled: the handler did not stop within {cancel_grace_s(task.type, self.settings):g} s "
                    "of the request, so its process was killed"
                )
                self._restart(
                    slot, "its slot process was killed (a cancelled task of its batch did not stop)", recorded=running
                )
                try:
                    self._log_end(self.queue.mark_cancelled(task.id, self.id, task.attempts, text))
                except (TransitionError, NotFoundError) as exc:
                    log.warning("task %d: %s", task.id, exc)

    def _check_cancels(self) -> None:
        with self._lock:
            running = {r.task.id: (slot, r) for slot in self.slots for r in slot.batch}
        if not running:
            return
        for task_id in self.queue.cancel_requested(running):
            slot, snapshot = running[task_id]
            slot.request_cancel(snapshot)

    def _release_runs(self, runs: list[Running], reason: str) -> None:
        """Put tasks this worker holds back to pending, not counting their attempt (cancelled instead when
        a cancel was requested); one log line for a group."""
        runs = [r for r in runs if not r.lost]
        if not runs:
            return
        tasks = [(r.task.id, r.task.attempts) for r in runs]
        released: list[TaskRecord] = []
        for running, outcome in zip(runs, self.queue.release_many(self.id, tasks, reason), strict=True):
            if isinstance(outcome, Exception):
                log.warning("task %d: %s", running.task.id, outcome)
            else:
                released.append(outcome)
        if len(released) == 1:
            task = released[0]
            log.warning("task %d %s released (now %s): %s", task.id, task.type, task.status, reason)
        elif released:
            statuses = ", ".join(f"{n} {s}" for s, n in sorted(Counter(t.status for t in released).items()))
            ids = ", ".join(str(t.id) for t in released[:5]) + (", ..." if len(released) > 5 else "")
            log.warning("%d tasks released (now %s; %s): %s", len(released), statuses, ids, reason)

    def _give_back_unstarted(self, reason: str) -> None:
        """Revoke and release every task the slots hold but have not started."""
        for slot in self.slots:
            with self._lock:
                revoked = slot.revoke_unstarted()
            self._release_runs(revoked, reason)

    def _release_all(self, reason: str) -> None:
        runs: list[Running] = []
        with self._lock:
            for slot in self.slots:
                runs += slot.batch
                if slot.batch:
                    slot.restart() if not self._stop_requested else slot.kill()
                    slot.batch.clear()
        self._release_runs(runs, reason)

    def _log_end(self, task: TaskRecord) -> None:
        duration = f"{task.duration_s:.2f} s" if task.duration_s is not None else "-"
        if task.status == "pending":
            due = time.monotonic() + max((task.run_after - clock.now()).total_seconds(), 0.0)
            self._retry_at = min(self._retry_at, due)
            log.warning(
                "task %d %s pending again (attempt %d/%d failed: %s); retry after %s",
                task.id,
                task.type,
                task.attempts,
                task.max_attempts,
                task.error_message,
                task.run_after.isoformat(timespec="seconds"),
            )
        elif task.error_message:
            log.info("task %d %s %s in %s: %s", task.id, task.type, task.status, duration, task.error_message)
        else:
            log.info("task %d %s %s in %s", task.id, task.type, task.status, duration)

    def _heartbeat_loop(self) -> None:
        """Renew leases every ``heartbeat_seconds`` and look for cancel requests every second."""
        next_beat = 0.0
        next_sync = time.monotonic() + CLOCK_SYNC_SECONDS
        while not self._heartbeat_stop.is_set():
            now = time.monotonic()
            try:
                with self._lock:
                    running = {r.task.id: (slot, r) for slot in self.slots for r in slot.batch if not r.lost}
                    started = [r for r in (slot.started_unmarked() for slot in self.slots) if r is not None]
                    progress = {r.task.id: (r.task.attempts, *r.progress) for _, r in running.values() if r.progress}
                    for _, r in running.values():
                        r.progress = None
                if progress:  # a batch of short tasks costs no database write per task
                    self.queue.report_progress_many(self.id, progress)
                if started:  # the queue learns which tasks of a batch really started (see expire_leases)
                    self.queue.mark_started(self.id, {r.task.id: (r.task.attempts, _since(r.started)) for r in started})
                    for r in started:
                        r.marked = True
                if now >= next_sync:  # clocks drift: follow the database's again every few minutes
                    next_sync = now + CLOCK_SYNC_SECONDS
                    sync_clock(self.engine)
                if now >= next_beat:
                    held = self.queue.heartbeat(self.id, {tid: r.task.attempts for tid, (_, r) in running.items()})
                    next_beat = now + self.settings.heartbeat_seconds
                    lost = [tid for tid in running if tid not in held]
                    cancelled = [tid for tid in running if held.get(tid)]
                else:
                    lost = []
                    cancelled = list(self.queue.cancel_requested(running)) if running else []
                with self._lock:
                    # A slot may have finished that task and started another since the snapshot.
                    for task_id in lost:
                        slot, snapshot = running[task_id]
                        if any(r is snapshot for r in slot.batch):
                            snapshot.lost = True  # the main loop replaces the slot's process
                            slot.cancel.request(snapshot.task.id, snapshot.task.attempts)
                    for task_id in cancelled:
                        slot, snapshot = running[task_id]
                        if any(r is snapshot for r in slot.batch):
                            slot.request_cancel(snapshot)
            except Exception:  # the database may be briefly unreachable: keep beating
                log.exception("heartbeat failed at %s", clock.now().isoformat())
            self._heartbeat_stop.wait(min(CANCEL_CHECK_SECONDS, self.settings.heartbeat_seconds))
