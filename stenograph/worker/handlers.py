"""Which handler runs a task: the simulated test handler, or the registered step of the task's type.

The worker names no step: task types and their handlers come from the registry
(:mod:`stenograph.steps.registry`); a step's module is imported in the slot process on first use.
"""

from __future__ import annotations

import functools
from typing import Any

from stenograph.errors import PermanentError
from stenograph.queue.context import Handler
from stenograph.settings import Settings
from stenograph.steps.base import finish_hooks
from stenograph.steps.registry import TASK_TYPES, UnknownStep, get_step
from stenograph.worker.simulate import run_simulated

__all__ = ["TASK_TYPES", "cancel_grace_s", "finish_hooks", "interactive_types", "resolve_handler"]


def resolve_handler(task_type: str, params: dict[str, Any]) -> Handler:
    """The handler for a task.

    Raises:
        PermanentError: the type is unknown or its step cannot be imported.
    """
    if "simulate" in params:
        return run_simulated
    try:
        step = get_step(task_type)
    except UnknownStep as exc:
        raise PermanentError(exc.args[0]) from exc
    except (ImportError, AttributeError) as exc:
        raise PermanentError(f"the {task_type} step is not available in this installation: {exc}") from exc
    from stenograph.steps.base import run_step

    return functools.partial(run_step, step)


def cancel_grace_s(task_type: str, settings: Settings) -> float:
    """Seconds a task of ``task_type`` gets to honour a cancel before its slot process is killed: the step
    says (an unknown type, such as a simulated one, gets ``cancel_grace_seconds``)."""
    try:
        step = get_step(task_type)
    except (UnknownStep, ImportError, AttributeError):
        return settings.cancel_grace_seconds
    return step.cancel_grace_s(settings)


def interactive_types(settings: Settings) -> list[str]:
    """The task types of interactive steps this worker takes (a person waits for them)."""
    from stenograph.steps.registry import all_steps

    return [step.name for step in all_steps() if step.interactive and step.name in settings.task_types]
