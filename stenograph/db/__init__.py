"""Storage: the SQLAlchemy engine factory, the schema and its Alembic migrations."""

from stenograph.db.engine import create_db_engine, sync_clock
from stenograph.db.migrate import upgrade

__all__ = ["create_db_engine", "sync_clock", "upgrade"]
