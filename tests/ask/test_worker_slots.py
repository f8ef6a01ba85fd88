"""How many slots a worker starts: one more than its concurrency, kept for interactive types (a question),
when it takes those and others; none more when it takes only questions or none."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from stenograph.settings import Settings
from stenograph.worker.worker import Worker


@pytest.mark.parametrize(
    ("task_types", "reserved"),
    [
        (None, True),  # every type, the default
        (["transcription", "correction", "summary", "ask"], True),
        (["transcription", "summary"], False),
        (["ask"], False),
    ],
)
def test_a_slot_is_kept_for_questions_beside_other_types(
    make_settings: object, engine: Engine, task_types: list[str] | None, reserved: bool
) -> None:
    overrides = {} if task_types is None else {"task_types": task_types}
    settings: Settings = make_settings(**overrides)  # type: ignore[operator]
    worker = Worker(settings, concurrency=2, engine=engine)
    assert worker.plan.reserved is reserved
    assert worker.plan.count == 2 + reserved
    assert worker.plan.interactive_types == (["ask"] if task_types is None or "ask" in task_types else [])
    if reserved:  # the last slot claims only the interactive types, the others what the worker takes
        assert worker.plan.types_for(2) == ["ask"]
        assert worker.plan.types_for(0) == (None if task_types is None else task_types)
