"""Speaker diarization: who spoke when, and each segment's speaker.

- ``diarizations``: one row per diarization task's result (turns, speakers, voice embeddings, model), read by
  the speaker assignment step; a re-run adds a row, the earlier ones stay.
- ``segments.speaker_label``: the diarized speaker of a segment ("Speaker 1"...; NULL before diarization or for
  ``channels=split``, whose channel is its speaker); ``segments.overlap``: another speaker talks during it.
  Existing segments get NULL and false.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "diarizations",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("recording_id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("model", sa.String(200), nullable=False, server_default=""),
        sa.Column("duration_s", sa.Float(), nullable=False, server_default="0"),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("speakers", sa.JSON(), nullable=False),
        sa.Column("turns", sa.JSON(), nullable=False),
        sa.Column("embeddings", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["recording_id"], ["recordings.id"], ondelete="CASCADE"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_diarizations_recording_id", "diarizations", ["recording_id"])
    with op.batch_alter_table("segments") as batch:
        batch.add_column(sa.Column("speaker_label", sa.String(64), nullable=True))
        batch.add_column(sa.Column("overlap", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("segments") as batch:
        batch.drop_column("overlap")
        batch.drop_column("speaker_label")
    op.drop_index("ix_diarizations_recording_id", table_name="diarizations")
    op.drop_table("diarizations")
