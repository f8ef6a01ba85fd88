"""Enqueueing's inserts: tasks (with their ``enqueued`` events) and dependency edges, in multi-row statements run
on a SQLAlchemy connection or straight on the driver's (the hot path: SQLAlchemy's per-call work cost more
than the insert itself)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection

from stenograph import clock
from stenograph.queue.dependencies import Outcome
from stenograph.queue.driver import DriverSQL, TaskSpec
from stenograph.queue.records import TaskRecord
from stenograph.queue.statements import INSERT_CHUNK, INSERT_EDGE
from stenograph.queue.states import TaskStatus

#: ``wal_autocheckpoint`` (pages) of the enqueueing connections. A checkpoint copies the WAL into the database
#: file and syncs both; at SQLite's default of 1,000 pages an enqueue (6.6 pages) ran one every 150 commits,
#: and it was half of an enqueue's cost (2 CPUs: 4,100/s with it, 9,600/s without, the same statements in
#: ``sqlite3``). The engine's connections (workers, API) keep the default and checkpoint in normal running;
#: this is the bound of the WAL (about 40 MB) when only enqueues happen.
ENQUEUE_CHECKPOINT_PAGES = 10_000


class Run:
    """Runs driver-level SQL: ``rows`` (a statement's rows) and ``many`` (one statement, many parameter sets)."""

    def rows(self, sql: str, params: Sequence[Any]) -> Sequence[Sequence[Any]]:
        raise NotImplementedError

    def many(self, sql: str, params: Sequence[Sequence[Any]]) -> None:
        raise NotImplementedError


class SQLAlchemyRun(Run):
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def rows(self, sql: str, params: Sequence[Any]) -> Sequence[Sequence[Any]]:
        return self.conn.exec_driver_sql(sql, tuple(params)).all()

    def many(self, sql: str, params: Sequence[Sequence[Any]]) -> None:
        self.conn.exec_driver_sql(sql, [tuple(p) for p in params])


class DriverRun(Run):
    def __init__(self, cursor: Any) -> None:
        self.cursor = cursor

    def rows(self, sql: str, params: Sequence[Any]) -> Sequence[Sequence[Any]]:
        self.cursor.execute(sql, params)
        result: Sequence[Sequence[Any]] = self.cursor.fetchall()
        return result

    def many(self, sql: str, params: Sequence[Sequence[Any]]) -> None:
        self.cursor.executemany(sql, params)


def insert_tasks(
    run: Run,
    driver: DriverSQL,
    specs: Sequence[TaskSpec],
    outcomes: Sequence[Outcome],
    *,
    default_attempts: int,
    insert_sql: Callable[[int], str],
) -> list[TaskRecord]:
    """The inserts of ``specs`` (with their ``outcomes``: status, error kind, message), their events and
    dependency edges, through ``run``; the records in the order of ``specs``. ``insert_sql(n)``: the
    statement inserting ``n`` tasks, which writes their ``enqueued`` events too (PostgreSQL: a data-modifying
    ``WITH``; SQLite: the ``tasks_enqueued_event`` trigger)."""
    now = clock.now()
    at = driver.time(now)
    rows: list[tuple[Any, ...]] = []
    for spec, (status, error_kind, message) in zip(specs, outcomes, strict=True):
        required = spec.required()
        rows.append(
            (
                spec.type,
                status,
                spec.priority,
                driver.json(spec.params or {}),
                error_kind,
                message,
                spec.max_attempts or default_attempts,
                driver.time(spec.run_after) if spec.run_after is not None else at,
                at,
                at,
                None if status == "pending" else at,
                False,
                required[0] if required else None,
                spec.recording_id,
                spec.affinity,
            )
        )
    ids: list[int] = []
    for start in range(0, len(rows), INSERT_CHUNK):
        chunk = rows[start : start + INSERT_CHUNK]
        returned = run.rows(insert_sql(len(chunk)), tuple(value for row in chunk for value in row))
        ids += sorted(int(row[0]) for row in returned)  # ids grow in the order of the rows
    # The insert wrote each task's event too: on PostgreSQL its WITH, on SQLite the trigger of revision 0013.
    # The records from the values written (decoding the rows back costs more than the insert).
    records = [
        TaskRecord(
            task_id, spec.type, TaskStatus(row[1]), spec.priority, spec.params or {}, None, row[4], row[5],
            0, row[6], spec.run_after or now, now, now, None, None if row[10] is None else now, None, None,
            None, 0.0, None, None, False, row[12], spec.recording_id, spec.affinity,
        )
        for task_id, spec, row in zip(ids, specs, rows, strict=True)
    ]  # fmt: skip
    edges = [
        (record.id, dep, must)
        for spec, record in zip(specs, records, strict=True)
        for dep, must in spec.edges().items()
    ]
    if edges:
        run.many(driver.sql(INSERT_EDGE), edges)
    return records


def on_sqlite(connection: Any, insert: Callable[[Run], list[TaskRecord]], *, one_statement: bool) -> list[TaskRecord]:
    """``insert`` run on a SQLite DBAPI connection in autocommit mode: as its own transaction when it is
    ``one_statement`` (the tasks' insert writes their events: the trigger of revision 0013), else inside
    ``BEGIN IMMEDIATE`` (as the engine's transactions begin: :mod:`stenograph.db.engine`) and ``COMMIT``."""
    run = DriverRun(connection.cursor())
    if one_statement:
        return insert(run)
    connection.execute("BEGIN IMMEDIATE")
    try:
        records = insert(run)
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    return records
