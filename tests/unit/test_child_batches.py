"""A slot process's batch runner, driven in-process through a recording pipe: the order of its messages,
cancel requests that name one attempt, the time budget, and the running task's id it shares."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from stenograph.settings import Settings, build_settings
from stenograph.worker.child import Reporter, _run_batch
from stenograph.worker.shared import CancelFlags, StartGate


class RecordingPipe:
    """The child's end of the pipe: keeps what is sent."""

    def __init__(self) -> None:
        self.sent: list[tuple[Any, ...]] = []

    def send(self, message: tuple[Any, ...]) -> None:
        self.sent.append(message)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return build_settings(data_dir=tmp_path / "data", llm="none")


def task(task_id: int, attempt: int = 1, **simulate: Any) -> dict[str, Any]:
    params = {"simulate": {"seconds": 0.0, **simulate}}
    return {
        "id": task_id,
        "seq": task_id,
        "type": "transcription",
        "attempt": attempt,
        "params": params,
        "recording_id": None,
    }


def run(
    settings: Settings,
    tasks: list[dict[str, Any]],
    cancel: CancelFlags | None = None,
    budget: float = 60.0,
    gate: StartGate | None = None,
) -> tuple[list[tuple[Any, ...]], int]:
    pipe, gate = RecordingPipe(), gate or StartGate()
    _run_batch(Reporter(pipe), cancel or CancelFlags(), gate, settings, tasks, budget)  # type: ignore[arg-type]
    return pipe.sent, gate.current


def done_ids(sent: list[tuple[Any, ...]]) -> list[int]:
    return [outcome[0] for message in sent if message[0] == "done" for outcome in message[1]]


def test_successes_are_sent_together_with_their_own_times(settings: Settings) -> None:
    sent, current = run(settings, [task(1), task(2), task(3)])
    assert [m[0] for m in sent] == ["done"]  # three no-op tasks take far less than the 10 ms grouping
    assert done_ids(sent) == [1, 2, 3]
    for _, result, started, ended in sent[0][1]:
        assert result == {"simulated": True, "seconds": 0.0} and 0 <= ended - started < 5
    assert current == 3  # the last task started


def test_a_failure_is_sent_after_the_successes_before_it(settings: Settings) -> None:
    sent, _ = run(settings, [task(1), task(2, fail="permanent"), task(3)])
    assert [m[0] for m in sent] == ["done", "error", "done"]
    assert done_ids(sent[:1]) == [1] and done_ids(sent[2:]) == [3]
    _, task_id, kind, message, retryable, _trace = sent[1]
    assert (task_id, kind, retryable) == (2, "simulated_failure", False) and "permanent" in message


def test_a_cancel_request_stops_only_the_attempt_it_names(settings: Settings) -> None:
    cancel = CancelFlags()
    cancel.request(2, 1)
    cancel.request(3, 7)  # another attempt of task 3: not this one
    sent, _ = run(settings, [task(1), task(2), task(3)], cancel)
    assert [m[0] for m in sent] == ["done", "cancelled", "done"]
    assert sent[1][1] == 2 and done_ids(sent) == [1, 3]


def test_cancel_flags_name_attempts_and_clear() -> None:
    flags = CancelFlags()
    assert not flags.is_requested(5, 1)
    flags.request(5, 1)
    assert flags.is_requested(5, 1) and not flags.is_requested(5, 2) and not flags.is_requested(6, 1)
    flags.clear()
    assert not flags.is_requested(5, 1)


def test_tasks_not_started_within_the_budget_are_sent_back(settings: Settings) -> None:
    sent, current = run(settings, [task(1, seconds=0.2), task(2), task(3)], budget=0.1)
    kinds = [m[0] for m in sent if m[0] != "progress"]  # the 0.2 s task reports progress as it goes
    assert kinds == ["done", "unstarted"]
    assert done_ids(sent) == [1] and sent[-1] == ("unstarted", [2, 3])
    assert current == 1


def test_batch_policy_batches_short_types_only_while_their_runs_stay_short() -> None:
    from stenograph.worker.batching import FAST_S, BatchPolicy
    from stenograph.worker.slot import BATCH_BUDGET_S

    policy = BatchPolicy(batch_max=256)
    assert policy.limit() == 1 and policy.batchable == frozenset()  # nothing seen: one at a time
    policy.observe("summary", 0.0001)
    assert policy.batchable == {"summary"} and policy.limit() == 256
    policy.observe("transcription", 0.01)
    assert policy.limit() == int(BATCH_BUDGET_S / 2 / 0.01)  # half the budget at the slowest batchable type
    policy.observe("summary", FAST_S)  # one slow run stops its batching at once
    assert policy.batchable == {"transcription"}
    assert BatchPolicy(batch_max=1).limit() == 1


def test_revoked_tasks_do_not_start(settings: Settings) -> None:
    gate = StartGate()
    with gate.held():
        gate.revoke(2, 3)  # the parent took tasks 2 and 3 back
    sent, current = run(settings, [task(1), task(2), task(3), task(4)], gate=gate)
    assert done_ids(sent) == [1, 4] and current == 4


def test_a_short_success_is_sent_while_a_long_task_runs(settings: Settings) -> None:
    import threading

    pipe = RecordingPipe()
    runner = threading.Thread(
        target=_run_batch,
        args=(Reporter(pipe), CancelFlags(), StartGate(), settings, [task(1), task(2, seconds=1.0)], 60.0),
    )
    runner.start()
    try:
        wait = threading.Event()
        deadline = 0.9  # the long task is still running: task 1's success must have gone already
        while not done_ids([m for m in pipe.sent if m[0] == "done"]) and deadline > 0:
            wait.wait(0.01)
            deadline -= 0.01
        assert done_ids(pipe.sent) == [1]
    finally:
        runner.join(10)
    assert done_ids(pipe.sent) == [1, 2]
