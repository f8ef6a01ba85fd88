"""The queue is one class over one statement module: no mixins, and every module of the package small."""

from __future__ import annotations

from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "stenograph" / "queue"
MODULES = sorted(PACKAGE.glob("*.py"))


def test_the_queue_is_one_class_with_no_base_but_object() -> None:
    from stenograph.queue import TaskQueue

    assert TaskQueue.__mro__ == (TaskQueue, object)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_every_module_of_the_queue_is_under_600_lines(path: Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert MODULES and lines < 600, f"{path.name} has {lines} lines"


def test_every_status_condition_of_the_queue_comes_from_the_guard() -> None:
    """Only the statement module writes a status change (the guard checks each), and the guard refuses an
    illegal one."""
    from stenograph.errors import TransitionError
    from stenograph.queue.statements import status_guard, status_guard_sql
    from stenograph.queue.states import TaskStatus

    for path in MODULES:
        if path.name != "statements.py":
            text = path.read_text(encoding="utf-8")
            assert "SET status" not in text and "values(status" not in text, path.name
    assert status_guard_sql((TaskStatus.FAILED, TaskStatus.CANCELLED), TaskStatus.PENDING) == (
        "status IN ('failed', 'cancelled')"
    )
    with pytest.raises(TransitionError):
        status_guard((TaskStatus.COMPLETED,), TaskStatus.RUNNING)
    with pytest.raises(TransitionError):
        status_guard_sql((TaskStatus.PENDING,), TaskStatus.COMPLETED)
