"""``/tasks``: list, inspect, cancel, retry and delete tasks; create simulated test tasks."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Query, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from stenograph.api.errors import APIError
from stenograph.api.state import AppState, IdPath, IdQuery, OffsetQuery, StateDep
from stenograph.db.models import Recording
from stenograph.queue import TaskRecord, TaskStatus
from stenograph.steps.registry import TASK_TYPES

router = APIRouter(prefix="/tasks", tags=["tasks"])


class TestTaskBody(BaseModel):
    """A simulated task from the API: how long it works and whether it fails, nothing more. The
    simulation's other knobs (crash, CPU-bound loops, witness files on the worker's disk) are for tests,
    which enqueue through :class:`~stenograph.queue.TaskQueue` directly; an unknown field is a 422."""

    model_config = ConfigDict(extra="forbid")

    seconds: float = Field(default=3.0, ge=0, le=3600, description="Simulated work, in seconds (at most an hour).")
    fail: bool | Literal["retryable", "permanent"] = Field(
        default=False,
        description="true or 'retryable': fails every attempt (retried); 'permanent': no retry.",
    )
    priority: int = Field(default=0, ge=-1000, le=1000, description="Higher runs first.")


def tasks_json(state: AppState, records: list[TaskRecord]) -> list[dict[str, Any]]:
    """Tasks as JSON, each with its ``recording_name`` (None when it belongs to no recording)."""
    ids = {r.recording_id for r in records if r.recording_id is not None}
    names: dict[int, str] = {}
    if ids:
        with state.engine.connect() as conn:
            names = dict(conn.execute(select(Recording.id, Recording.name).where(Recording.id.in_(ids))).all())
    return [{**r.to_api(), "recording_name": names.get(r.recording_id or -1)} for r in records]


def check_type(task_type: str) -> None:
    if task_type not in TASK_TYPES:
        raise APIError(422, "unknown_task_type", f"unknown task type {task_type!r}; allowed: {', '.join(TASK_TYPES)}")


@router.post("/test/{task_type}", status_code=201, operation_id="create_test_task")
def create_test_task(
    task_type: str, state: StateDep, body: Annotated[TestTaskBody | None, Body()] = None
) -> dict[str, Any]:
    """Create a test task of a pipeline type whose handler simulates work with progress (cancellable).

    The body takes ``seconds`` (0 to 3600), ``fail`` and ``priority`` only; any other field is a 422.
    """
    check_type(task_type)
    spec = body or TestTaskBody()
    simulate = spec.model_dump(exclude={"priority"}, exclude_none=True)
    record = state.queue.enqueue(task_type, {"simulate": simulate}, priority=spec.priority)
    return tasks_json(state, [record])[0]


@router.get("", operation_id="list_tasks")
def list_tasks(
    state: StateDep,
    status: TaskStatus | None = None,
    type: str | None = None,
    recording_id: IdQuery | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: OffsetQuery = 0,
) -> dict[str, Any]:
    """Tasks, newest first: ``{"data": [...], "count": N}``."""
    if type is not None:
        check_type(type)
    records, count = state.queue.list_tasks(
        status=status, type=type, recording_id=recording_id, limit=limit, offset=offset
    )
    return {"data": tasks_json(state, records), "count": count}


@router.get("/{task_id}", operation_id="get_task")
def get_task(task_id: IdPath, state: StateDep) -> dict[str, Any]:
    """One task with ``events``, its history."""
    record = state.queue.get(task_id)
    data = tasks_json(state, [record])[0]
    data["events"] = [event.to_api() for event in state.queue.events(task_id)]
    return data


@router.post("/{task_id}/cancel", operation_id="cancel_task")
def cancel_task(task_id: IdPath, state: StateDep, response: Response) -> dict[str, Any]:
    """200: a pending task is now cancelled; 202: cancel requested from a running task; 409: finished."""
    record, outcome = state.queue.cancel(task_id)
    if outcome == "requested":
        response.status_code = 202
        state.queue.notify()  # the worker checks cancel flags when woken
    return tasks_json(state, [record])[0]


@router.post("/{task_id}/retry", operation_id="retry_task")
def retry_task(task_id: IdPath, state: StateDep) -> dict[str, Any]:
    """A failed or cancelled task goes back to pending with a fresh attempt budget."""
    return tasks_json(state, [state.queue.retry(task_id)])[0]


@router.delete("/{task_id}", status_code=204, operation_id="delete_task")
def delete_task(task_id: IdPath, state: StateDep) -> Response:
    """Delete a task that is not running (409 while it runs)."""
    state.queue.delete(task_id)
    return Response(status_code=204)
