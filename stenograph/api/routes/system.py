"""``/health``, ``/workers``, ``/metrics`` (Prometheus) and ``/events`` (server-sent events)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request, Response
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector
from sse_starlette import EventSourceResponse

from stenograph import clock
from stenograph.api.schemas import Health, TaskPublic, WorkerList, WorkerPublic
from stenograph.api.state import ServiceDep
from stenograph.queue import TaskStatus
from stenograph.service import Stenograph

router = APIRouter(tags=["system"])

#: Seconds between two looks at the task table by the event stream.
EVENTS_POLL_SECONDS = 0.5
#: Upper bounds (seconds) of the task-duration histogram's buckets.
DURATION_BUCKETS = (0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600, 14400)


@router.get("/health", operation_id="health", response_model=Health)
def health(service: ServiceDep) -> Health:
    """Liveness: the database answers. Open without a token."""
    return Health.from_view(service.health())


@router.get("/workers", operation_id="list_workers", response_model=WorkerList)
def list_workers(service: ServiceDep) -> WorkerList:
    """Workers seen in the last hour; ``live`` when their heartbeat is fresh."""
    workers = service.workers()
    return WorkerList(data=[WorkerPublic.from_record(w) for w in workers], count=len(workers))


class QueueCollector(Collector):
    """Reads the task table at each scrape."""

    def __init__(self, service: Stenograph) -> None:
        self.service = service

    def collect(self) -> Iterable[Any]:
        tasks = GaugeMetricFamily("stenograph_tasks", "Tasks by type and status", labels=["type", "status"])
        durations = HistogramMetricFamily(
            "stenograph_task_duration_seconds", "Duration of finished attempts, seconds", labels=["type"]
        )
        live = GaugeMetricFamily("stenograph_workers_live", "Workers with a fresh heartbeat")
        data = self.service.metrics()
        for task_type in sorted({t for t, _ in data.counts}):
            for status in TaskStatus:
                tasks.add_metric([task_type, status.value], data.counts.get((task_type, status.value), 0))
            values = data.durations.get(task_type, [])
            buckets = [(str(b), sum(1 for v in values if v <= b)) for b in DURATION_BUCKETS]
            buckets.append(("+Inf", len(values)))
            durations.add_metric([task_type], buckets, sum(values))
        live.add_metric([], float(data.live_workers))
        yield tasks
        yield durations
        yield live


@router.get(
    "/metrics",
    operation_id="metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}, "description": "Prometheus text."}},
)
def metrics(service: ServiceDep) -> Response:
    """Prometheus text format: ``stenograph_tasks``, ``stenograph_task_duration_seconds``,
    ``stenograph_workers_live``."""
    registry = CollectorRegistry()
    registry.register(QueueCollector(service))
    return Response(generate_latest(registry), media_type="text/plain; version=0.0.4; charset=utf-8")


def _changes(service: Stenograph, since: datetime) -> list[tuple[int, datetime, str]]:
    """Tasks changed since ``since``: id, update time and the task's JSON."""
    return [
        (view.record.id, view.record.updated_at, TaskPublic.from_view(view).model_dump_json())
        for view in service.changed_since(since)
    ]


@router.get(
    "/events",
    operation_id="events",
    response_class=EventSourceResponse,
    responses={
        200: {
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
            "description": "``event: ready`` once, then ``event: task`` with a task's JSON (TaskPublic) per change.",
        }
    },
)
async def events(request: Request, service: ServiceDep) -> EventSourceResponse:
    """Server-sent events: one ``event: task`` with the task's JSON per change."""

    async def stream() -> AsyncIterator[dict[str, str]]:
        since = clock.now() - timedelta(seconds=1)
        sent: dict[int, Any] = {}
        yield {"event": "ready", "data": "{}"}
        while not await request.is_disconnected():
            changes = await asyncio.to_thread(_changes, service, since - timedelta(seconds=2))
            fresh = [c for c in changes if sent.get(c[0]) != c[1]]
            for task_id, updated_at, data in fresh:
                yield {"event": "task", "data": data}
                sent[task_id] = updated_at
            if fresh:
                since = max(since, *(updated_at for _, updated_at, _ in fresh))
            await asyncio.sleep(EVENTS_POLL_SECONDS)

    return EventSourceResponse(stream(), ping=15)
