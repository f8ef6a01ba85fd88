"""``/tasks``: list, inspect, cancel, retry and delete tasks; create simulated test tasks."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Body, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from stenograph.api.schemas import ERROR_RESPONSES, TaskDetail, TaskList, TaskPublic
from stenograph.api.state import IdPath, IdQuery, OffsetQuery, ServiceDep
from stenograph.queue import TaskStatus

router = APIRouter(prefix="/tasks", tags=["tasks"], responses=ERROR_RESPONSES)


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


@router.post("/test/{task_type}", status_code=201, operation_id="create_test_task", response_model=TaskPublic)
def create_test_task(
    task_type: str, service: ServiceDep, body: Annotated[TestTaskBody | None, Body()] = None
) -> TaskPublic:
    """Create a test task of a pipeline type whose handler simulates work with progress (cancellable).

    The body takes ``seconds`` (0 to 3600), ``fail`` and ``priority`` only; any other field is a 422.
    """
    spec = body or TestTaskBody()
    view = service.create_test_task(task_type, seconds=spec.seconds, fail=spec.fail, priority=spec.priority)
    return TaskPublic.from_view(view)


@router.get("", operation_id="list_tasks", response_model=TaskList)
def list_tasks(
    service: ServiceDep,
    status: TaskStatus | None = None,
    type: str | None = None,
    recording_id: IdQuery | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: OffsetQuery = 0,
) -> TaskList:
    """Tasks, newest first: ``{"data": [...], "count": N}``."""
    views, count = service.list_tasks(status=status, type=type, recording_id=recording_id, limit=limit, offset=offset)
    return TaskList(data=[TaskPublic.from_view(v) for v in views], count=count)


@router.get("/{task_id}", operation_id="get_task", response_model=TaskDetail)
def get_task(task_id: IdPath, service: ServiceDep) -> TaskDetail:
    """One task with ``events``, its history."""
    return TaskDetail.from_detail(service.get_task(task_id))


@router.post(
    "/{task_id}/cancel",
    operation_id="cancel_task",
    response_model=TaskPublic,
    responses={202: {"model": TaskPublic, "description": "Cancel requested from a running task."}},
)
def cancel_task(task_id: IdPath, service: ServiceDep, response: Response) -> TaskPublic:
    """200: a pending task is now cancelled; 202: cancel requested from a running task; 409: finished."""
    view, outcome = service.cancel_task(task_id)
    if outcome == "requested":
        response.status_code = 202
    return TaskPublic.from_view(view)


@router.post("/{task_id}/retry", operation_id="retry_task", response_model=TaskPublic)
def retry_task(task_id: IdPath, service: ServiceDep) -> TaskPublic:
    """A failed or cancelled task goes back to pending with a fresh attempt budget."""
    return TaskPublic.from_view(service.retry_task(task_id))


@router.delete("/{task_id}", status_code=204, operation_id="delete_task", response_class=Response)
def delete_task(task_id: IdPath, service: ServiceDep) -> Response:
    """Delete a task that is not running (409 while it runs)."""
    service.delete_task(task_id)
    return Response(status_code=204)
