"""Running ask tasks in the test's process as a worker's slot would (claim, progress, cancel, finish
through the queue), with a scripted LLM the test holds."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from stenograph.errors import TaskCancelled
from stenograph.llm.fake import ScriptedLLM
from stenograph.queue import TaskQueue
from stenograph.recordings.store import TranscriptStore
from stenograph.settings import Settings
from stenograph.steps.ask.step import STEP as ASK
from stenograph.steps.base import StepContext, run_step
from tests.helpers import wait_for

WORKER = "test-runner"


@dataclass
class QueueTask:
    """A :class:`~stenograph.queue.context.TaskContext` on the queue: progress written at once, cancel read
    from the task's row."""

    queue: TaskQueue
    settings: Settings
    task_id: int
    attempt: int
    task_type: str = "ask"
    reports: list[tuple[float, str]] = field(default_factory=list)

    def report_progress(self, fraction: float, message: str = "", eta_s: float | None = None) -> None:
        self.reports.append((fraction, message))
        self.queue.report_progress(self.task_id, WORKER, self.attempt, fraction, message, eta_s)

    @property
    def cancelled(self) -> bool:
        return self.queue.get(self.task_id).cancel_requested

    def raise_if_cancelled(self) -> None:
        if self.cancelled:
            raise TaskCancelled("cancelled")


def answer_one(queue: TaskQueue, settings: Settings, store: TranscriptStore, llm: ScriptedLLM) -> threading.Thread:
    """A thread that claims the next ask task (waiting for one) and runs it to its end."""

    def run() -> None:
        task = wait_for(lambda: queue.claim(WORKER, types=["ask"]), what="an ask task")
        ctx = QueueTask(queue, settings, task.id, task.attempts)
        step_ctx = StepContext(ctx, store=store, llm=lambda _s: (llm, llm.describe().to_dict()))
        try:
            result: dict[str, Any] = run_step(ASK, step_ctx, task.params)
        except TaskCancelled:
            queue.mark_cancelled(task.id, WORKER, task.attempts, "cancelled")
            return
        queue.complete(task.id, WORKER, task.attempts, result)

    thread = threading.Thread(target=run, name="ask-runner", daemon=True)
    thread.start()
    return thread
