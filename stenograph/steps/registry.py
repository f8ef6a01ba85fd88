"""The registry of steps: one line per step, in pipeline order. Adding a step is a folder and a line here.

Each line names the step and where its :class:`~stenograph.steps.base.Step` object lives
(``"module:attribute"``). The names are known without importing any step, so that
:mod:`stenograph.settings` (which validates ``STENOGRAPH_PIPELINE_STEPS`` and ``STENOGRAPH_TASK_TYPES``)
can read them with no import cycle and no heavy import; a step's module is imported the first time
:func:`get_step` is asked for it, and its ``name`` must be the one written here.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from stenograph.steps.base import Step

__all__ = ["ON_DEMAND_STEPS", "STEPS", "TASK_TYPES", "UnknownStep", "all_steps", "get_step", "step_names"]

#: Step name -> "module:attribute" of its Step, in pipeline order (an upload's steps run in this order).
STEPS: dict[str, str] = {
    "transcription": "stenograph.steps.transcription.step:STEP",
    "correction": "stenograph.steps.correction.step:STEP",
    "summary": "stenograph.steps.summary.step:STEP",
}

#: Steps run on demand, never part of an upload's pipeline (a question to the LLM): step name -> its Step.
ON_DEMAND_STEPS: dict[str, str] = {
    "ask": "stenograph.steps.ask.step:STEP",
}

#: The task types the API and the workers know: the pipeline steps in pipeline order, then the on-demand ones.
TASK_TYPES: tuple[str, ...] = (*STEPS, *ON_DEMAND_STEPS)

_loaded: dict[str, Step] = {}


class UnknownStep(KeyError):
    """No step of that name is registered."""


def step_names() -> tuple[str, ...]:
    """The pipeline steps' names, in pipeline order (what an upload may run; see :data:`TASK_TYPES` for
    every task type)."""
    return tuple(STEPS)


def get_step(name: str) -> Step:
    """The registered step ``name``, its module imported on first use.

    Raises:
        UnknownStep: no step has that name.
        ImportError: its module cannot be imported in this installation.
    """
    if name in _loaded:
        return _loaded[name]
    target = STEPS.get(name) or ON_DEMAND_STEPS.get(name)
    if target is None:
        raise UnknownStep(f"unknown task type {name!r}; known: {', '.join(TASK_TYPES)}")
    module_name, _, attribute = target.partition(":")
    step: Step = getattr(importlib.import_module(module_name), attribute)
    if step.name != name:
        raise ImportError(f"the registry names {target} {name!r}, but that step calls itself {step.name!r}")
    _loaded[name] = step
    return step


def all_steps() -> list[Step]:
    """Every registered step, pipeline steps first in pipeline order, then the on-demand ones (imports them
    all)."""
    return [get_step(name) for name in TASK_TYPES]
