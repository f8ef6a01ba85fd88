"""The allowed transitions between task statuses."""

from __future__ import annotations

from stenograph.queue.states import FINISHED, TaskStatus, can_transition, sources_of


def test_statuses_are_exactly_the_five() -> None:
    assert [s.value for s in TaskStatus] == ["pending", "running", "completed", "failed", "cancelled"]


def test_lifecycle_edges() -> None:
    assert can_transition(TaskStatus.PENDING, TaskStatus.RUNNING)
    assert can_transition(TaskStatus.RUNNING, TaskStatus.COMPLETED)
    assert can_transition(TaskStatus.RUNNING, TaskStatus.FAILED)
    assert can_transition(TaskStatus.RUNNING, TaskStatus.CANCELLED)
    assert can_transition(TaskStatus.PENDING, TaskStatus.CANCELLED)


def test_finished_tasks_only_leave_by_retry() -> None:
    for status in FINISHED:
        targets = [t for t in TaskStatus if can_transition(status, t)]
        assert targets == ([] if status == TaskStatus.COMPLETED else [TaskStatus.PENDING])
    assert not can_transition(TaskStatus.PENDING, TaskStatus.COMPLETED)
    assert sources_of(TaskStatus.COMPLETED) == (TaskStatus.RUNNING,)


def test_an_illegal_transition_raises_a_queue_error_even_without_asserts() -> None:
    import pytest

    from stenograph.errors import TransitionError
    from stenograph.queue.states import TaskStatus, check_transition

    check_transition((TaskStatus.PENDING,), TaskStatus.RUNNING)
    with pytest.raises(TransitionError, match="illegal transition completed -> running"):
        check_transition((TaskStatus.COMPLETED,), TaskStatus.RUNNING)


def test_the_status_check_constraint_is_generated_from_the_enum() -> None:
    from stenograph.db.models import Task
    from stenograph.queue.states import TaskStatus, status_check_sql

    [check] = [c for c in Task.__table__.constraints if getattr(c, "name", None) == "ck_tasks_status"]
    assert str(check.sqltext) == status_check_sql()
    assert all(f"'{status.value}'" in status_check_sql() for status in TaskStatus)


def test_allowed_actions_follow_the_status() -> None:
    from stenograph.queue.states import allowed_actions

    assert allowed_actions("pending") == ["cancel", "delete"]
    assert allowed_actions("running") == ["cancel"]
    assert allowed_actions("completed") == ["delete"]
    assert allowed_actions("failed") == ["retry", "delete"]
    assert allowed_actions("cancelled") == ["retry", "delete"]
