"""The registry of steps: task types and pipeline order come from it, and the worker and the API learn
them there; a step's dependencies and cancel grace are the step's."""

from __future__ import annotations

from pathlib import Path

import pytest

from stenograph.errors import PermanentError
from stenograph.settings import PIPELINE_STEPS, build_settings
from stenograph.steps import registry
from stenograph.steps.base import StepBase, run_step
from stenograph.steps.registry import STEPS, all_steps, get_step, step_names
from stenograph.steps.submit import PipelineRequest, step_params
from stenograph.worker import handlers
from stenograph.worker.simulate import run_simulated


def test_task_types_and_pipeline_order_come_from_the_registry() -> None:
    assert (
        step_names()
        == (
            "download",
            "transcription",
            "diarization",
            "speakers",
            "correction",
            "summary",
            "ask",
            "webhook",
        )
        == tuple(STEPS)
    )
    # an upload's choice
    assert registry.choosable_steps() == ("transcription", "diarization", "speakers", "correction", "summary")
    # Standalone steps (a question, a webhook delivery) are task types the workers and the API know, never
    # part of a recording's pipeline.
    assert PIPELINE_STEPS == registry.pipeline_steps() == ("download", *registry.choosable_steps())
    assert step_names() == registry.TASK_TYPES == handlers.TASK_TYPES
    assert handlers.TASK_TYPES is registry.TASK_TYPES
    from stenograph.service import tasks as service_tasks  # what the API accepts

    assert service_tasks.TASK_TYPES is registry.TASK_TYPES
    assert [step.name for step in all_steps()] == list(registry.TASK_TYPES)


def test_the_worker_resolves_handlers_through_the_registry() -> None:
    assert handlers.resolve_handler("transcription", {"simulate": {}}) is run_simulated
    handler = handlers.resolve_handler("summary", {"recording_id": 1})
    assert handler.func is run_step and handler.args == (get_step("summary"),)  # type: ignore[attr-defined]
    with pytest.raises(PermanentError, match="unknown task type 'nope'"):
        handlers.resolve_handler("nope", {})


def test_the_step_says_its_cancel_grace() -> None:
    settings = build_settings(cancel_grace_seconds=10.0, transcription_cancel_grace_seconds=1.0)
    assert handlers.cancel_grace_s("transcription", settings) == 1.0
    assert handlers.cancel_grace_s("correction", settings) == 10.0
    assert handlers.cancel_grace_s("a-simulated-type", settings) == 10.0


def _readme_row(setting: str) -> str:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    [row] = [line for line in readme.splitlines() if line.startswith(f"| `{setting}`")]
    return row


def test_the_readme_says_every_steps_cancel_grace() -> None:
    """A step whose grace is not the general STENOGRAPH_CANCEL_GRACE_SECONDS is named in the README's settings
    table: on the row of the setting it follows, or with its own limit on the general row."""
    settings = build_settings(cancel_grace_seconds=10.0, transcription_cancel_grace_seconds=1.0)
    general = _readme_row("STENOGRAPH_CANCEL_GRACE_SECONDS")
    transcription = _readme_row("STENOGRAPH_TRANSCRIPTION_CANCEL_GRACE_SECONDS")
    for step in all_steps():
        grace = handlers.cancel_grace_s(step.name, settings)
        if grace == 1.0:
            assert f"`{step.name}`" in transcription, (step.name, transcription)
        elif grace != 10.0:
            assert f"`{step.name}`: at most {grace:g} s" in general, (step.name, grace, general)
    assert handlers.cancel_grace_s("diarization", settings) == 1.0
    longer = build_settings(cancel_grace_seconds=10.0, transcription_cancel_grace_seconds=4.0)
    assert handlers.cancel_grace_s("diarization", longer) == 4.0  # it follows the setting the README names


def test_dependencies_media_and_params_are_the_steps() -> None:
    transcription, diarization, speakers, correction, summary, ask = (
        get_step(name) for name in ("transcription", "diarization", "speakers", "correction", "summary", "ask")
    )
    assert (transcription.depends_on, transcription.after, transcription.needs_media) == ((), (), True)
    assert getattr(transcription, "depends_on_if_chosen", ()) == ("download",)  # an import's download
    assert (diarization.depends_on, diarization.after, diarization.needs_media) == ((), (), True)
    assert getattr(diarization, "depends_on_if_chosen", ()) == ("download",)
    assert (speakers.depends_on, speakers.needs_media) == (("transcription", "diarization"), False)
    assert (correction.depends_on, correction.after, correction.needs_media) == (
        ("transcription",),
        ("speakers",),
        False,
    )
    assert (summary.depends_on, summary.after) == (("transcription",), ("speakers", "correction"))
    assert [step.name for step in all_steps() if step.interactive] == ["ask"]
    assert (ask.depends_on, ask.after, ask.needs_media) == ((), (), False)
    request = PipelineRequest(steps=["transcription", "correction", "summary"], glossary=["Kubernetes"])
    assert step_params(request, "correction", 7) == {"recording_id": 7, "glossary": ["Kubernetes"]}
    assert step_params(request, "summary", 7) == {"recording_id": 7, "template": None}
    assert step_params(request, "transcription", 7)["options"]["hotwords"] == ["Kubernetes"]


def test_a_registered_step_must_carry_its_registered_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(registry.STEPS, "renamed", "stenograph.steps.summary.step:STEP")
    with pytest.raises(ImportError, match="calls itself 'summary'"):
        get_step("renamed")


def test_interactive_steps_are_enqueued_first(queue, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """An interactive step (none is registered yet) gets INTERACTIVE_PRIORITY and may belong to no
    recording; a step may require several tasks."""
    from stenograph.steps.base import INTERACTIVE_PRIORITY
    from stenograph.steps.submit import enqueue_step

    class Question(StepBase):
        name = "summary"  # stands in for a future "question" step: the queue knows this type
        interactive = True

    monkeypatch.setitem(registry._loaded, "summary", Question())
    first = queue.enqueue("transcription", {})
    second = queue.enqueue("correction", {})
    task = enqueue_step(queue, "summary", {"question": "who?"}, depends_on=[first.id, second.id])
    assert task.priority == INTERACTIVE_PRIORITY and task.recording_id is None and task.affinity is None
