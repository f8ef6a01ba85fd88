"""``POST /tasks/test/{type}``: the API's simulated task takes how long and whether it fails, nothing that
reaches a worker's disk or process (witness files, crashes). Runs on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from stenograph.api import create_app
from stenograph.settings import Settings


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings), base_url="http://localhost") as client:
        yield client


def test_a_test_task_simulates_only_time_and_failure(client: TestClient) -> None:
    created = client.post("/tasks/test/summary", json={"seconds": 2, "fail": "permanent", "priority": -5})
    assert created.status_code == 201, created.text
    task = created.json()
    assert task["params"] == {"simulate": {"seconds": 2.0, "fail": "permanent"}} and task["priority"] == -5
    assert client.post("/tasks/test/transcription").json()["params"] == {"simulate": {"seconds": 3.0, "fail": False}}


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"seconds": 0, "witness": "/etc/passwd"}, "witness"),
        ({"seconds": 0, "crash": True}, "crash"),
        ({"seconds": 0, "cpu_bound": True}, "cpu_bound"),
        ({"seconds": 0, "ignore_cancel": True}, "ignore_cancel"),
        ({"seconds": 3601}, "3600"),
        ({"seconds": -1}, "seconds"),
    ],
)
def test_any_other_simulation_knob_is_refused(client: TestClient, body: dict[str, object], words: str) -> None:
    refused = client.post("/tasks/test/transcription", json=body)
    assert refused.status_code == 422, refused.text
    detail = refused.json()["detail"]
    assert detail["code"] == "invalid_request" and words in detail["message"]
    assert client.get("/tasks").json()["count"] == 0
