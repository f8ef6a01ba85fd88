"""``/health``, ``/workers``, ``/metrics`` (Prometheus) and ``/events`` (server-sent events)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterable
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request, Response
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select, text
from sse_starlette import EventSourceResponse

from stenograph import clock
from stenograph.api.routes.tasks import tasks_json
from stenograph.api.state import AppState, StateDep
from stenograph.db.models import Task
from stenograph.queue import TaskStatus

router = APIRouter(tags=["system"])

#: Seconds between two looks at the task table by the event stream.
EVENTS_POLL_SECONDS = 0.5
#: Upper bounds (seconds) of the task-duration histogram's buckets.
DURATION_BUCKETS = (0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600, 14400)


@router.get("/health", operation_id="health")
def health(state: StateDep) -> dict[str, Any]:
    """Liveness: the database answers. Open without a token."""
    with state.engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    return {"status": "ok", "database": state.engine.dialect.name}


@router.get("/workers", operation_id="list_workers")
def list_workers(state: StateDep) -> dict[str, Any]:
    """Workers seen in the last hour; ``live`` when their heartbeat is fresh."""
    workers = state.queue.workers()
    return {"data": [w.to_api() for w in workers], "count": len(workers)}


class QueueCollector(Collector):
    """Reads the task table at each scrape."""

    def __init__(self, state: AppState) -> None:
        self.state = state

    def collect(self) -> Iterable[Any]:
        tasks = GaugeMetricFamily("stenograph_tasks", "Tasks by type and status", labels=["type", "status"])
        durations = HistogramMetricFamily(
            "stenograph_task_duration_seconds", "Duration of finished attempts, seconds", labels=["type"]
        )
        live = GaugeMetricFamily("stenograph_workers_live", "Workers with a fresh heartbeat")
        with self.state.engine.connect() as conn:
            counts = conn.execute(select(Task.type, Task.status, func.count()).group_by(Task.type, Task.status)).all()
            seen = {(t, s): n for t, s, n in counts}
            types = sorted({t for t, _ in seen})
            for task_type in types:
                for status in TaskStatus:
                    tasks.add_metric([task_type, status.value], seen.get((task_type, status.value), 0))
                rows = conn.execute(
                    select(Task.duration_s).where(
                        Task.type == task_type, Task.status == "completed", Task.duration_s.is_not(None)
                    )
                ).scalars()
                values = [float(v) for v in rows if v is not None]
                buckets = [(str(b), sum(1 for v in values if v <= b)) for b in DURATION_BUCKETS]
                buckets.append(("+Inf", len(values)))
                durations.add_metric([task_type], buckets, sum(values))
        live.add_metric([], float(sum(1 for w in self.state.queue.workers() if w.live)))
        yield tasks
        yield durations
        yield live


@router.get("/metrics", operation_id="metrics")
def metrics(state: StateDep) -> Response:
    """Prometheus text format: ``stenograph_tasks``, ``stenograph_task_duration_seconds``,
    ``stenograph_workers_live``."""
    registry = CollectorRegistry()
    registry.register(QueueCollector(state))
    return Response(generate_latest(registry), media_type="text/plain; version=0.0.4; charset=utf-8")


@router.get("/events", operation_id="events")
async def events(request: Request, state: StateDep) -> EventSourceResponse:
    """Server-sent events: one ``event: task`` with the task's JSON per change."""

    async def stream() -> AsyncIterator[dict[str, str]]:
        since = clock.now() - timedelta(seconds=1)
        sent: dict[int, Any] = {}
        yield {"event": "ready", "data": "{}"}
        while not await request.is_disconnected():
            records = await asyncio.to_thread(state.queue.changed_since, since - timedelta(seconds=2))
            fresh = [r for r in records if sent.get(r.id) != r.updated_at]
            if fresh:
                for data in await asyncio.to_thread(tasks_json, state, fresh):
                    yield {"event": "task", "data": json.dumps(data)}
                for r in fresh:
                    sent[r.id] = r.updated_at
                since = max(since, *(r.updated_at for r in fresh))
            await asyncio.sleep(EVENTS_POLL_SECONDS)

    return EventSourceResponse(stream(), ping=15)
