"""Taking back running tasks whose lease ran out (their worker died or stalled), as functions over a
connection; every change goes through :func:`~stenograph.queue.transitions.transition`, guarded too by the
lease having expired and the attempt the expiry saw (a renewal or a finish in between wins)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_

from stenograph.errors import TransitionError
from stenograph.queue.dependencies import cascade
from stenograph.queue.driver import DriverSQL
from stenograph.queue.records import TaskRecord
from stenograph.queue.statements import T
from stenograph.queue.states import TaskStatus
from stenograph.queue.transitions import Values, finished, reset_run_values, transition

log = logging.getLogger("stenograph.queue")
P, F, X = TaskStatus.PENDING, TaskStatus.FAILED, TaskStatus.CANCELLED


def never_started(row: Any) -> bool:
    """Whether an expired task (a row of :data:`~stenograph.queue.statements.SELECT_EXPIRED`) goes back
    uncharged: its worker had not started it (a batch's later task), and no cancel was requested."""
    return row.started_at is None and not row.cancel_requested


def expire_started(conn: Connection, driver: DriverSQL, row: Any, now: datetime) -> TaskRecord | None:
    """Take back one started task whose lease expired: cancelled (a cancel was requested), failed
    (``lease_expired``: attempts exhausted) or pending again, the attempt counted. None: it was renewed or
    finished in the meantime."""
    lost = f"worker {row.worker_id} stopped renewing the lease of attempt {row.attempts} (it died or stalled)"
    guard = and_(T.c.lease_expires_at < now, T.c.attempts == row.attempts)
    try:
        if row.cancel_requested:
            record = transition(conn, driver, row.id, X, finished(now), extra=guard, message=lost)
            cascade(conn, driver, record, now)
        elif row.attempts >= row.max_attempts:
            message = f"{lost}; attempts exhausted ({row.attempts}/{row.max_attempts})"
            values: Values = finished(now, error_kind="lease_expired", error_message=message)
            record = transition(conn, driver, row.id, F, values, extra=guard, message=message)
            cascade(conn, driver, record, now)
        else:
            values = {**reset_run_values(), "run_after": now, "error_kind": "lease_expired", "error_message": lost}
            record = transition(conn, driver, row.id, P, values, extra=guard, message=lost)
    except TransitionError:
        return None
    log.warning("task %s %s: %s -> %s", record.id, record.type, lost, record.status)
    return record


def expire_unstarted(conn: Connection, driver: DriverSQL, rows: Sequence[Any], now: datetime) -> list[TaskRecord]:
    """Give back expired tasks that never started: pending, the attempt not counted, their place in line kept."""
    changed: list[TaskRecord] = []
    for row in rows:
        guard = and_(T.c.lease_expires_at < now, T.c.attempts == row.attempts, T.c.started_at.is_(None))
        message = (
            f"worker {row.worker_id} stopped renewing its lease before the task started; back in line, "
            "the attempt not counted"
        )
        values = {**reset_run_values(), "attempts": T.c.attempts - 1}
        try:
            changed.append(transition(conn, driver, row.id, P, values, extra=guard, message=message))
        except TransitionError:
            continue
    if changed:
        log.warning(
            "%d task(s) of worker %s given back uncharged: its lease expired before they started (%s%s)",
            len(changed),
            rows[0].worker_id,
            ", ".join(str(r.id) for r in changed[:5]),
            ", ..." if len(changed) > 5 else "",
        )
    return changed
