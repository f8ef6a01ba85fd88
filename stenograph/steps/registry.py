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

__all__ = [
    "ON_REQUEST",
    "STANDALONE",
    "STEPS",
    "TASK_TYPES",
    "UnknownStep",
    "all_steps",
    "choosable_steps",
    "default_steps",
    "get_step",
    "pipeline_steps",
    "step_names",
]

#: Step name -> "module:attribute" of its Step, in pipeline order (an upload's steps run in this order).
STEPS: dict[str, str] = {
    "download": "stenograph.steps.download.step:STEP",
    "transcription": "stenograph.steps.transcription.step:STEP",
    "diarization": "stenograph.steps.diarization.step:STEP",
    "speakers": "stenograph.steps.speakers.step:STEP",
    "correction": "stenograph.steps.correction.step:STEP",
    "summary": "stenograph.steps.summary.step:STEP",
    "ask": "stenograph.steps.ask.step:STEP",
    "webhook": "stenograph.steps.webhook.step:STEP",
}

#: Steps no upload chooses, outside any recording's pipeline: their tasks are enqueued by the service
#: (webhook deliveries, with no recording; questions to the LLM, interactive).
STANDALONE: frozenset[str] = frozenset({"webhook", "ask"})
#: Steps an upload runs only when its submission brings them in, never by default (a URL's download).
ON_REQUEST: frozenset[str] = frozenset({"download"})

#: The task types the API and the workers know: every registered step, in registry order.
TASK_TYPES: tuple[str, ...] = tuple(STEPS)

_loaded: dict[str, Step] = {}


class UnknownStep(KeyError):
    """No step of that name is registered."""


def step_names() -> tuple[str, ...]:
    """Every registered step's name (the task types), in registry order."""
    return tuple(STEPS)


def pipeline_steps() -> tuple[str, ...]:
    """The steps of a recording's pipeline, in pipeline order: every step but the standalone ones."""
    return tuple(name for name in STEPS if name not in STANDALONE)


def choosable_steps() -> tuple[str, ...]:
    """The steps an upload's ``steps`` may name (``STENOGRAPH_PIPELINE_STEPS`` too), in pipeline order."""
    return tuple(name for name in STEPS if name not in STANDALONE | ON_REQUEST)


def default_steps() -> tuple[str, ...]:
    """The default of ``STENOGRAPH_PIPELINE_STEPS``: every choosable step."""
    return choosable_steps()


def get_step(name: str) -> Step:
    """The registered step ``name``, its module imported on first use.

    Raises:
        UnknownStep: no step has that name.
        ImportError: its module cannot be imported in this installation.
    """
    if name in _loaded:
        return _loaded[name]
    target = STEPS.get(name)
    if target is None:
        raise UnknownStep(f"unknown task type {name!r}; known: {', '.join(TASK_TYPES)}")
    module_name, _, attribute = target.partition(":")
    step: Step = getattr(importlib.import_module(module_name), attribute)
    if step.name != name:
        raise ImportError(f"the registry names {target} {name!r}, but that step calls itself {step.name!r}")
    _loaded[name] = step
    return step


def all_steps() -> list[Step]:
    """Every registered step, in registry order (imports them all)."""
    return [get_step(name) for name in STEPS]
