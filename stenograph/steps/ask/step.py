"""The ``ask`` step: a question answered from the transcript of one recording, or of the whole library.

Params: ``{"question", "recording_id": id or None (the library)}``. An interactive step (a person waits):
its tasks are claimed first and a worker of two slots or more keeps one for them. It is not part of an
upload's pipeline (:data:`~stenograph.steps.registry.STANDALONE`); the API enqueues it
(``POST /recordings/{id}/ask``, ``POST /ask``).

While the model writes, the answer so far is the task's progress message at progress
:data:`PARTIAL_FRACTION` (written by the worker at most once per heartbeat; the phase messages before it
come at lower fractions); the task's result holds the verified answer and its citations.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field, StrictInt

from stenograph.settings import Settings
from stenograph.steps.base import StepBase, StepContext, StepParams

if TYPE_CHECKING:
    from stenograph.steps.submit import PipelineRequest

__all__ = ["MAX_PASSAGES", "MAX_QUESTION_CHARS", "PARTIAL_FRACTION", "STEP", "AskParams", "AskStep"]

#: The longest question taken, in characters.
MAX_QUESTION_CHARS = 1000
#: The most passages given to the model.
MAX_PASSAGES = 8
#: The progress fraction of a report whose message is the answer so far (phase messages come below it).
PARTIAL_FRACTION = 0.5


class AskParams(StepParams):
    question: str = Field(min_length=1, max_length=MAX_QUESTION_CHARS)
    recording_id: StrictInt | None = None


class AskStep(StepBase):
    name: str = "ask"
    interactive: bool = True
    params_model: type[BaseModel] = AskParams

    def cancel_grace_s(self, settings: Settings) -> float:
        # It stops between two pieces of a streamed answer; a model that does not stream cannot stop.
        return min(settings.cancel_grace_seconds, 2.0)

    def task_params(self, request: PipelineRequest, recording_id: int | None) -> dict[str, Any]:
        raise NotImplementedError("the ask step is not part of an upload's pipeline")

    def run(self, ctx: StepContext, params: AskParams) -> dict[str, Any]:
        """Retrieve the passages, answer from them, verify the citations.

        Returns:
            ``{"question", "recording_id", "answer", "citations": [{"recording_id", "recording_name",
            "index", "start", "end", "timestamp", "text"}], "found", "method": "llm" | "passages",
            "reason", "llm", "passages": how many were given}``.

        Raises:
            PermanentError: the recording was deleted.
            TaskCancelled: cancelled while the answer streamed.
        """
        from stenograph.steps.ask.answer import answer_question
        from stenograph.steps.ask.retrieval import library_passages, recording_passages

        library = params.recording_id is None
        ctx.report_progress(0.0, "finding the passages")
        if params.recording_id is None:
            passages = library_passages(ctx.store, params.question, MAX_PASSAGES)
        else:
            recording = ctx.recording(params.recording_id)
            passages = recording_passages(ctx.store, recording, params.question, MAX_PASSAGES)
        ctx.raise_if_cancelled()
        client, description = ctx.llm() if passages else (None, {})
        ctx.report_progress(0.1, "")
        answer = answer_question(
            client,
            params.question,
            passages,
            library=library,
            on_partial=lambda text: ctx.report_progress(PARTIAL_FRACTION, text),
            should_stop=lambda: ctx.cancelled,
        )
        data = answer.to_dict()
        data.update(
            question=params.question,
            recording_id=params.recording_id,
            llm=description if answer.method == "llm" and client is not None else None,
            passages=len(passages),
        )
        return data


STEP = AskStep()
