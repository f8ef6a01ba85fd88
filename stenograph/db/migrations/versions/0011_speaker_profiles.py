"""Voice profiles (docs/speaker-profiles.md): a named person's voice kept for later recordings.

- ``speaker_profiles``: a name (unique) and when it was made and last changed.
- ``speaker_profile_embeddings``: the profile's voice embeddings (JSON list of floats, L2-normalised), each
  from one diarized label of one diarization (``recording_id``, ``diarization_id``, ``label``; no foreign
  keys to them: deleting a recording keeps the named voice, deleting the profile deletes its embeddings).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from stenograph.db.models import UTCDateTime

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "speaker_profiles",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "speaker_profile_embeddings",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("profile_id", sa.Integer(), nullable=False),
        sa.Column("recording_id", sa.Integer(), nullable=True),
        sa.Column("diarization_id", sa.Integer(), nullable=True),
        sa.Column("label", sa.String(64), nullable=False),
        sa.Column("embedding", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["profile_id"], ["speaker_profiles.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_speaker_profile_embeddings_profile_id", "speaker_profile_embeddings", ["profile_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_speaker_profile_embeddings_profile_id", table_name="speaker_profile_embeddings")
    op.drop_table("speaker_profile_embeddings")
    op.drop_table("speaker_profiles")
