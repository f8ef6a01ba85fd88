"""The summary step: Markdown citing timestamps, by the LLM or, without one, by the extractive method.

Params: ``{"recording_id", "template": name or None}``. It requires the transcription and runs after the
correction whatever its outcome (a failed correction leaves a summary of the original transcript).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, StrictInt

from stenograph.queue.context import TaskContext
from stenograph.steps.base import StepBase, StepContext, StepParams, run_step

if TYPE_CHECKING:
    from stenograph.steps.submit import PipelineRequest

__all__ = ["STEP", "SummaryParams", "SummaryStep", "run_summary"]


class SummaryParams(StepParams):
    recording_id: StrictInt
    template: str | None = None


class SummaryStep(StepBase):
    name: str = "summary"
    depends_on: tuple[str, ...] = ("transcription",)
    after: tuple[str, ...] = ("speakers", "correction")
    params_model: type[BaseModel] = SummaryParams

    def task_params(self, request: PipelineRequest, recording_id: int | None) -> dict[str, Any]:
        return {"recording_id": recording_id, "template": request.template}

    def run(self, ctx: StepContext, params: SummaryParams) -> dict[str, Any]:
        """Summarise the newest transcript version.

        Returns:
            ``{"summary_id", "method", "llm", "template", "source_version": {"number", "kind"}, "fallback"}``:
            ``fallback`` says why an extractive summary was written when the LLM failed (else None).
        """
        from stenograph.steps.summary.summary import render_markdown, summarize

        settings, store = ctx.settings, ctx.store
        recording = ctx.recording(params.recording_id)
        version = store.pick_version(recording["id"], "latest")
        segments = store.segments(version.id)
        client, description = ctx.llm()
        template = params.template or settings.summary_template
        result = summarize(
            client,
            segments,
            template=template,
            language=version.language,
            data_dir=settings.data_dir,
            context_tokens=settings.llm_context_tokens,
            on_progress=ctx.progress(),
            should_stop=lambda: ctx.cancelled,
        )
        data = result.to_dict()
        data["llm"] = description if result.method == "llm" else None
        # Which transcript it summarises: the corrected one, or the original when the correction failed.
        data["source_version"] = {"number": version.number, "kind": version.kind}
        summary_id = store.save_summary(
            recording["id"], version_id=version.id, task_id=ctx.task_id, markdown=render_markdown(result), data=data
        )
        return {
            "summary_id": summary_id,
            "method": result.method,
            "llm": data["llm"],
            "template": template,
            "source_version": data["source_version"],
            "fallback": result.fallback,
        }


STEP = SummaryStep()


def run_summary(ctx: TaskContext, params: dict[str, Any]) -> dict[str, Any]:
    """The summary step as a task handler (``Handler``)."""
    return run_step(STEP, ctx, params)
