"""Full-text search of recordings on PostgreSQL: a ``recordings_fts`` table with a generated ``tsvector``.

The table mirrors SQLite's FTS5 table of revision 0002 (``rowid`` = ``recordings.id``, ``name``, ``body`` =
the newest transcript text), so the store writes both the same way. Words are matched as prefixes with the
``simple`` text-search configuration (no stemming, any language); text without spaces between words
(Chinese, Japanese, Thai) is matched as a substring, with a ``pg_trgm`` GIN index where that extension
is available (PostgreSQL documentation, chapters "Full Text Search" and "pg_trgm").

The document is built from the text with every run of non-alphanumeric characters replaced by a space
(``SEPARATORS``), because the store splits a search the same way: PostgreSQL's own parser keeps
``two.wav``, ``x_y`` or ``budget-review`` as single tokens, which a search for ``wav`` would then miss.
The separators are spelled out (ASCII punctuation and the Unicode punctuation blocks) rather than as
``[^[:alnum:]]``, which under a database of ``C`` collation also erases every non-ASCII letter.

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

#: Runs of characters that separate words: ASCII other than letters and digits, and the punctuation of the
#: Latin-1, General Punctuation, CJK Symbols and Punctuation and Fullwidth Forms blocks (no letter or digit
#: of any of them: ``stenograph.recordings.store`` splits queries on the same, Python's non-word characters).
SEPARATORS = (
    r"([^0-9A-Za-z\u0080-\U0010ffff]|[\u00a0-\u00a9\u00ab-\u00b1\u00b4\u00b6-\u00b8\u00bb\u00bf\u00d7\u00f7"
    r"\u2000-\u206f\u3000-\u3004\u3008-\u3020\u302a-\u3030\u3036\u3037\u303d-\u303f\uff01-\uff0f\uff1a-\uff20"
    r"\uff3b-\uff40\uff5b-\uff65])+"
)


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    op.execute(
        f"""
        CREATE TABLE recordings_fts (
            rowid integer PRIMARY KEY REFERENCES recordings (id) ON DELETE CASCADE,
            name text NOT NULL DEFAULT '',
            body text NOT NULL DEFAULT '',
            document tsvector GENERATED ALWAYS AS (
                to_tsvector('simple', regexp_replace(name || ' ' || body, '{SEPARATORS}', ' ', 'g'))
            ) STORED
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
