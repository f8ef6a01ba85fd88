"""The worker's slots as a set: how many it starts, which task types each claims, and their deadlines.

A worker starts ``concurrency`` slots for every type it takes, and one more kept for its interactive task
types (a question to the LLM) when it takes those and others, so that a question never waits behind its
``concurrency`` long tasks. A worker taking only interactive types, or none, starts no extra slot.

Besides that plan (:class:`SlotPlan`) this module answers what the worker's loop asks of its slots:
whether a busy slot runs short tasks now, so that it may take the next batch (:func:`streaming`), and how
long the loop may wait before one of their deadlines falls (:func:`wait_timeout`). All times here are
monotonic seconds of the worker process (:func:`time.monotonic`).
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from stenograph.settings import Settings
from stenograph.steps.registry import TASK_TYPES
from stenograph.worker.batching import FAST_S
from stenograph.worker.handlers import cancel_grace_s, interactive_types
from stenograph.worker.slot import BATCH_BUDGET_S, Running, Slot

__all__ = ["SlotPlan", "cancel_deadline", "streaming", "wait_timeout"]


class SlotPlan:
    """How many slots a worker starts and which task types each one claims.

    Args:
        settings: the worker's settings (``task_types`` decides the claim filter and the extra slot).
        concurrency: number of slots for every type the worker takes (at least 1).

    Attributes:
        claim_types: the types the ordinary slots claim; None when the worker takes every type (simulated
            test tasks run under any type, so such a worker filters nothing).
        interactive_types: the interactive types (see :func:`~stenograph.worker.handlers.interactive_types`)
            the worker takes.
        reserved: whether one slot more than ``concurrency`` is kept for ``interactive_types``.
        count: the number of slots: ``concurrency``, plus one when ``reserved``.
    """

    def __init__(self, settings: Settings, concurrency: int) -> None:
        self.settings = settings
        # Simulated test tasks run under any type, so a worker taking every type filters nothing.
        every = set(settings.task_types) >= set(TASK_TYPES)
        self.claim_types: list[str] | None = None if every else list(settings.task_types)
        # A worker taking interactive types (ask) besides others has one more slot, kept for the interactive
        # ones, so that a question to the LLM never waits behind its ``concurrency`` long tasks.
        self.interactive_types = interactive_types(settings)
        self.reserved = bool(self.interactive_types) and bool(set(settings.task_types) - set(self.interactive_types))
        self.count = concurrency + self.reserved

    def start(self) -> list[Slot]:
        """Start the slot processes (numbered from 1); the last is the reserved one when there is one."""
        return [Slot(n + 1, self.settings) for n in range(self.count)]

    def types_for(self, index: int) -> list[str] | None:
        """The task types the slot at ``index`` (0-based, in the list :meth:`start` returned) claims; None: any."""
        reserved = self.reserved and index == self.count - 1
        return self.interactive_types if reserved else self.claim_types


def streaming(slot: Slot, batchable: frozenset[str]) -> bool:
    """Whether a busy slot is running short tasks now: every task it holds is of a batchable type, and
    the one it runs started less than :data:`FAST_S` ago (a batchable type's task can still be long)."""
    active = slot.active
    if active is None or active.started is None or time.monotonic() - active.started >= FAST_S:
        return False
    return all(r.task.type in batchable for r in slot.batch)


def cancel_deadline(running: Running, settings: Settings) -> float | None:
    """When a task asked to cancel has had its grace period (monotonic s); None when no cancel was seen."""
    if running.cancel_seen is None:
        return None
    return running.cancel_seen + cancel_grace_s(running.task.type, settings)


def wait_timeout(slots: Iterable[Slot], now: float, timeout: float, settings: Settings) -> float:
    """``timeout`` (seconds), shortened so the wait ends by the first deadline of the tasks the slots run:
    a timeout, a cancel's grace period, or the time budget of a task with others queued behind it."""
    for slot in slots:
        active = slot.active
        if active is not None:
            queued = slot.batch[-1] is not active  # tasks wait behind the one it runs
            budget = active.started + BATCH_BUDGET_S if active.started is not None and queued else None
            for deadline in (active.deadline, cancel_deadline(active, settings), budget):
                if deadline is not None:
                    timeout = min(timeout, max(deadline - now, 0.0))
    return timeout
