"""PatientLLM: a server that is down is tried again over minutes, with backoff, and cancel is honoured."""

from __future__ import annotations

import pytest

from stenograph.errors import TaskCancelled
from stenograph.llm.errors import LLMRequestRejected, LLMUnavailable
from stenograph.llm.fake import ScriptedLLM
from stenograph.llm.patience import PatientLLM


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    def monotonic(self) -> float:
        return self.now


def down(n: int) -> list[BaseException]:
    return [LLMUnavailable("LLM server at http://127.0.0.1:9/v1 is unreachable", endpoint="x") for _ in range(n)]


def test_a_server_down_for_a_while_is_waited_for_with_growing_pauses() -> None:
    clock = FakeTime()
    waits: list[str] = []
    llm = PatientLLM(
        ScriptedLLM([*down(4), "hello"]), 300, on_wait=waits.append, sleep=clock.sleep, monotonic=clock.monotonic
    )
    assert llm.chat([{"role": "user", "content": "x"}]).text == "hello"
    assert clock.now == pytest.approx(1 + 2 + 4 + 8)
    assert len(waits) == 4 and "waiting for the LLM server" in waits[0]


def test_after_its_patience_the_last_error_is_raised() -> None:
    clock = FakeTime()
    llm = PatientLLM(ScriptedLLM(down(1000)), 300, sleep=clock.sleep, monotonic=clock.monotonic)
    with pytest.raises(LLMUnavailable, match="unreachable"):
        llm.chat([{"role": "user", "content": "x"}])
    assert 300 <= clock.now < 300 + 1  # minutes, not the queue's seconds
    assert max(clock.slept) <= 30


def test_a_rejected_request_is_not_retried_and_cancel_stops_the_wait() -> None:
    clock = FakeTime()
    rejected = ScriptedLLM([LLMRequestRejected("no such model"), "never"])
    with pytest.raises(LLMRequestRejected):
        PatientLLM(rejected, 300, sleep=clock.sleep, monotonic=clock.monotonic).chat([{"role": "user", "content": "x"}])
    assert clock.now == 0
    stopping = PatientLLM(
        ScriptedLLM(down(10)), 300, should_stop=lambda: clock.now > 0.5, sleep=clock.sleep, monotonic=clock.monotonic
    )
    with pytest.raises(TaskCancelled):
        stopping.chat([{"role": "user", "content": "x"}])
    assert clock.now < 2
