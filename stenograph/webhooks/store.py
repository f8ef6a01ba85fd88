"""The webhooks' SQL: endpoints, deliveries, and the task rows the events are made of (revision 0009).

The secret of the settings' URLs (``STENOGRAPH_WEBHOOK_SECRET``) is kept in ``app_settings`` under
:data:`SETTINGS_SECRET_KEY` by the process that records a delivery to them, beside the endpoints' own
secrets: the worker that makes the delivery may have been started without the webhook settings (a
``stenograph worker`` apart from ``serve``), and signs with it all the same.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Engine, delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from stenograph import clock
from stenograph.db.models import (
    AppSetting,
    recordings_table,
    tasks_table,
    webhook_deliveries_table,
    webhook_endpoints_table,
)
from stenograph.errors import NotFoundError

E, D, T, R = webhook_endpoints_table, webhook_deliveries_table, tasks_table, recordings_table

#: A delivery's statuses: waiting for (another) attempt, answered 2xx, given up.
PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
#: ``app_settings`` key of the secret that signs deliveries to the settings' URLs.
SETTINGS_SECRET_KEY = "webhook_settings_secret"


def _endpoint(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "url": row.url,
        "secret": row.secret,
        "events": row.events,
        "include_transcript": bool(row.include_transcript),
        "description": row.description,
        "created_at": row.created_at,
    }


class WebhookStore:
    """Endpoints and deliveries on one engine. Methods taking ``conn`` run in the caller's transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # --- endpoints ---------------------------------------------------------------------------
    def create_endpoint(
        self, *, url: str, secret: str, events: list[str] | None, include_transcript: bool, description: str | None
    ) -> dict[str, Any]:
        values = {
            "url": url,
            "secret": secret,
            "events": events,
            "include_transcript": include_transcript,
            "description": description,
            "created_at": clock.now(),
        }
        with self.engine.begin() as conn:
            endpoint_id = conn.execute(insert(E).values(values).returning(E.c.id)).scalar_one()
        return self.endpoint(endpoint_id)

    def endpoints(self, conn: Connection | None = None) -> list[dict[str, Any]]:
        """Every stored endpoint, oldest first."""
        stmt = select(E).order_by(E.c.id)
        if conn is not None:
            return [_endpoint(row) for row in conn.execute(stmt)]
        with self.engine.connect() as own:
            return [_endpoint(row) for row in own.execute(stmt)]

    def endpoint(self, endpoint_id: int) -> dict[str, Any]:
        """Raises NotFoundError."""
        with self.engine.connect() as conn:
            row = conn.execute(select(E).where(E.c.id == endpoint_id)).first()
        if row is None:
            raise NotFoundError(f"no webhook endpoint {endpoint_id}")
        return _endpoint(row)

    def delete_endpoint(self, endpoint_id: int) -> None:
        """Delete it and its delivery log. Raises NotFoundError."""
        with self.engine.begin() as conn:
            conn.execute(delete(D).where(D.c.endpoint_id == endpoint_id))
            if conn.execute(delete(E).where(E.c.id == endpoint_id)).rowcount == 0:
                raise NotFoundError(f"no webhook endpoint {endpoint_id}")

    # --- deliveries --------------------------------------------------------------------------
    def add_delivery(
        self, conn: Connection, *, endpoint_id: int | None, url: str, event: str, payload: dict[str, Any]
    ) -> tuple[int, str]:
        """A pending delivery; returns its id and its message id (``msg_`` + 32 hex digits)."""
        now = clock.now()
        message_id = "msg_" + secrets.token_hex(16)
        values = {
            "endpoint_id": endpoint_id,
            "url": url,
            "message_id": message_id,
            "event": event,
            "payload": payload,
            "status": PENDING,
            "attempts": 0,
            "created_at": now,
            "updated_at": now,
        }
        delivery_id = conn.execute(insert(D).values(values).returning(D.c.id)).scalar_one()
        return int(delivery_id), message_id

    def keep_settings_secret(self, conn: Connection, secret: str) -> None:
        """Store the settings' secret for the workers that deliver (an upsert, written only when it changed,
        so that concurrent recorders neither wait on the row nor collide on its insert)."""
        stored = conn.execute(select(AppSetting.value).where(AppSetting.key == SETTINGS_SECRET_KEY)).scalar()
        if stored == secret:
            return
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        stmt = dialect.insert(AppSetting).values(key=SETTINGS_SECRET_KEY, value=secret)
        conn.execute(stmt.on_conflict_do_update(index_elements=[AppSetting.key], set_={"value": secret}))

    def settings_secret(self) -> str | None:
        """The secret the last delivery to a settings' URL was recorded with, None when none was."""
        with self.engine.connect() as conn:
            value = conn.execute(select(AppSetting.value).where(AppSetting.key == SETTINGS_SECRET_KEY)).scalar()
        return value if isinstance(value, str) and value else None

    def set_task(self, conn: Connection, delivery_id: int, task_id: int) -> None:
        conn.execute(update(D).where(D.c.id == delivery_id).values(task_id=task_id))

    def delivery(self, delivery_id: int) -> dict[str, Any]:
        """Raises NotFoundError."""
        with self.engine.connect() as conn:
            row = conn.execute(select(D).where(D.c.id == delivery_id)).mappings().first()
        if row is None:
            raise NotFoundError(f"no webhook delivery {delivery_id}")
        return dict(row)

    def deliveries(self, endpoint_id: int | None, *, limit: int = 100) -> list[dict[str, Any]]:
        """The newest deliveries of a stored endpoint, or of the settings' URLs (``endpoint_id`` None)."""
        where = D.c.endpoint_id.is_(None) if endpoint_id is None else D.c.endpoint_id == endpoint_id
        stmt = select(D).where(where).order_by(D.c.id.desc()).limit(limit)
        with self.engine.connect() as conn:
            return [dict(row) for row in conn.execute(stmt).mappings()]

    def record_attempt(
        self, delivery_id: int, *, attempt: int, status: str, response_status: int | None, error: str | None
    ) -> None:
        values = {
            "attempts": attempt,
            "status": status,
            "response_status": response_status,
            "error": error,
            "updated_at": clock.now(),
        }
        with self.engine.begin() as conn:
            conn.execute(update(D).where(D.c.id == delivery_id).values(values))

    # --- what the events are made of ---------------------------------------------------------
    def tasks(self, conn: Connection, ids: Sequence[int]) -> list[dict[str, Any]]:
        """Type, status, recording and error of the tasks ``ids``."""
        stmt = select(T.c.id, T.c.type, T.c.status, T.c.recording_id, T.c.error_kind, T.c.error_message)
        return [dict(row) for row in conn.execute(stmt.where(T.c.id.in_(list(ids)))).mappings()]

    def recording_steps(self, conn: Connection, recording_id: int) -> list[dict[str, Any]]:
        """Every task of a recording, in the order they were made."""
        stmt = select(T.c.id, T.c.type, T.c.status, T.c.error_kind, T.c.error_message)
        stmt = stmt.where(T.c.recording_id == recording_id).order_by(T.c.id)
        return [dict(row) for row in conn.execute(stmt).mappings()]

    def recording_row(self, conn: Connection, recording_id: int) -> dict[str, Any] | None:
        row = conn.execute(select(R.c.id, R.c.name).where(R.c.id == recording_id)).mappings().first()
        return None if row is None else dict(row)
