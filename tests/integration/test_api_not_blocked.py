"""The API never blocks on a file: while an upload is being probed, other requests are answered.

The real app runs in uvicorn on a free port (in this process, so the probe can be held); the probe waits on
an event, so the test knows the upload is inside it, with no timing threshold. SQLite and PostgreSQL.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from stenograph.api import create_app
from stenograph.service import recordings
from stenograph.settings import Settings
from tests.audio_factory import AudioFactory
from tests.helpers import serve_app, wait_for


@pytest.fixture
def server_url(settings: Settings) -> Iterator[str]:
    with serve_app(create_app(settings)) as url:
        yield url


def hold_probe(monkeypatch: pytest.MonkeyPatch) -> tuple[threading.Event, threading.Event]:
    """Make the upload's probe wait: (set once the probe is entered, set by the test to let it go on)."""
    started, release = threading.Event(), threading.Event()
    real_probe = recordings.probe_upload

    def held_probe(path: Path) -> Any:
        started.set()
        assert release.wait(60), "the test never released the probe"
        return real_probe(path)

    monkeypatch.setattr(recordings, "probe_upload", held_probe)
    return started, release


def test_health_answers_while_an_upload_is_probed(
    server_url: str, audio: AudioFactory, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    started, release = hold_probe(monkeypatch)
    speech = audio.make("wav_s16_16k").read_bytes()
    answers: list[httpx.Response] = []

    def send() -> None:
        files = [("file", ("held.wav", speech))]
        answers.append(httpx.post(f"{server_url}/recordings", files=files, timeout=60))

    uploader = threading.Thread(target=send)
    uploader.start()
    try:
        assert started.wait(30), "the upload never reached the probe"
        health = httpx.get(f"{server_url}/health", timeout=5)
        assert health.status_code == 200 and health.json()["status"] == "ok"
        listing = httpx.get(f"{server_url}/recordings", timeout=5)
        assert listing.status_code == 200 and listing.json()["count"] == 0
        assert uploader.is_alive() and not answers  # the probe is still held
    finally:
        release.set()
        uploader.join(60)
    assert len(answers) == 1 and answers[0].status_code == 201, answers
    assert answers[0].json()["data"][0]["name"] == "held.wav"


def test_health_answers_while_an_openai_transcription_is_probed(
    server_url: str, audio: AudioFactory, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from stenograph.api.routes import openai_compat

    started, release = hold_probe(monkeypatch)
    monkeypatch.setattr(openai_compat, "any_worker_live", lambda state: True)
    speech = audio.make("wav_s16_16k").read_bytes()
    answers: list[httpx.Response] = []

    def send() -> None:
        files = [("file", ("held.wav", speech))]
        answers.append(httpx.post(f"{server_url}/v1/audio/transcriptions", files=files, timeout=60))

    uploader = threading.Thread(target=send)
    uploader.start()
    try:
        assert started.wait(30), "the upload never reached the probe"
        health = httpx.get(f"{server_url}/health", timeout=5)
        assert health.status_code == 200 and not answers
    finally:
        release.set()
    # No worker runs here: cancel the queued task, and the waiting request answers.
    task = wait_for(lambda: httpx.get(f"{server_url}/tasks", timeout=5).json()["data"], what="the task")[0]
    assert httpx.post(f"{server_url}/tasks/{task['id']}/cancel", timeout=5).status_code == 200
    uploader.join(60)
    assert len(answers) == 1 and "cancelled" in answers[0].json()["error"]["message"], answers
