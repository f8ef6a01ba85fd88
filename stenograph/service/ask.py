"""Use cases of questions: ask one recording or the whole library (an ``ask`` task), follow its answer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from stenograph.errors import NotFoundError, TransitionError
from stenograph.queue import TaskRecord, TaskStatus
from stenograph.queue.states import FINISHED
from stenograph.recordings.text_input import clean_text
from stenograph.service.base import ServiceBase
from stenograph.service.errors import ServiceError
from stenograph.steps.submit import enqueue_step

__all__ = ["AskProgress", "AskUseCases"]

#: The task type of a question (the ``ask`` step, :mod:`stenograph.steps.ask.step`).
ASK = "ask"


@dataclass(frozen=True, slots=True)
class AskProgress:
    """Where a question stands: its task, the answer so far (``partial``, the task's progress message
    while it runs), and ``done`` once the task has ended (its result then holds the answer)."""

    task: TaskRecord
    partial: str
    done: bool


class AskUseCases(ServiceBase):
    def ask(self, question: str, recording_id: int | None = None) -> TaskRecord:
        """Enqueue a question about one recording (``recording_id``) or the library (None); wakes workers.

        Raises:
            NotFoundError: no such recording.
            ServiceError: (invalid) an empty question (nothing left once control characters and whitespace
                are removed, ``empty_question``) or a too long one.
        """
        from stenograph.steps.ask.step import MAX_QUESTION_CHARS

        text = " ".join(clean_text(question).split())  # control characters out first: "\x00\x01" is empty
        if not text:
            raise ServiceError("invalid", "empty_question", "the question is empty")
        if len(text) > MAX_QUESTION_CHARS:
            raise ServiceError(
                "invalid", "question_too_long", f"the question has {len(text)} characters; at most {MAX_QUESTION_CHARS}"
            )
        if recording_id is not None:
            self.store.recording(recording_id)  # NotFoundError
        params: dict[str, Any] = {"question": text, "recording_id": recording_id}
        task = enqueue_step(self.queue, ASK, params, recording_id=recording_id)
        self.queue.notify()
        return task

    def ask_progress(self, task_id: int) -> AskProgress:
        """The question's task and its answer so far.

        Raises:
            NotFoundError: no such task, or it is not a question.
        """
        task = self.queue.get(task_id)
        if task.type != ASK:
            raise NotFoundError(f"task {task_id} is not a question")
        from stenograph.steps.ask.step import PARTIAL_FRACTION

        writing = task.status == TaskStatus.RUNNING and task.progress >= PARTIAL_FRACTION
        return AskProgress(task, (task.progress_message or "") if writing else "", task.status in FINISHED)

    def abandon_question(self, task_id: int) -> None:
        """Cancel a question nobody waits for any more (its stream was closed); a finished one is left."""
        try:
            _record, outcome = self.queue.cancel(task_id)
        except (NotFoundError, TransitionError):
            return
        if outcome == "requested":
            self.queue.notify()  # the worker checks cancel flags when woken
