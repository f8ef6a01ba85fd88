"""The OpenAI-compatible routes answer as soon as their text is final: they enqueue only the steps whose
text they return, and those are claimed before the pipeline backlog (an earlier upload's correction and
summary, minutes of LLM work), since a client is waiting on the connection."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from stenograph.api import create_app
from stenograph.queue import TaskQueue
from stenograph.recordings.store import TranscriptStore
from stenograph.settings import Settings
from stenograph.steps.diarization.fake import ScriptedDiarizer
from stenograph.transcript.types import Segment
from tests.audio_factory import AudioFactory
from tests.helpers import wait_for
from tests.steps.conftest import run_claimed_here

SEGMENTS = [Segment(0, 0.0, 1.5, "good morning"), Segment(1, 1.5, 3.0, "and goodbye")]


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings), base_url="http://localhost") as client:
        yield client


@pytest.mark.parametrize("route", ["transcriptions", "translations"])
def test_the_openai_route_is_answered_before_the_llm_backlog(
    client: TestClient, audio: AudioFactory, settings: Settings, route: str
) -> None:
    service = client.app.state.stenograph  # type: ignore[attr-defined]
    queue: TaskQueue = service.queue
    store = TranscriptStore(service.engine)
    queue.register_worker("w", "here", 1, 1)  # a live worker: the route takes the request
    speech = audio.make("wav_s16_16k").read_bytes()
    earlier = client.post(
        "/recordings", files=[("file", ("earlier.wav", speech))], data={"steps": "transcription,correction,summary"}
    )
    assert earlier.status_code == 201, earlier.text
    first = queue.claim("w")
    assert first is not None and first.type == "transcription"
    run_claimed_here(queue, store, settings, first, segments=SEGMENTS, diarizer=ScriptedDiarizer([]))
    # The backlog: the earlier upload's correction is runnable, its summary follows it.
    answers: dict[str, Any] = {}
    data = {"model": "base"} if route == "translations" else {"model": "whisper-1"}

    def call() -> None:
        answers["answer"] = client.post(f"/v1/audio/{route}", files={"file": ("a.wav", speech)}, data=data)

    caller = threading.Thread(target=call)
    caller.start()
    try:
        ours = wait_for(
            lambda: [t for t in queue.list_tasks(type="transcription")[0] if t.recording_id != first.recording_id],
            timeout=60,
            what="the route's transcription task",
        )
        claimed = queue.claim("w")
        assert claimed is not None and claimed.id == ours[0].id, claimed  # before the pending correction
        if route == "translations":
            version_kind = "translation"
            recording_id = claimed.params["recording_id"]
            store.create_version(recording_id, version_kind, SEGMENTS, task_id=claimed.id, language="en", info={})
            queue.complete(claimed.id, "w", claimed.attempts, {})
        else:
            run_claimed_here(queue, store, settings, claimed, segments=SEGMENTS, diarizer=ScriptedDiarizer([]))
        caller.join(60)
        assert not caller.is_alive(), "the answer waited for more than its transcription"
    finally:
        for task in queue.list_tasks(status="pending")[0]:  # a failure above: let the route answer
            if task.type == "transcription":
                queue.cancel(task.id)
        caller.join(60)
    answer = answers["answer"]
    assert answer.status_code == 200, answer.text
    assert answer.json()["text"] == "good morning and goodbye"
    theirs = [
        t.type for t in queue.tasks_of_recordings([claimed.params["recording_id"]])[claimed.params["recording_id"]]
    ]
    assert theirs == ["transcription"]  # only what the answer returns
    assert queue.get(ours[0].id).status == "completed"
    backlog = [t for t in queue.list_tasks(status="pending")[0] if t.type in ("correction", "summary")]
    assert sorted(t.type for t in backlog) == ["correction", "summary"]  # still waiting, not ahead of it
