"""How many tasks a slot claims at once: batches for task types that take milliseconds.

The worker learns each task type's run time from its own successes (an exponentially weighted moving
average of its short runs, weight :data:`EWMA_WEIGHT` on the newest). A type whose average is under
:data:`FAST_S` is batchable; a type never seen, or whose last run took :data:`FAST_S` or more, is claimed
one task at a time. A batch is sized to run for
about half :data:`~stenograph.worker.slot.BATCH_BUDGET_S` seconds at the slowest batchable type's average,
capped by ``Settings.batch_max``: a worker does not hold many more tasks than it can start soon, and
other workers get the rest. A slot holds up to two batches (one running, the next waiting in its pipe),
so its process never waits for the database between batches.
"""

from __future__ import annotations

from stenograph.worker.slot import BATCH_BUDGET_S

#: A task type whose average run is under this many seconds is claimed in batches.
FAST_S = 0.05
#: Weight of the newest run in a type's moving average.
EWMA_WEIGHT = 0.2


class BatchPolicy:
    """Per task type run times, and the batch size they allow.

    Args:
        batch_max: the most tasks one slot holds at once (``Settings.batch_max``; 1 turns batching off).
    """

    def __init__(self, batch_max: int) -> None:
        self.batch_max = batch_max
        self.mean_s: dict[str, float] = {}

    def observe(self, task_type: str, seconds: float) -> None:
        """Record a successful run of ``seconds``. One run of :data:`FAST_S` or more stops the type's
        batching at once (the average of the next short runs starts it again)."""
        if seconds >= FAST_S:
            self.forget(task_type)
            return
        old = self.mean_s.get(task_type)
        self.mean_s[task_type] = seconds if old is None else old + EWMA_WEIGHT * (seconds - old)

    def shrink(self, task_type: str) -> None:
        """A batch of the type overran its budget: its tasks cost more than measured (a busy machine);
        halve the batches it allows (the average doubles), without giving up batching."""
        if task_type in self.mean_s:
            self.mean_s[task_type] = min(self.mean_s[task_type] * 2, FAST_S / 2)

    def forget(self, task_type: str) -> None:
        """Stop batching a type (one of its runs was slow: it ran past a batch's budget)."""
        self.mean_s.pop(task_type, None)

    @property
    def batchable(self) -> frozenset[str]:
        """The task types claimed in batches now."""
        if self.batch_max <= 1:
            return frozenset()
        return frozenset(t for t, mean in self.mean_s.items() if mean < FAST_S)

    def limit(self) -> int:
        """Tasks one slot may hold: 1 when no type is batchable."""
        fast = [mean for mean in self.mean_s.values() if mean < FAST_S]
        if self.batch_max <= 1 or not fast:
            return 1
        # Half the budget: a task's own time is what is measured, not the slot's work between tasks, and a
        # batch that overruns gives its rest back (a claim and a give-back logged for each: churn).
        return max(1, min(self.batch_max, int(BATCH_BUDGET_S / 2 / max(max(fast), 1e-6))))
