"""The Settings page's voice profiles: listed with their counts, renamed, merged and deleted (its voice with it);
the recording page's speakers panel showing a profile's match. The profiles and versions are written into the
server's database here, as a rename of a diarized speaker and the speakers step would write them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from stenograph.db import create_db_engine
from stenograph.recordings.profiles import ProfileStore, VoiceKey
from stenograph.recordings.store import TranscriptStore
from stenograph.settings import build_settings

from .conftest import Server, Watched
from .test_speakers_page import SPEAKERS, diarized

__all__ = ["diarized"]  # the fixture: a transcribed recording with a speakers version

MATCH = {"profile_id": 1, "name": "Page Eve", "confidence": 0.9134}

pytestmark = pytest.mark.web


@pytest.fixture
def voices(server: Server) -> Iterator[ProfileStore]:
    engine = create_db_engine(build_settings(data_dir=server.data_dir))
    store = ProfileStore(engine)
    for number, name in enumerate(("Page Dana", "Page D.", "Page Ann")):
        store.learn(name, VoiceKey(9000, 9000, f"SPEAKER_{number:02d}"), [1.0, float(number)])
    yield store
    for row in store.profiles():
        if row["name"].startswith("Page "):
            store.delete(row["id"])
    engine.dispose()


def test_settings_page_renames_merges_and_deletes_voice_profiles(web: Watched, voices: ProfileStore) -> None:
    page = web.page
    web.goto("#/settings")
    profile = page.locator('[data-testid="profile"][data-name="Page D."]')
    expect(profile.get_by_test_id("profile-count")).to_contain_text("1 voice sample(s) from 1 recording(s)")
    profile.get_by_test_id("profile-merge-into").select_option(label="Page Dana")
    profile.get_by_test_id("profile-merge").click()
    dana = page.locator('[data-testid="profile"][data-name="Page Dana"]')
    expect(dana.get_by_test_id("profile-count")).to_contain_text("2 voice sample(s)")
    expect(page.locator('[data-testid="profile"][data-name="Page D."]')).to_have_count(0)
    dana.get_by_test_id("profile-name").fill("Page Dana Scully")
    dana.get_by_test_id("profile-rename").click()
    expect(page.locator('[data-testid="profile"][data-name="Page Dana Scully"]')).to_be_visible()
    ann = page.locator('[data-testid="profile"][data-name="Page Ann"]')
    ann_id = next(p["id"] for p in voices.profiles() if p["name"] == "Page Ann")
    ann.get_by_test_id("profile-delete").click()
    expect(page.locator('[data-testid="profile"][data-name="Page Ann"]')).to_have_count(0)
    assert voices.embeddings(ann_id) == []  # its voice is gone with it
    assert {p["name"] for p in voices.profiles() if p["name"].startswith("Page ")} == {"Page Dana Scully"}
    assert web.errors_except() == []


def test_a_speaker_named_from_a_profile_shows_the_match(web: Watched, server: Server, diarized: int) -> None:
    """The speakers panel shows a voice profile's match beside the speaker it named, and not once renamed."""
    engine = create_db_engine(build_settings(data_dir=server.data_dir))
    try:
        store = TranscriptStore(engine)
        info = {"speakers": ["Speaker 1", "Speaker 2"], "profiles": {"Speaker 1": MATCH}}
        store.create_version(diarized, "speakers", SPEAKERS, task_id=None, language="en", info=info)
        store.set_speakers(diarized, {"Speaker 1": "Page Eve"})
    finally:
        engine.dispose()
    page = web.page
    web.goto(f"#/recordings/{diarized}")
    expect(page.get_by_test_id("segment-speaker").nth(0)).to_contain_text("Page Eve")
    page.get_by_test_id("speakers-toggle").click()
    row = page.locator('[data-testid="speaker-row"][data-label="Speaker 1"]')
    expect(row.get_by_test_id("profile-match")).to_contain_text("voice profile match 0.91")
    expect(
        page.locator('[data-testid="speaker-row"][data-label="Speaker 2"] [data-testid="profile-match"]')
    ).to_have_count(0)
    page.get_by_test_id("speaker-Speaker 1").fill("Page Ann")
    expect(row.get_by_test_id("profile-match")).to_have_count(0)  # no longer the profile's name
    assert web.errors_except() == []
