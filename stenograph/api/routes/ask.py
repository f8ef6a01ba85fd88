"""``POST /recordings/{id}/ask``, ``POST /ask``: a question as an ``ask`` task; ``GET /ask/{task_id}/events``:
its answer as server-sent events (closing the stream before the answer cancels the question);
``GET /ask/{task_id}``: where it stands, for a client that polls.

The LLM runs in a worker, never in the API process: a route here only enqueues the task and reads it back,
so a question never holds up the API's other requests. See ``docs/ask.md``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from sse_starlette import EventSourceResponse

from stenograph.api.schemas import ERROR_RESPONSES, TaskPublic
from stenograph.api.state import IdPath, ServiceDep
from stenograph.queue import TaskRecord, TaskStatus
from stenograph.service import Stenograph

router = APIRouter(tags=["ask"], responses=ERROR_RESPONSES)

#: Seconds between two looks at a question's task by its event stream.
ASK_POLL_SECONDS = 0.2


class AskBody(BaseModel):
    question: str = Field(min_length=1, max_length=1000, description="The question, in words.")


class AskTask(BaseModel):
    """A question's task, and where its answer streams."""

    task: TaskPublic
    events: str = Field(description="The path of its server-sent events (GET).")


class Citation(BaseModel):
    recording_id: int
    recording_name: str
    index: int = Field(description="The cited segment's index in the recording's newest transcript.")
    start: float = Field(description="Seconds.")
    end: float = Field(description="Seconds.")
    timestamp: str = Field(description="mm:ss of start, as cited in the answer.")
    text: str


class AskAnswer(BaseModel):
    """The data of the stream's ``answer`` event (the ask task's result)."""

    question: str
    recording_id: int | None = Field(description="The recording asked; null: the whole library.")
    answer: str = Field(description="Citing [mm:ss] (one recording) or [#recording mm:ss] (the library).")
    citations: list[Citation]
    found: bool = Field(description="false: 'The recording does not say.'")
    method: str = Field(description="llm, or passages when no LLM is configured (the best passages).")
    reason: str | None = Field(description="Why a model's answer was replaced by 'does not say', if it was.")
    llm: dict[str, Any] | None
    passages: int = Field(description="How many passages were given to the model.")


class AskState(BaseModel):
    """Where a question stands (for a client that polls instead of following the event stream)."""

    task: TaskPublic
    partial: str = Field(description="The answer so far while the model writes it (empty before and after).")
    answer: AskAnswer | None = Field(description="The answer, once the task has completed.")


def _ask_task(service: Stenograph, record: TaskRecord) -> AskTask:
    return AskTask(task=TaskPublic.from_view(service.task_views([record])[0]), events=f"/ask/{record.id}/events")


@router.post("/recordings/{recording_id}/ask", status_code=201, operation_id="ask_recording", response_model=AskTask)
def ask_recording(recording_id: IdPath, body: AskBody, service: ServiceDep) -> AskTask:
    """Ask a question about one recording; the answer streams from ``events``."""
    return _ask_task(service, service.ask(body.question, recording_id))


@router.post("/ask", status_code=201, operation_id="ask_library", response_model=AskTask)
def ask_library(body: AskBody, service: ServiceDep) -> AskTask:
    """Ask a question of the whole library; the answer cites recording and timestamp."""
    return _ask_task(service, service.ask(body.question, None))


@router.get("/ask/{task_id}", operation_id="get_question", response_model=AskState)
def get_question(task_id: IdPath, service: ServiceDep) -> AskState:
    """A question's task, its answer so far and its answer; 404 when the task is not a question."""
    progress = service.ask_progress(task_id)
    completed = progress.task.status == TaskStatus.COMPLETED
    return AskState(
        task=TaskPublic.from_view(service.task_views([progress.task])[0]),
        partial=progress.partial,
        answer=AskAnswer.model_validate(progress.task.result or {}) if completed else None,
    )


def _final_event(task: TaskRecord) -> dict[str, str]:
    if task.status == TaskStatus.COMPLETED:
        return {"event": "answer", "data": AskAnswer.model_validate(task.result or {}).model_dump_json()}
    error = {"status": str(task.status), "message": task.error_message}
    return {"event": "failed" if task.status == TaskStatus.FAILED else "cancelled", "data": json.dumps(error)}


@router.get(
    "/ask/{task_id}/events",
    operation_id="ask_events",
    response_class=EventSourceResponse,
    responses={
        200: {
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
            "description": '``event: partial`` ``{"text"}`` with the answer so far (when the model streams), '
            "then one of ``event: answer`` (AskAnswer), ``event: failed`` or ``event: cancelled`` "
            '``{"status", "message"}``. Closing the stream before then cancels the question.',
        }
    },
)
async def ask_events(task_id: IdPath, request: Request, service: ServiceDep) -> EventSourceResponse:
    """The answer of a question as server-sent events; 404 when the task is not a question."""
    await asyncio.to_thread(service.ask_progress, task_id)  # NotFoundError before the stream starts

    async def stream() -> AsyncIterator[dict[str, str]]:
        finished = False
        sent = ""
        try:
            while not await request.is_disconnected():
                progress = await asyncio.to_thread(service.ask_progress, task_id)
                if progress.partial and progress.partial != sent:
                    sent = progress.partial
                    yield {"event": "partial", "data": json.dumps({"text": sent})}
                if progress.done:
                    finished = True
                    yield _final_event(progress.task)
                    return
                await asyncio.sleep(ASK_POLL_SECONDS)
        finally:
            if not finished:  # nobody waits for the answer any more
                service.abandon_question(task_id)

    return EventSourceResponse(stream(), ping=15)
