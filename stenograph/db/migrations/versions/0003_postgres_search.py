"""Full-text search of recordings on PostgreSQL: a ``recordings_fts`` table with a generated ``tsvector``.

The table mirrors SQLite's FTS5 table of revision 0002 (``rowid`` = ``recordings.id``, ``name``, ``body`` =
the newest transcript text), so the store writes both the same way. Words are matched as prefixes with the
``simple`` text-search configuration (no stemming, any language); text without spaces between words
(Chinese, Japanese, Thai) is matched as a substring, with a ``pg_trgm`` GIN index where that extension
is available (PostgreSQL documentation, chapters "Full Text Search" and "pg_trgm").

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from collections.abc import Sequence

from alembic import op
from sqlalchemy.exc import DBAPIError

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    op.execute(
        """
        CREATE TABLE recordings_fts (
            rowid integer PRIMARY KEY REFERENCES recordings (id) ON DELETE CASCADE,
            name text NOT NULL DEFAULT '',
            body text NOT NULL DEFAULT '',
            document tsvector GENERATED ALWAYS AS (to_tsvector('simple', name || ' ' || body)) STORED
        )
        """
    )
    op.execute("CREATE INDEX recordings_fts_document ON recordings_fts USING gin (document)")
    try:
        with bind.begin_nested():  # a role without the right to create extensions keeps plain scans
            bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            bind.exec_driver_sql(
                "CREATE INDEX recordings_fts_trigrams ON recordings_fts USING gin ((name || ' ' || body) gin_trgm_ops)"
            )
    except DBAPIError:
        pass
    op.execute(
        """
        INSERT INTO recordings_fts (rowid, name, body)
        SELECT r.id, coalesce(r.name, ''), coalesce(
            (SELECT v.text FROM transcript_versions v WHERE v.recording_id = r.id AND v.complete
             ORDER BY v.number DESC LIMIT 1), '')
        FROM recordings r
        """
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TABLE recordings_fts")
