"""Files taken from watched folders, known by the SHA-256 of their content (docs/watch-folders.md): a file
renamed or moved is not taken again, one whose content changed is; ``exported_at`` marks the recordings whose
outputs were written to the export folder.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from stenograph.db.models import UTCDateTime

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "watched_files",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("folder", sa.Text(), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("recording_id", sa.Integer(), nullable=True),
        sa.Column("exported_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("export_error", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_watched_files_unexported", "watched_files", ["status", "exported_at"])


def downgrade() -> None:
    op.drop_index("ix_watched_files_unexported", table_name="watched_files")
    op.drop_table("watched_files")
