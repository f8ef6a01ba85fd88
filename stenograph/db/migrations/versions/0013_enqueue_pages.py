"""Fewer pages written per enqueue: partial indexes for the optional task links, and on SQLite a trigger that
logs each new task's ``enqueued`` event inside the insert.

- ``ix_tasks_depends_on`` and ``ix_tasks_recording_id`` hold only the tasks that have the link
  (``WHERE ... IS NOT NULL``): a task without a requirement (most) or without a recording (webhook deliveries,
  library-wide questions) writes no entry there. Queries by ``depends_on = ?``, ``recording_id = ?`` or
  ``recording_id IN (...)`` still use them (https://sqlite.org/partialindex.html, "Queries Using Partial
  Indexes": a ``x IS NOT NULL`` index serves any comparison on ``x``; PostgreSQL proves the same for strict
  operators).
- ``tasks_enqueued_event`` (SQLite only): ``AFTER INSERT ON tasks``, the row of ``task_events`` that
  :mod:`stenograph.queue.inserts` wrote as a second statement. An enqueue is then one statement, which SQLite
  runs as its own transaction. PostgreSQL writes the event in the insert's data-modifying ``WITH``.

Measured on SQLite (2 CPUs, one commit per enqueue, WAL): 8.6 pages per enqueue before, 6.6 after for a task
with neither link (WAL growth over 100 enqueues, divided by the frame size); each WAL frame costs about 15 to
20 µs of the commit.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TRIGGER = "tasks_enqueued_event"
CREATE_TRIGGER = (
    f"CREATE TRIGGER {TRIGGER} AFTER INSERT ON tasks BEGIN "
    "INSERT INTO task_events (task_id, at, from_status, to_status, worker_id, message) "
    "VALUES (NEW.id, NEW.created_at, NULL, NEW.status, NULL, COALESCE(NEW.error_message, 'enqueued')); END"
)


def _partial(column: str) -> None:
    where = sa.text(f"{column} IS NOT NULL")
    op.drop_index(f"ix_tasks_{column}", table_name="tasks")
    op.create_index(f"ix_tasks_{column}", "tasks", [column], sqlite_where=where, postgresql_where=where)


def upgrade() -> None:
    _partial("depends_on")
    _partial("recording_id")
    if op.get_context().dialect.name == "sqlite":
        op.execute(CREATE_TRIGGER)


def downgrade() -> None:
    if op.get_context().dialect.name == "sqlite":
        op.execute(f"DROP TRIGGER IF EXISTS {TRIGGER}")
    for column in ("depends_on", "recording_id"):
        op.drop_index(f"ix_tasks_{column}", table_name="tasks")
        op.create_index(f"ix_tasks_{column}", "tasks", [column])
