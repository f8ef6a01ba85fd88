"""The statements a batch of short tasks runs per task, written for the database driver directly.

For a batch of no-op tasks, SQLAlchemy's per-row work (bind and result processors, parameter dictionaries)
cost more than SQLite's own work for the row: about 65 µs per claimed task and 75 µs per completed one
through SQLAlchemy Core against about 45 µs and 50 µs for the same SQL on the driver (2 CPUs, batches of
256; figures in docs/benchmarks.md). So the batch's three per-task statements (claim, completion, event)
are plain SQL passed to ``Connection.exec_driver_sql``, with values converted here as SQLAlchemy's types
would convert them: on SQLite, times as naive UTC text ``YYYY-MM-DD HH:MM:SS.ffffff`` (SQLAlchemy's
``DATETIME`` storage format) and JSON as text; on PostgreSQL (psycopg 3), aware datetimes and JSON text
cast to ``json``. Everything else in the queue is SQLAlchemy Core.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from stenograph.queue.records import TaskRecord

#: The task columns, in :class:`TaskRecord`'s order (a claim returns them all).
COLUMNS: tuple[str, ...] = TaskRecord.__slots__
_TIMES = frozenset({"run_after", "created_at", "updated_at", "started_at", "finished_at", "lease_expires_at"})
_TIME_AT = tuple(i for i, name in enumerate(COLUMNS) if name in _TIMES)
_JSON_AT = tuple(i for i, name in enumerate(COLUMNS) if name in ("params", "result"))
_BOOL_AT = tuple(i for i, name in enumerate(COLUMNS) if name == "cancel_requested")
ID_AT, ATTEMPTS_AT, MAX_ATTEMPTS_AT = (COLUMNS.index(name) for name in ("id", "attempts", "max_attempts"))

#: Appends one row to ``task_events``.
INSERT_EVENT = (
    "INSERT INTO task_events (task_id, at, from_status, to_status, worker_id, message) VALUES (?, ?, ?, ?, ?, ?)"
)


#: Appends one dependency edge (task, dependency, required).
INSERT_EDGE = "INSERT INTO task_dependencies (task_id, depends_on, required) VALUES (?, ?, ?)"

#: The columns an insert of tasks sets, in the order of its values; every other column takes its default.
_INSERTED = (
    "type, status, priority, params, error_kind, error_message, max_attempts, run_after, created_at, updated_at, "
    "finished_at, cancel_requested, depends_on, recording_id, affinity, attempts, progress"
)
_INSERTED_VALUES = "(?, ?, ?, {json}, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 0.0)"
#: Rows one insert statement holds (15 values each: within SQLite's 32,766 variables).
INSERT_CHUNK = 1000


def insert_tasks_sql(rows: int, *, postgres: bool, notify: bool) -> str:
    """``INSERT INTO tasks`` of ``rows`` rows returning their ids (with ``?`` and ``{json}``).

    On PostgreSQL one statement also writes each task's ``enqueued`` event (a data-modifying ``WITH``) and,
    with ``notify``, sends the wake-up (``pg_notify``, delivered when the transaction commits): one round
    trip in all. SQLite runs the event insert as a second statement (in process, no round trip).
    """
    values = ", ".join([_INSERTED_VALUES] * rows)
    insert = f"INSERT INTO tasks ({_INSERTED}) VALUES {values}"
    if not postgres:
        return f"{insert} RETURNING id"
    wake = ", pg_notify('stenograph_tasks', '')" if notify else ""
    return (
        f"WITH t AS ({insert} RETURNING id, created_at, status, error_message), "
        "e AS (INSERT INTO task_events (task_id, at, from_status, to_status, worker_id, message) "
        "SELECT id, created_at, NULL, status, NULL, COALESCE(error_message, 'enqueued') FROM t) "
        f"SELECT id{wake} FROM t"
    )


@dataclass(frozen=True, slots=True)
class TaskSpec:
    """A task to enqueue (see :meth:`stenograph.queue.TaskQueue.enqueue` for the fields)."""

    type: str
    params: dict[str, Any] | None = None
    priority: int = 0
    max_attempts: int | None = None
    depends_on: int | Sequence[int] | None = None
    after: Sequence[int] = ()
    recording_id: int | None = None
    affinity: str | None = None
    run_after: datetime | None = None

    def required(self) -> list[int]:
        """The tasks it requires."""
        return [self.depends_on] if isinstance(self.depends_on, int) else list(self.depends_on or ())

    def edges(self) -> dict[int, bool]:
        """Every task it waits for, and whether it requires it."""
        return {**dict.fromkeys(self.after, False), **dict.fromkeys(self.required(), True)}


class DriverSQL:
    """SQL text and values for one dialect: ``"sqlite"`` (qmark parameters) or ``"postgresql"`` (format).

    Statements are written with ``?`` placeholders and ``{json}`` where a JSON value goes.
    """

    def __init__(self, dialect: str) -> None:
        self.postgres = dialect == "postgresql"

    def sql(self, text: str, in_list: int = 0) -> str:
        """``text`` in the driver's parameter style; ``{ids}`` becomes ``in_list`` placeholders."""
        if in_list:
            text = text.replace("{ids}", ", ".join("?" * in_list))
        text = text.replace("{json}", "CAST(? AS json)" if self.postgres else "?")
        return text.replace("?", "%s") if self.postgres else text

    def time(self, value: datetime) -> Any:
        """A timezone-aware datetime as the column stores it."""
        if self.postgres:
            return value
        if value.tzinfo is not UTC:
            value = value.astimezone(UTC)
        return value.isoformat(" ", "microseconds")[:26]  # without its "+00:00"

    @staticmethod
    def json(value: Any) -> str | None:
        """A JSON value as text (None is SQL NULL)."""
        return None if value is None else json.dumps(value)

    def record(self, row: Sequence[Any]) -> TaskRecord:
        """A row of :data:`COLUMNS` as a :class:`TaskRecord`."""
        values = list(row)
        for i in _TIME_AT:
            value = values[i]
            if value is not None:
                # "+00:00" appended: parsing it is 7 times as fast as .replace(tzinfo=UTC) on the result.
                values[i] = value.astimezone(UTC) if self.postgres else datetime.fromisoformat(value + "+00:00")
        for i in _JSON_AT:
            if not self.postgres and values[i] is not None:
                values[i] = json.loads(values[i])
        for i in _BOOL_AT:
            values[i] = bool(values[i])
        return TaskRecord(*values)
