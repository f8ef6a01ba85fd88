"""The service layer under the API: a fixed number of statements per recordings page, every route typed
in the OpenAPI document with today's operation ids, and the actions of each task decided by the server.
Runs on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event

from stenograph.api import create_app
from stenograph.service import Stenograph
from stenograph.settings import Settings

#: Every operation of the API, as named since the first release (clients generate code from them).
OPERATION_IDS = {
    "ask_recording",
    "get_watch_folders",
    "set_watch_folders",
    "ask_library",
    "ask_events",
    "get_question",
    "create_test_task",
    "list_tasks",
    "get_task",
    "cancel_task",
    "retry_task",
    "delete_task",
    "health",
    "list_workers",
    "metrics",
    "events",
    "upload_recordings",
    "list_recordings",
    "get_recording",
    "get_recording_media",
    "delete_recording",
    "rerun_step",
    "get_transcript",
    "list_transcript_versions",
    "get_transcript_diff",
    "edit_segment",
    "set_speakers",
    "merge_speakers",
    "move_segment_speaker",
    "get_summary",
    "get_glossary",
    "set_glossary",
    "get_llm_settings",
    "create_webhook",
    "list_webhooks",
    "delete_webhook",
    "list_webhook_deliveries",
    "list_settings_webhook_deliveries",
    "test_webhook",
    "list_speaker_profiles",
    "get_speaker_profile",
    "rename_speaker_profile",
    "merge_speaker_profiles",
    "delete_speaker_profile",
    "openai_list_models",
    "openai_create_transcription",
    "openai_create_translation",
    "login",
}


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings), base_url="http://localhost") as client:
        yield client


def service_of(client: TestClient) -> Stenograph:
    service: Stenograph = client.app.state.stenograph  # type: ignore[attr-defined]
    return service


def add_recordings(service: Stenograph, count: int) -> None:
    """``count`` recordings, each with a transcription and a summary task."""
    for number in range(count):
        recording_id = service.store.create_recording(
            name=f"r{number}.wav", stored_name=f"s{number}", size_bytes=1, duration_s=1.0, media={}, options={}
        )
        first = service.queue.enqueue("transcription", {"recording_id": recording_id}, recording_id=recording_id)
        service.queue.enqueue("summary", {"recording_id": recording_id}, recording_id=recording_id, depends_on=first.id)


def statements(service: Stenograph, call: Any) -> tuple[int, Any]:
    """How many SQL statements ``call()`` executes, and what it returns."""
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(service.engine, "before_cursor_execute", count)
    try:
        result = call()
    finally:
        event.remove(service.engine, "before_cursor_execute", count)
    return len(seen), result


def test_listing_recordings_costs_the_same_statements_whatever_the_page_size(client: TestClient) -> None:
    service = service_of(client)
    add_recordings(service, 60)
    small, answer = statements(service, lambda: client.get("/recordings", params={"limit": 5}))
    assert answer.status_code == 200 and len(answer.json()["data"]) == 5
    large, answer = statements(service, lambda: client.get("/recordings", params={"limit": 50}))
    page = answer.json()
    assert len(page["data"]) == 50 and page["count"] == 60
    assert all(r["steps"] == {"transcription": "pending", "summary": "pending"} for r in page["data"])
    assert small == large, (small, large)
    searched, _ = statements(service, lambda: client.get("/recordings", params={"limit": 50, "q": "wav"}))
    assert searched == large
    few, _ = statements(service, lambda: service.list_recordings(limit=5))
    many, (views, count) = statements(service, lambda: service.list_recordings(limit=50))
    assert few == many and len(views) == 50 and count == 60  # the count, the page, the tasks of the page


def test_every_route_has_a_response_schema_and_its_operation_id(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    operations = [op for path in document["paths"].values() for op in path.values()]
    assert {op["operationId"] for op in operations} == OPERATION_IDS
    assert len(operations) == len(OPERATION_IDS)
    for op in operations:
        name = op["operationId"]
        successes = {code: answer for code, answer in op["responses"].items() if code.startswith("2")}
        assert successes, name
        for code, answer in successes.items():
            if code == "204":
                continue
            content = answer.get("content")
            assert content, (name, code)
            assert all(kind.get("schema") for kind in content.values() if kind), (name, code, content)
    schemas = document["components"]["schemas"]
    for name in ("TaskPublic", "TaskDetail", "TaskList", "RecordingList", "TranscriptPublic", "ErrorBody"):
        assert name in schemas, name
    assert set(schemas["TaskList"]["properties"]) == {"data", "count"}
    assert schemas["TaskPublic"]["properties"]["actions"]["items"]["enum"] == ["cancel", "retry", "delete"]
    listing = document["paths"]["/tasks"]["get"]["responses"]
    assert listing["200"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/TaskList"}
    assert listing["422"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorBody"}


def test_each_task_carries_the_actions_its_status_allows(client: TestClient) -> None:
    queue = service_of(client).queue

    def actions(task_id: int) -> list[str]:
        shown = client.get(f"/tasks/{task_id}").json()
        listed = [t for t in client.get("/tasks").json()["data"] if t["id"] == task_id]
        assert listed[0]["actions"] == shown["actions"]
        return list(shown["actions"])

    def new_task() -> int:
        created = client.post("/tasks/test/summary", json={"seconds": 0})
        assert created.status_code == 201 and created.json()["actions"] == ["cancel", "delete"]
        return int(created.json()["id"])

    pending = new_task()
    assert actions(pending) == ["cancel", "delete"]
    cancelled = client.post(f"/tasks/{pending}/cancel").json()
    assert cancelled["status"] == "cancelled" and cancelled["actions"] == ["retry", "delete"]
    retried = client.post(f"/tasks/{pending}/retry").json()
    assert retried["status"] == "pending" and retried["actions"] == ["cancel", "delete"]
    claimed = queue.claim("w")
    assert claimed is not None and claimed.id == pending
    assert actions(pending) == ["cancel"]
    queue.complete(pending, "w", claimed.attempts, None)
    assert actions(pending) == ["delete"]
    failing = new_task()
    claimed = queue.claim("w")
    assert claimed is not None and claimed.id == failing
    queue.fail(failing, "w", claimed.attempts, kind="boom", message="it broke", retryable=False)
    assert actions(failing) == ["retry", "delete"]
