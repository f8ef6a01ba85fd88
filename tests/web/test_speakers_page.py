"""The recording page with diarized speakers: a colour per speaker, overlap marked, the transcript filtered by
speaker, talk time, inline rename (every version), moving a segment and merging two speakers (new versions).

The recording is transcribed by the real server; its ``speakers`` version is written into the server's
database here (no diarization engine at test time), as the speakers step would write it."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from stenograph.db import create_db_engine
from stenograph.recordings.store import TranscriptStore
from stenograph.settings import build_settings
from stenograph.transcript.types import Segment

from .conftest import Server, Watched

pytestmark = pytest.mark.web

TRANSCRIPTION_DEADLINE_S = 240.0
SPEAKERS = [
    Segment(0, 0.0, 1.0, "the quick brown fox", speaker_label="Speaker 1"),
    Segment(1, 1.0, 2.5, "jumps over", speaker_label="Speaker 2", overlap=True),
    Segment(2, 2.5, 3.0, "the lazy dog", speaker_label="Speaker 1"),
]


@pytest.fixture
def diarized(server: Server, espeak_wav: Path) -> int:
    """A recording transcribed by the server, then given a ``speakers`` version of three segments."""
    with server.client() as client, espeak_wav.open("rb") as f:
        response = client.post("/recordings", files={"file": (espeak_wav.name, f)}, data={"steps": "transcription"})
        assert response.status_code == 201, response.text
        recording_id = int(response.json()["data"][0]["id"])
        deadline = time.monotonic() + TRANSCRIPTION_DEADLINE_S
        while client.get(f"/recordings/{recording_id}").json()["steps"].get("transcription") != "completed":
            assert time.monotonic() < deadline, server.log_tail()
            time.sleep(0.5)  # polling the server's queue, not synchronising the browser
    engine = create_db_engine(build_settings(data_dir=server.data_dir))
    try:
        TranscriptStore(engine).create_version(
            recording_id,
            "speakers",
            SPEAKERS,
            task_id=None,
            language="en",
            info={"speakers": ["Speaker 1", "Speaker 2"]},
        )
    finally:
        engine.dispose()
    return recording_id


def speaker_texts(page: Any) -> list[str]:
    return [t.strip() for t in page.get_by_test_id("segment-speaker").all_inner_texts()]


def test_speakers_are_coloured_filtered_renamed_moved_and_merged(web: Watched, server: Server, diarized: int) -> None:
    page = web.page
    web.goto(f"#/recordings/{diarized}")
    expect(page.get_by_test_id("segment")).to_have_count(3)
    labels = page.get_by_test_id("segment-speaker")
    expect(labels.nth(0)).to_have_class("speaker spk-0")
    expect(labels.nth(1)).to_have_class("speaker spk-1")
    expect(labels.nth(1)).to_contain_text("(overlap)")
    colours = [labels.nth(i).evaluate("(e) => getComputedStyle(e).color") for i in range(3)]
    assert colours[0] == colours[2] != colours[1]  # one colour per speaker

    page.get_by_test_id("speaker-filter").select_option("Speaker 2")
    expect(page.get_by_test_id("segment")).to_have_count(1)
    page.get_by_test_id("speaker-filter").select_option("")
    expect(page.get_by_test_id("segment")).to_have_count(3)

    page.get_by_test_id("speakers-toggle").click()
    talk = page.locator('[data-testid="speaker-row"][data-label="Speaker 1"] [data-testid="talk-time"]')
    expect(talk).to_contain_text("1.5 s")
    page.get_by_test_id("speaker-Speaker 2").fill("Dana")
    page.get_by_role("button", name="Save names").click()
    expect(labels.nth(1)).to_contain_text("Dana")

    page.locator('[data-testid="segment-move"][data-index="0"]').select_option("Speaker 2")
    expect(labels.nth(0)).to_contain_text("Dana")
    page.get_by_test_id("speakers-toggle").click()
    page.get_by_test_id("merge-into-Speaker 2").select_option("Speaker 1")
    page.get_by_test_id("merge-Speaker 2").click()
    expect(page.get_by_test_id("segment-speaker").filter(has_text="Dana")).to_have_count(0)
    expect(page.get_by_test_id("segment")).to_have_count(3)

    with server.client() as client:
        versions = client.get(f"/recordings/{diarized}/transcript/versions").json()["data"]
        latest = client.get(f"/recordings/{diarized}/transcript").json()
    assert [v["kind"] for v in versions] == ["original", "speakers", "edited", "edited"]
    assert [(s["start"], s["speaker_label"]) for s in latest["segments"]] == [
        (0.0, "Speaker 1"),
        (1.0, "Speaker 1"),
        (2.5, "Speaker 1"),
    ]
    assert web.errors_except() == []
