"""The ``watched_files`` table (revision 0012): files of watched folders known by the SHA-256 of their content.

A content is claimed (``taking``) before its recording is submitted, so two scans never submit it twice; a
claim left ``taking`` by a crash before the submit ended is taken again at the next start.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import Engine, RowMapping, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from stenograph.db.models import AppSetting, WatchedFile

Status = Literal["taking", "submitted", "skipped"]


@dataclass(frozen=True)
class Known:
    """A row of ``watched_files``."""

    id: int
    sha256: str
    path: str
    status: str
    recording_id: int | None
    reason: str | None


class KnownFiles:
    """Reads and writes ``watched_files`` on ``engine``."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def find(self, sha256: str) -> Known | None:
        """The row of a content, or None when it was never seen."""
        with self.engine.connect() as conn:
            row = conn.execute(select(WatchedFile).where(WatchedFile.sha256 == sha256)).mappings().first()
        return None if row is None else _known(row)

    def claim(self, sha256: str, size_bytes: int, folder: str, path: str) -> bool:
        """Mark a content ``taking``; False when it is already known (claimed, submitted or skipped)."""
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(WatchedFile).values(
                        sha256=sha256,
                        size_bytes=size_bytes,
                        folder=folder,
                        path=path,
                        status="taking",
                        created_at=datetime.now(UTC),
                    )
                )
        except IntegrityError:
            return False
        return True

    def release(self, sha256: str) -> None:
        """Forget a ``taking`` claim whose submit could not be tried (the file vanished): it is taken later."""
        with self.engine.begin() as conn:
            conn.execute(delete(WatchedFile).where(WatchedFile.sha256 == sha256, WatchedFile.status == "taking"))

    def drop_stale_claims(self) -> int:
        """Forget the ``taking`` claims of a process that stopped mid-submit (called once at start)."""
        with self.engine.begin() as conn:
            return conn.execute(delete(WatchedFile).where(WatchedFile.status == "taking")).rowcount

    def settle(
        self, sha256: str, status: Status, *, recording_id: int | None = None, reason: str | None = None
    ) -> None:
        """Record how a claimed content ended: submitted as ``recording_id``, or skipped for ``reason``."""
        with self.engine.begin() as conn:
            conn.execute(
                update(WatchedFile)
                .where(WatchedFile.sha256 == sha256)
                .values(status=status, recording_id=recording_id, reason=reason)
            )

    def moved(self, sha256: str, path: str) -> None:
        """Remember where a known content is now (a rename or move inside the folder)."""
        with self.engine.begin() as conn:
            conn.execute(update(WatchedFile).where(WatchedFile.sha256 == sha256).values(path=path))

    def unexported(self) -> list[Known]:
        """The submitted files whose outputs are not written yet, oldest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(WatchedFile)
                .where(WatchedFile.status == "submitted", WatchedFile.exported_at.is_(None))
                .order_by(WatchedFile.id)
            ).mappings()
            return [_known(row) for row in rows]

    def claim_export(self, row_id: int) -> bool:
        """Mark a row exported now; False when another process did first (so outputs are written once)."""
        with self.engine.begin() as conn:
            result = conn.execute(
                update(WatchedFile)
                .where(WatchedFile.id == row_id, WatchedFile.exported_at.is_(None))
                .values(exported_at=datetime.now(UTC))
            )
            return bool(result.rowcount == 1)

    def export_failed(self, row_id: int, error: str) -> None:
        """Record why some outputs of an exported row could not be written."""
        with self.engine.begin() as conn:
            conn.execute(update(WatchedFile).where(WatchedFile.id == row_id).values(export_error=error))

    def all(self) -> list[Known]:
        """Every row, oldest first."""
        with self.engine.connect() as conn:
            return [_known(r) for r in conn.execute(select(WatchedFile).order_by(WatchedFile.id)).mappings()]


def _known(row: RowMapping) -> Known:
    return Known(row["id"], row["sha256"], row["path"], row["status"], row["recording_id"], row["reason"])


#: ``app_settings`` key of the folders set on the Settings page (a JSON list of :class:`WatchFolder` fields).
FOLDERS_KEY = "watch_folders"


def stored_folders(engine: Engine) -> list[dict[str, Any]]:
    """The folders stored through the Settings page, as JSON objects."""
    with engine.connect() as conn:
        value = conn.execute(select(AppSetting.value).where(AppSetting.key == FOLDERS_KEY)).scalar()
    return list(value or [])


def set_stored_folders(engine: Engine, folders: Sequence[dict[str, Any]]) -> None:
    """Replace the stored folders."""
    with engine.begin() as conn:
        conn.execute(delete(AppSetting).where(AppSetting.key == FOLDERS_KEY))
        conn.execute(insert(AppSetting).values(key=FOLDERS_KEY, value=list(folders)))
