"""The correction step: an LLM (or the glossary alone) corrects a transcript into a ``corrected`` version.

Params: ``{"recording_id", "glossary": [...]}``. It requires the transcription, and starts from the newest
``original`` or ``edited`` version (:func:`correction_source`), so a re-run after a person's edit keeps it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field, StrictInt

from stenograph.errors import NotFoundError
from stenograph.queue.context import TaskContext
from stenograph.recordings.store import TranscriptStore, Version
from stenograph.steps.base import StepBase, StepContext, StepParams, run_step

if TYPE_CHECKING:
    from stenograph.steps.submit import PipelineRequest

__all__ = [
    "CORRECTION_SOURCE_KINDS",
    "STEP",
    "CorrectionParams",
    "CorrectionStep",
    "correction_source",
    "run_correction",
]

#: Version kinds a correction starts from: Whisper's text (its transcription or its translation), a person's,
#: or Whisper's with speakers assigned.
CORRECTION_SOURCE_KINDS = ("original", "translation", "edited", "speakers")


class CorrectionParams(StepParams):
    recording_id: StrictInt
    glossary: list[str] = Field(default_factory=list)


def correction_source(store: TranscriptStore, recording_id: int) -> Version:
    """The version a correction starts from: the newest ``original``, ``translation`` or ``edited`` one, so
    that a re-run after a person's edit keeps the edit (and a re-run transcription since then starts from
    Whisper again).

    Raises:
        NotFoundError: the recording has no such version yet.
    """
    chosen = [v for v in store.versions(recording_id) if v.kind in CORRECTION_SOURCE_KINDS]
    if not chosen:
        raise NotFoundError(f"recording {recording_id} has no transcript yet")
    return chosen[-1]


class CorrectionStep(StepBase):
    name: str = "correction"
    depends_on: tuple[str, ...] = ("transcription",)
    after: tuple[str, ...] = ("speakers",)
    params_model: type[BaseModel] = CorrectionParams

    def task_params(self, request: PipelineRequest, recording_id: int | None) -> dict[str, Any]:
        return {"recording_id": recording_id, "glossary": request.glossary}

    def run(self, ctx: StepContext, params: CorrectionParams) -> dict[str, Any]:
        """Correct the recording's newest ``original`` or ``edited`` transcript into a new ``corrected``
        version; its ``source_version`` info names the version it started from.

        Returns:
            ``{"version_id", "method", "llm", "stats"}`` (stats: what the guard accepted and kept).
        """
        from stenograph.steps.correction.correction import correct_segments

        settings, store = ctx.settings, ctx.store
        recording = ctx.recording(params.recording_id)
        original = correction_source(store, recording["id"])
        segments = store.segments(original.id)
        client, description = ctx.llm()
        result = correct_segments(
            client,
            segments,
            glossary=[*store.glossary(), *settings.glossary, *params.glossary],
            language=original.language,
            max_edit_ratio=settings.correction_max_edit_ratio,
            context_tokens=settings.llm_context_tokens,
            on_progress=ctx.progress(),
            should_stop=lambda: ctx.cancelled,
        )
        data = result.to_dict()
        carried = ("duration_s", "model", "language_probability", "warnings")
        info = {
            **{key: original.info[key] for key in carried if key in original.info},
            "llm": description if result.llm_used else None,
            "method": result.method,
            "stats": data.get("stats"),
            "source_version": original.number,
        }
        version = store.create_version(
            recording["id"], "corrected", result.segments, task_id=ctx.task_id, language=original.language, info=info
        )
        return {
            "version_id": version.id,
            "method": result.method,
            "llm": description if result.llm_used else None,
            "stats": data.get("stats"),
        }


STEP = CorrectionStep()


def run_correction(ctx: TaskContext, params: dict[str, Any]) -> dict[str, Any]:
    """The correction step as a task handler (``Handler``)."""
    return run_step(STEP, ctx, params)
