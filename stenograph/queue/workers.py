"""The workers table: a row per worker process start, with its heartbeat."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import Engine, insert, select, update

from stenograph import clock
from stenograph.db.models import TASK_IS_RUNNING, tasks_table, workers_table
from stenograph.queue.records import WorkerRecord
from stenograph.settings import Settings

T = tasks_table
W = workers_table


class WorkerRegistry:
    """Worker registration and liveness, part of :class:`~stenograph.queue.manager.TaskQueue`."""

    engine: Engine
    settings: Settings

    def register_worker(
        self, worker_id: str, hostname: str, pid: int, concurrency: int, task_types: Sequence[str] | None = None
    ) -> None:
        """Record a worker's start; ``task_types`` None means it takes every type."""
        now = clock.now()
        with self.engine.begin() as conn:
            conn.execute(
                insert(W).values(
                    id=worker_id,
                    hostname=hostname,
                    pid=pid,
                    concurrency=concurrency,
                    task_types=None if task_types is None else list(task_types),
                    started_at=now,
                    heartbeat_at=now,
                )
            )

    def stop_worker(self, worker_id: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(W).where(W.c.id == worker_id).values(stopped_at=clock.now()))

    def workers(self, *, include_stopped: bool = False) -> list[WorkerRecord]:
        """Workers seen within the last hour (live first); ``live``: heartbeat fresh and not stopped."""
        now = clock.now()
        live_after = now - timedelta(seconds=self.settings.live_seconds)
        with self.engine.connect() as conn:
            where = [W.c.heartbeat_at >= now - timedelta(hours=1)]
            if not include_stopped:
                where.append(W.c.stopped_at.is_(None))
            rows = conn.execute(select(W).where(*where).order_by(W.c.started_at.desc())).mappings().all()
            running: dict[str, list[int]] = {}
            for tid, wid in conn.execute(select(T.c.id, T.c.worker_id).where(TASK_IS_RUNNING)).all():
                running.setdefault(wid, []).append(tid)
        return [
            WorkerRecord(
                id=r["id"],
                hostname=r["hostname"],
                pid=r["pid"],
                concurrency=r["concurrency"],
                task_types=None if r["task_types"] is None else tuple(r["task_types"]),
                started_at=r["started_at"],
                heartbeat_at=r["heartbeat_at"],
                stopped_at=r["stopped_at"],
                live=r["stopped_at"] is None and r["heartbeat_at"] >= live_after,
                running_task_ids=tuple(sorted(running.get(r["id"], []))),
            )
            for r in rows
        ]
