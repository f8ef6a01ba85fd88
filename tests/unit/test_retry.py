"""The retry decision is a pure function of the error, the attempts and the backoff settings."""

from __future__ import annotations

import pytest

from stenograph.queue.retry import backoff_seconds, decide_retry


def test_retryable_error_with_attempts_left_is_retried() -> None:
    decision = decide_retry(retryable=True, attempts=1, max_attempts=3, base=2, cap=300, rand=0.0)
    assert decision.retry
    assert decision.delay_s == pytest.approx(1.0)  # half of base * 2**0 with rand 0


def test_permanent_error_fails_at_once() -> None:
    decision = decide_retry(retryable=False, attempts=1, max_attempts=3, base=2, cap=300, rand=0.5)
    assert not decision.retry
    assert decision.reason == "not retryable"


def test_exhausted_attempts_fail() -> None:
    decision = decide_retry(retryable=True, attempts=3, max_attempts=3, base=2, cap=300, rand=0.5)
    assert not decision.retry
    assert "3/3" in decision.reason


def test_backoff_grows_exponentially_and_is_capped() -> None:
    delays = [backoff_seconds(n, base=2, cap=20, rand=1.0) for n in range(1, 7)]
    assert delays == [2, 4, 8, 16, 20, 20]


@pytest.mark.parametrize("rand", [0.0, 0.25, 0.999])
def test_jitter_stays_between_half_and_full_delay(rand: float) -> None:
    delay = backoff_seconds(3, base=2, cap=300, rand=rand)
    assert 4.0 <= delay <= 8.0


def test_jitter_is_drawn_when_not_given() -> None:
    delays = {decide_retry(retryable=True, attempts=2, max_attempts=5, base=10, cap=300).delay_s for _ in range(20)}
    assert len(delays) > 1
    assert all(10 <= d <= 20 for d in delays)
