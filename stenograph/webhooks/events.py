"""Which webhook events tasks that ended raise, their payloads, and the deliveries they become.

:func:`on_tasks_finished` is the queue's ``on_finished`` hook (through the webhook step): it runs in the
transaction that ended the tasks, so a delivery is recorded and its ``webhook`` task enqueued exactly when
the ending is (none is lost to a crash in between). Events:

- ``task.failed``: a task failed for good (its attempts spent, or an error retrying cannot fix).
- ``recording.completed``: every task of a recording has ended and none failed (some completed).
  Cancelling raises no event: a task that ends cancelled does not call the hook (a deletion cancels the
  pending tasks of a recording, which must not look like its completion).
- ``recording.failed``: every task of a recording has ended and one failed (dependants that failed with
  it included).

Only pipeline tasks (:data:`stenograph.settings.PIPELINE_STEPS`) raise events and count for a recording's
completion: the standalone steps (``webhook`` deliveries, ``ask`` questions, which carry a recording id)
raise none, so a question asked about a recording does not look like its completion. The payload follows
the Standard Webhooks shape
``{"type", "timestamp", "data"}``; ``docs/webhooks.md`` documents it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from stenograph import clock
from stenograph.settings import PIPELINE_STEPS, Settings
from stenograph.webhooks.store import WebhookStore

if TYPE_CHECKING:
    from stenograph.queue.manager import TaskQueue

__all__ = [
    "EVENTS",
    "WEBHOOK_PRIORITY",
    "WEBHOOK_TASK",
    "Target",
    "enqueue_event",
    "event_payload",
    "on_tasks_finished",
    "targets",
]

EVENTS = ("recording.completed", "recording.failed", "task.failed")
#: The task type of deliveries (they raise no events themselves).
WEBHOOK_TASK = "webhook"
#: An event type only the 'send a test event' action sends.
TEST_EVENT = "webhook.test"
#: Priority of ``webhook`` tasks: above pipeline tasks (0), so a free slot takes a delivery before the
#: pipeline backlog waiting, and below interactive ones (:data:`~stenograph.steps.base.INTERACTIVE_PRIORITY`).
WEBHOOK_PRIORITY = 500

_ENDED = ("completed", "failed", "cancelled")


@dataclass(frozen=True)
class Target:
    """Where an event goes: a stored endpoint (``endpoint_id``) or a URL of the settings (None)."""

    endpoint_id: int | None
    url: str
    events: tuple[str, ...] | None  # None: every event


def targets(settings: Settings, store: WebhookStore, conn: Connection) -> list[Target]:
    """The settings' URLs, then the stored endpoints."""
    found = [Target(None, url, None) for url in settings.webhook_urls]
    for row in store.endpoints(conn):
        events = tuple(row["events"]) if row["events"] is not None else None
        found.append(Target(row["id"], row["url"], events))
    return found


def links(settings: Settings, recording_id: int) -> dict[str, str] | None:
    """Where the recording, its transcript and its summary are read: on ``server_url``
    (``STENOGRAPH_SERVER_URL``), else on the URL the server of this data directory published
    (``data_dir/server.json``, :mod:`stenograph.instance`), else None: a worker apart from the server does
    not know where it serves, and links made of its own host and port would point nowhere."""
    from stenograph.instance import running_url

    base = settings.server_url or running_url(settings.data_dir)
    if not base:
        return None
    base = base.rstrip("/")
    recording = f"{base}/recordings/{recording_id}"
    return {"recording": recording, "transcript": f"{recording}/transcript", "summary": f"{recording}/summary"}


def event_payload(event: str, data: dict[str, Any]) -> dict[str, Any]:
    """``{"type": event, "timestamp": now (ISO 8601, UTC), "data": data}``."""
    return {"type": event, "timestamp": clock.now().isoformat().replace("+00:00", "Z"), "data": data}


def _step(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "task_id": row["id"],
        "type": row["type"],
        "status": row["status"],
        "error_kind": row["error_kind"],
        "error_message": row["error_message"],
    }


def _recording_data(
    settings: Settings, store: WebhookStore, conn: Connection, recording_id: int
) -> dict[str, Any] | None:
    recording = store.recording_row(conn, recording_id)
    if recording is None:
        return None
    rows = store.recording_steps(conn, recording_id)
    steps = [_step(row) for row in rows if row["type"] in PIPELINE_STEPS]
    return {"recording": recording, "steps": steps, "links": links(settings, recording_id)}


def recording_event(steps: Sequence[dict[str, Any]]) -> str | None:
    """The event of a recording whose tasks are ``steps``: None while one has not ended (or all were
    cancelled)."""
    if not steps or any(step["status"] not in _ENDED for step in steps):
        return None
    if any(step["status"] == "failed" for step in steps):
        return "recording.failed"
    if any(step["status"] == "completed" for step in steps):
        return "recording.completed"
    return None


def on_tasks_finished(queue: TaskQueue, conn: Connection, ids: Sequence[int]) -> None:
    """Record the events that the ending of tasks ``ids`` raises, and enqueue their deliveries (in
    ``conn``'s transaction). Does nothing when no endpoint is configured."""
    store = WebhookStore(queue.engine)
    found = targets(queue.settings, store, conn)
    if not found:
        return
    ended = [task for task in store.tasks(conn, ids) if task["type"] in PIPELINE_STEPS]
    events: list[tuple[str, dict[str, Any]]] = []
    for task in ended:
        if task["status"] == "failed":
            data: dict[str, Any] = {"recording": None, "steps": [], "links": None}
            if task["recording_id"] is not None:
                data.update(_recording_data(queue.settings, store, conn, task["recording_id"]) or {})
            events.append(("task.failed", {**data, "task": _step(task)}))
    for recording_id in sorted({task["recording_id"] for task in ended if task["recording_id"] is not None}):
        recording = _recording_data(queue.settings, store, conn, recording_id)
        event = recording_event(recording["steps"]) if recording else None
        if recording is not None and event is not None:
            events.append((event, recording))
    for event, data in events:
        enqueue_event(queue, store, conn, found, event, data)
    if events:
        queue.notify()


def enqueue_event(
    queue: TaskQueue,
    store: WebhookStore,
    conn: Connection,
    found: Sequence[Target],
    event: str,
    data: dict[str, Any],
) -> list[int]:
    """One delivery and one ``webhook`` task per target that wants ``event`` (a test event goes to the
    targets given whatever they want). Returns the deliveries' ids."""
    payload = event_payload(event, data)
    secret = queue.settings.webhook_secret
    if secret and any(target.endpoint_id is None for target in found):
        store.keep_settings_secret(conn, secret)  # for a worker started without it
    ids: list[int] = []
    for target in found:
        if event != TEST_EVENT and target.events is not None and event not in target.events:
            continue
        delivery_id, _ = store.add_delivery(
            conn, endpoint_id=target.endpoint_id, url=target.url, event=event, payload=payload
        )
        task = queue.enqueue(
            WEBHOOK_TASK,
            {"delivery_id": delivery_id},
            priority=WEBHOOK_PRIORITY,
            max_attempts=queue.settings.webhook_max_attempts,
            conn=conn,
        )
        store.set_task(conn, delivery_id, task.id)
        ids.append(delivery_id)
    return ids
