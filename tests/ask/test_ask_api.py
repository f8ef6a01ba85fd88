"""The ask API on a real server (uvicorn in this process): a question becomes an interactive ask task, its
partial answer arrives as server-sent events and then the verified answer, closing the stream cancels the
task, and the API answers other requests while a question is being answered. The task runs in this
process's runner (as a worker's slot would run it) with a scripted LLM held piece by piece, so the test
knows where the answer stands without timing. SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from stenograph.api import create_app
from stenograph.service import Stenograph
from stenograph.settings import Settings
from stenograph.steps.base import INTERACTIVE_PRIORITY
from tests.ask.fakes import StreamingLLM, honest_responder
from tests.ask.runner import answer_one
from tests.helpers import serve_app, wait_for
from tests.steps.conftest import segments

MEETING = segments(
    (0.0, 5.0, "good morning everyone let us start with the agenda"),
    (71.0, 78.0, "the marketing budget for next year is forty thousand euros"),
    (78.0, 84.0, "Anna will send the figures to the board on friday"),
)


@pytest.fixture
def service(settings: Settings) -> Iterator[Stenograph]:
    with Stenograph(settings) as service:
        yield service


@pytest.fixture
def server_url(settings: Settings, service: Stenograph) -> Iterator[str]:
    with serve_app(create_app(settings)) as url:
        yield url


def held_answerer(service: Stenograph, settings: Settings) -> tuple[threading.Event, StreamingLLM, threading.Thread]:
    """(gate, LLM, runner): a runner for the next ask task whose LLM answers with the "anna" segment in pieces,
    each after the first waiting until the test sets ``gate``."""
    gate = threading.Event()
    llm = StreamingLLM(responder=honest_responder("anna"), gate=gate)
    return gate, llm, answer_one(service.queue, settings, service.store, llm)


@pytest.fixture
def recording_id(service: Stenograph) -> int:
    rid = service.store.create_recording(
        name="planning.wav", stored_name="planning", size_bytes=1, duration_s=84.0, media={}, options={}
    )
    service.store.create_version(rid, "original", MEETING, task_id=None, language="en", info={})
    return rid


def sse_events(response: httpx.Response) -> Iterator[tuple[str, Any]]:
    """(event, data as JSON) of a server-sent event stream, as they come."""
    event, data = "message", []
    for line in response.iter_lines():
        if line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].strip())
        elif not line and data:
            yield event, json.loads("\n".join(data))
            event, data = "message", []


def test_the_answer_streams_while_the_api_answers_other_requests(
    server_url: str, service: Stenograph, settings: Settings, recording_id: int
) -> None:
    gate, _llm, runner = held_answerer(service, settings)
    with httpx.Client(base_url=server_url, timeout=30) as client:
        created = client.post(f"/recordings/{recording_id}/ask", json={"question": "Who sends the figures?"})
        assert created.status_code == 201, created.text
        task = created.json()["task"]
        assert (task["type"], task["recording_id"], task["priority"]) == ("ask", recording_id, INTERACTIVE_PRIORITY)
        partials: list[str] = []
        with client.stream("GET", created.json()["events"]) as stream:
            for event, data in sse_events(stream):
                if event == "partial":
                    if not partials:  # the model is held in the middle of its answer: other requests go on
                        assert client.get("/health").status_code == 200
                        assert client.get("/recordings").json()["count"] == 1
                        assert client.get(f"/tasks/{task['id']}").json()["status"] == "running"
                    partials.append(data["text"])
                    gate.set()
                else:
                    break
        assert event == "answer", (event, data)
    runner.join(30)
    assert len(partials) >= 2 and all(b.startswith(a) for a, b in itertools.pairwise(partials))
    assert data["answer"].startswith(partials[0].strip()) and "[01:18]" in data["answer"]
    assert data["found"] is True and [c["timestamp"] for c in data["citations"]] == ["01:18"]


def test_closing_the_stream_cancels_the_question(
    server_url: str, service: Stenograph, settings: Settings, recording_id: int
) -> None:
    gate, llm, runner = held_answerer(service, settings)
    with httpx.Client(base_url=server_url, timeout=30) as client:
        created = client.post(f"/recordings/{recording_id}/ask", json={"question": "Who sends the figures?"}).json()
        task_id = created["task"]["id"]
        with client.stream("GET", created["events"]) as stream:
            event, _data = next(sse_events(stream))
            assert event == "partial"
        # The stream is closed while the model is held after its first piece.
        wait_for(lambda: service.queue.get(task_id).cancel_requested, what="the cancel request")
        gate.set()
        runner.join(30)
        task = client.get(f"/tasks/{task_id}").json()
    assert task["status"] == "cancelled" and llm.pieces_sent == 2


def test_a_library_question_and_the_refusals(
    server_url: str, service: Stenograph, settings: Settings, recording_id: int
) -> None:
    llm = StreamingLLM(responder=honest_responder("forty thousand"))
    runner = answer_one(service.queue, settings, service.store, llm)
    with httpx.Client(base_url=server_url, timeout=30) as client:
        created = client.post("/ask", json={"question": "How many euros is the marketing budget?"})
        assert created.status_code == 201 and created.json()["task"]["recording_id"] is None
        with client.stream("GET", created.json()["events"]) as stream:
            final = next((e, d) for e, d in sse_events(stream) if e != "partial")
        assert final[0] == "answer" and f"[#{recording_id} 01:11]" in final[1]["answer"]
        assert final[1]["citations"][0]["recording_name"] == "planning.wav"
        state = client.get(f"/ask/{created.json()['task']['id']}").json()  # the same, for a client that polls
        assert state["answer"] == final[1] and state["task"]["status"] == "completed" and state["partial"] == ""
        assert client.post("/recordings/999/ask", json={"question": "anything?"}).status_code == 404
        assert client.post(f"/recordings/{recording_id}/ask", json={"question": "   "}).status_code == 422
        assert client.get("/ask/999/events").status_code == 404
        assert client.get("/ask/999").status_code == 404
        # A question about a recording is a task of the recording, not one of its steps.
        assert client.post(f"/recordings/{recording_id}/ask", json={"question": "who?"}).status_code == 201
        shown = client.get(f"/recordings/{recording_id}").json()
        assert "ask" not in shown["steps"] and "ask" in {t["type"] for t in shown["tasks"]}
        operations = {
            op["operationId"] for path in client.get("/openapi.json").json()["paths"].values() for op in path.values()
        }
        assert {"ask_recording", "ask_library", "ask_events", "get_question"} <= operations
    runner.join(30)


def test_a_question_of_control_characters_is_empty_and_one_holding_some_is_stored_clean(
    settings: Settings, service: Stenograph, recording_id: int
) -> None:
    from fastapi.testclient import TestClient

    with TestClient(create_app(settings), base_url="http://localhost") as client:
        for question in ("\u0000\u0001", " \u0007\t\u200b ", "   "):
            refused = client.post(f"/recordings/{recording_id}/ask", json={"question": question})
            assert refused.status_code == 422 and refused.json()["detail"]["code"] == "empty_question", question
        refused = client.post("/ask", json={"question": "\u0000"})
        assert refused.status_code == 422 and refused.json()["detail"]["code"] == "empty_question"
        created = client.post(f"/recordings/{recording_id}/ask", json={"question": "who\u0000 sends\u0001the figures?"})
        assert created.status_code == 201
    assert service.queue.get(created.json()["task"]["id"]).params["question"] == "who sends the figures?"
