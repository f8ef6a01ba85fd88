"""Use cases of the system: health, metrics data, the LLM in use, the models offered."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, text

from stenograph.db.models import Task
from stenograph.service.base import ServiceBase
from stenograph.service.views import HealthView, MetricsView


class SystemUseCases(ServiceBase):
    def health(self) -> HealthView:
        """The database answers (raises whatever the driver raises when it does not)."""
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return HealthView(status="ok", database=self.engine.dialect.name)

    def metrics(self) -> MetricsView:
        """Tasks by type and status, durations of completed tasks by type, and live workers."""
        with self.engine.connect() as conn:
            counts = conn.execute(select(Task.type, Task.status, func.count()).group_by(Task.type, Task.status)).all()
            rows = conn.execute(
                select(Task.type, Task.duration_s).where(Task.status == "completed", Task.duration_s.is_not(None))
            ).all()
        durations: dict[str, list[float]] = {str(t): [] for t, _, _ in counts}
        for task_type, duration in rows:
            if duration is not None:
                durations.setdefault(str(task_type), []).append(float(duration))
        live = sum(1 for worker in self.queue.workers() if worker.live)
        return MetricsView(
            counts={(str(t), str(s)): int(n) for t, s, n in counts}, durations=durations, live_workers=live
        )

    def llm_settings(self) -> dict[str, Any]:
        """Which LLM the correction and summary steps use, and whether transcript text leaves this machine:
        ``kind, model, endpoint, local, warning, reason`` (and ``error`` when misconfigured)."""
        from stenograph.llm.select import describe

        return describe(self.settings)

    def transcription_models(self) -> list[str]:
        """The model names this server transcribes with, ``whisper-1`` (the configured one) first."""
        from stenograph.steps.submit import OFFLINE_MODELS

        return ["whisper-1", *dict.fromkeys([self.settings.whisper_model, *OFFLINE_MODELS])]
