"""Full-text search of recordings: an FTS5 table with the trigram tokenizer (SQLite only).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # rowid = recordings.id; body = the newest transcript text. Trigrams match any 3+ characters,
        # Chinese included (SQLite 3.34+).
        op.execute("CREATE VIRTUAL TABLE recordings_fts USING fts5(name, body, tokenize='trigram')")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE recordings_fts")
