"""The retry decision: a pure function of the error and the attempt count.

Backoff is exponential with "full jitter" (AWS Architecture Blog, "Exponential Backoff And Jitter",
Marc Brooker, 2015): the delay before retry ``n`` (1-based) is drawn uniformly from
``[0.5 * d, d]`` where ``d = min(cap, base * 2 ** (n - 1))``. Half the delay is kept fixed so a retry
never comes back at once.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RetryDecision:
    """Whether to retry, and after how many seconds."""

    retry: bool
    delay_s: float = 0.0
    reason: str = ""


def backoff_seconds(attempt: int, base: float, cap: float, rand: float) -> float:
    """Delay in seconds before the retry that follows failed attempt ``attempt`` (1-based).

    Args:
        attempt: the attempt that just failed, 1 for the first.
        base: delay scale in seconds (``STENOGRAPH_BACKOFF_BASE_SECONDS``).
        cap: the longest delay in seconds (``STENOGRAPH_BACKOFF_CAP_SECONDS``).
        rand: a number in [0, 1) (the jitter source; tests pass fixed values).
    """
    ceiling = min(cap, base * 2.0 ** max(attempt - 1, 0))
    return ceiling * (0.5 + 0.5 * rand)


def decide_retry(
    *,
    retryable: bool,
    attempts: int,
    max_attempts: int,
    base: float,
    cap: float,
    rand: float | None = None,
) -> RetryDecision:
    """Decide what follows a failed attempt.

    Args:
        retryable: False for errors retrying cannot fix (bad input).
        attempts: attempts made so far, the failed one included.
        max_attempts: the task's attempt budget.
        base, cap: backoff parameters in seconds.
        rand: jitter in [0, 1); drawn from :mod:`random` when None.
    """
    if not retryable:
        return RetryDecision(False, reason="not retryable")
    if attempts >= max_attempts:
        return RetryDecision(False, reason=f"attempts exhausted ({attempts}/{max_attempts})")
    jitter = random.random() if rand is None else rand
    return RetryDecision(True, backoff_seconds(attempts, base, cap, jitter), reason="retry")
