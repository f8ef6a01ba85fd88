"""A re-run correction starts from a person's edit (the newest ``original`` or ``edited`` version), so the
"latest" transcript keeps the edit. Glossary-only correction (``llm: none``); SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from stenograph.api import create_app
from stenograph.recordings.store import TranscriptStore
from stenograph.settings import Settings
from stenograph.steps.correction.step import run_correction
from stenograph.transcript.types import Segment
from tests.audio_factory import AudioFactory


@dataclass
class Context:
    """A task context for calling a handler in the test's process."""

    task_id: int
    settings: Settings
    task_type: str = "correction"
    attempt: int = 1
    cancelled: bool = False

    def report_progress(self, fraction: float, message: str = "", eta_s: float | None = None) -> None:
        pass

    def raise_if_cancelled(self) -> None:
        pass


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings), base_url="http://localhost") as client:
        yield client


def rerun_correction(client: TestClient, settings: Settings, recording_id: int) -> dict[str, Any]:
    task = client.post(f"/recordings/{recording_id}/steps/correction", json={"glossary": ["Kubernetes"]})
    assert task.status_code == 201, task.text
    body = task.json()
    run_correction(Context(task_id=body["id"], settings=settings), body["params"])
    client.post(f"/tasks/{body['id']}/cancel")  # run here, not by a worker: out of the queue (no re-run waits)
    latest = client.get(f"/recordings/{recording_id}/transcript").json()
    assert latest["version"]["kind"] == "corrected"
    return latest  # type: ignore[no-any-return]


def test_a_rerun_correction_keeps_the_edit(client: TestClient, audio: AudioFactory, settings: Settings) -> None:
    speech = audio.make("wav_s16_16k").read_bytes()
    response = client.post("/recordings", files=[("file", ("a.wav", speech))], data={"steps": "transcription"})
    recording_id = response.json()["data"][0]["id"]
    store = TranscriptStore(client.app.state.stenograph.engine)  # type: ignore[attr-defined]
    segments = [Segment(0, 0.0, 1.5, "we run kubernets"), Segment(1, 2.0, 3.5, "the budget is fine")]
    store.create_version(recording_id, "original", segments, task_id=None, language="en", info={"duration_s": 4.0})
    first = rerun_correction(client, settings, recording_id)
    assert [s["text"] for s in first["segments"]] == ["we run Kubernetes", "the budget is fine"]
    assert first["version"]["number"] == 2
    edit = client.patch(f"/recordings/{recording_id}/transcript/segments/1", json={"text": "the budget is late"})
    assert edit.status_code == 200 and edit.json()["version"]["kind"] == "edited"
    again = rerun_correction(client, settings, recording_id)
    assert [s["text"] for s in again["segments"]] == ["we run Kubernetes", "the budget is late"]
    source = store.pick_version(recording_id, "latest").info["source_version"]
    assert source == edit.json()["version"]["number"] == 3
