"""Tasks may wait for several tasks, and some run only where their recording's file is.

- ``task_dependencies`` holds every edge ``task_id`` → ``depends_on``. A ``required`` edge makes the task
  fail (or be cancelled) with its dependency; a non-required one (``required = false``) only orders it: the
  task runs once the dependency has ended, completed or failed (a summary after a correction that failed
  runs on the original transcript). ``tasks.depends_on`` stays as the first required dependency, shown by
  the API; scheduling reads the edges only. Existing ``depends_on`` values become required edges.
- ``tasks.affinity``: the id of the data directory whose workers must run the task (a transcription needs
  the recording's file), or NULL for any worker. ``recordings.store_id``: the data directory that holds the
  recording's file (see :mod:`stenograph.datadir`).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "task_dependencies",
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("depends_on", sa.Integer(), nullable=False),
        sa.Column("required", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.ForeignKeyConstraint(["task_id"], ["tasks.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["depends_on"], ["tasks.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("task_id", "depends_on"),
    )
    op.create_index("ix_task_dependencies_depends_on", "task_dependencies", ["depends_on"])
    op.execute(
        "INSERT INTO task_dependencies (task_id, depends_on, required) "
        "SELECT id, depends_on, true FROM tasks WHERE depends_on IS NOT NULL"
    )
    with op.batch_alter_table("tasks") as batch:
        batch.add_column(sa.Column("affinity", sa.String(64), nullable=True))
    with op.batch_alter_table("recordings") as batch:
        batch.add_column(sa.Column("store_id", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("recordings") as batch:
        batch.drop_column("store_id")
    with op.batch_alter_table("tasks") as batch:
        batch.drop_column("affinity")
    op.drop_index("ix_task_dependencies_depends_on", table_name="task_dependencies")
    op.drop_table("task_dependencies")
