"""Values for the driver-level SQL of the hot paths, and the task spec an enqueue takes.

For a batch of no-op tasks, SQLAlchemy's per-row work (bind and result processors, parameter dictionaries)
cost more than SQLite's own work for the row: about 65 µs per claimed task and 75 µs per completed one
through SQLAlchemy Core against about 45 µs and 50 µs for the same SQL on the driver (2 CPUs, batches of
256; figures in docs/benchmarks.md). So the batch's three per-task statements (claim, completion, event)
and the enqueue's inserts are plain SQL (written in :mod:`stenograph.queue.statements`) passed to
``Connection.exec_driver_sql``, with values converted here as SQLAlchemy's types would convert them: on
SQLite, times as naive UTC text ``YYYY-MM-DD HH:MM:SS.ffffff`` (SQLAlchemy's ``DATETIME`` storage format)
and JSON as text; on PostgreSQL (psycopg 3), aware datetimes and JSON text cast to ``json``."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from stenograph.queue.records import TaskRecord
from stenograph.queue.statements import COLUMNS

_TIMES = frozenset({"run_after", "created_at", "updated_at", "started_at", "finished_at", "lease_expires_at"})
_TIME_AT = tuple(i for i, name in enumerate(COLUMNS) if name in _TIMES)
_JSON_AT = tuple(i for i, name in enumerate(COLUMNS) if name in ("params", "result"))
_BOOL_AT = tuple(i for i, name in enumerate(COLUMNS) if name == "cancel_requested")
ID_AT, ATTEMPTS_AT, MAX_ATTEMPTS_AT = (COLUMNS.index(name) for name in ("id", "attempts", "max_attempts"))


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
        self._texts: dict[tuple[str, int], str] = {}

    def sql(self, text: str, in_list: int = 0) -> str:
        """``text`` in the driver's parameter style; ``{ids}`` becomes ``in_list`` placeholders (each text
        and list size made once)."""
        made = self._texts.get((text, in_list))
        if made is None:
            made = text.replace("{ids}", ", ".join("?" * in_list)) if in_list else text
            made = made.replace("{json}", "CAST(? AS json)" if self.postgres else "?")
            made = self._texts[(text, in_list)] = made.replace("?", "%s") if self.postgres else made
        return made

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
