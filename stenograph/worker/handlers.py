"""Which handler runs a task: the simulated test handler, or the pipeline step of the task's type."""

from __future__ import annotations

import importlib
from typing import Any

from stenograph.errors import PermanentError
from stenograph.queue.context import Handler
from stenograph.settings import PIPELINE_STEPS
from stenograph.worker.simulate import run_simulated

#: Task type -> "module:function" of its handler, imported in the worker's child process on first use.
PIPELINE_HANDLERS: dict[str, str] = {
    "transcription": "stenograph.steps.tasks:run_transcription",
    "correction": "stenograph.steps.tasks:run_correction",
    "summary": "stenograph.steps.tasks:run_summary",
}

#: Task types the API accepts.
TASK_TYPES: tuple[str, ...] = PIPELINE_STEPS


def resolve_handler(task_type: str, params: dict[str, Any]) -> Handler:
    """The handler for a task.

    Raises:
        PermanentError: the type is unknown or its handler cannot be imported.
    """
    if "simulate" in params:
        return run_simulated
    target = PIPELINE_HANDLERS.get(task_type)
    if target is None:
        raise PermanentError(f"unknown task type {task_type!r}; known: {', '.join(PIPELINE_HANDLERS)}")
    module_name, _, attribute = target.partition(":")
    try:
        handler: Handler = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as exc:
        raise PermanentError(f"the {task_type} step is not available in this installation: {exc}") from exc
    return handler
