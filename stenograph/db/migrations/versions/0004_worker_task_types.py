"""Workers record the task types they take (``stenograph worker --task-types``); NULL: every type. The
claim's index follows the claim's order (``priority DESC, run_after, created_at, id``): with ``priority``
ascending, SQLite sorted every pending task of a priority at each claim ("USE TEMP B-TREE FOR RIGHT PART OF
ORDER BY" in its query plan), so claims slowed down as the queue grew.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("workers") as batch:
        batch.add_column(sa.Column("task_types", sa.JSON(), nullable=True))
    op.drop_index("ix_tasks_claim", table_name="tasks")
    op.create_index(
        "ix_tasks_claim", "tasks", ["status", sa.text("priority DESC"), "run_after", "created_at", "id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_tasks_claim", table_name="tasks")
    op.create_index("ix_tasks_claim", "tasks", ["status", "priority", "run_after", "created_at"], unique=False)
    with op.batch_alter_table("workers") as batch:
        batch.drop_column("task_types")
