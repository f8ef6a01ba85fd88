"""The recording page's summary: every [mm:ss] its key points, decisions and action items cite is a link
that seeks the player there, and a summary stored before decisions cited timestamps still shows."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from stenograph.db import create_db_engine
from stenograph.recordings.store import TranscriptStore
from stenograph.settings import build_settings
from stenograph.steps.summary.summary import ActionItem, Decision, KeyPoint, SummaryResult, render_markdown

from .conftest import Server, Watched
from .test_cross_origin import save_completed_summary, tone_wav

pytestmark = pytest.mark.web

TONE_S = 10.0


def summarised_recording(server: Server, name: str, markdown: str, data: dict[str, Any]) -> int:
    """A playable 10 s recording with a completed summary task and ``markdown``/``data`` as its summary."""
    settings = build_settings(data_dir=server.data_dir)
    settings.uploads_dir.mkdir(parents=True, exist_ok=True)
    audio = tone_wav(TONE_S)
    (settings.uploads_dir / f"{name}.wav").write_bytes(audio)
    engine = create_db_engine(settings)
    try:
        store = TranscriptStore(engine)
        recording_id = store.create_recording(
            name=f"{name}.wav",
            stored_name=f"{name}.wav",
            size_bytes=len(audio),
            duration_s=TONE_S,
            media={"container": "wav"},
            options={},
        )
        save_completed_summary(engine, store, recording_id, markdown, data, method="llm")
        return recording_id
    finally:
        engine.dispose()


def played_from(page: Any, link: Any) -> float:
    """Click ``link`` with the player parked elsewhere; the position it seeked to (seconds)."""
    player = page.get_by_test_id("player")
    page.wait_for_function("el => el.readyState >= 1", arg=player.element_handle())
    player.evaluate("el => { el.pause(); el.currentTime = 9; }")
    link.click()
    page.evaluate("el => el.pause()", player.element_handle())
    return float(player.evaluate("el => el.currentTime"))


def test_every_cited_timestamp_of_a_summary_seeks_the_player(web: Watched, server: Server) -> None:
    result = SummaryResult(
        title="Launch",
        summary="The team set the launch date; `[00:09]` in code is no citation.",
        key_points=[KeyPoint("Friday is too early.", 2.0)],
        decisions=[Decision("Launch on Monday.", 4.0)],
        action_items=[ActionItem("Write the release notes", "Tom", 6.0)],
        method="llm",
        llm=None,
        template="meeting-notes",
        language="en",
    )
    recording_id = summarised_recording(server, "cited", render_markdown(result), result.to_dict())
    page = web.page
    web.goto(f"#/recordings/{recording_id}")
    summary = page.get_by_test_id("summary")
    citations = summary.get_by_test_id("summary-citation")
    expect(citations).to_have_text(["[00:02]", "[00:04]", "[00:06]"])  # the one in code stays text
    expect(summary.locator("code")).to_have_text("[00:09]")
    decision = summary.locator("li", has_text="Launch on Monday.").get_by_test_id("summary-citation")
    assert 4.0 <= played_from(page, decision) < 5.5
    action = summary.locator("li", has_text="Write the release notes").get_by_test_id("summary-citation")
    assert 6.0 <= played_from(page, action) < 7.5
    assert page.url.endswith(f"#/recordings/{recording_id}")  # the link's "#" did not navigate
    assert web.errors_except() == []


def test_a_summary_stored_before_decisions_cited_timestamps_still_shows(web: Watched, server: Server) -> None:
    markdown = (
        "# Launch\n\n## Key points\n\n- Friday is too early. [00:02]\n\n## Decisions\n\n- Launch on Monday.\n\n"
        "## Action items\n\n- Write the release notes — **Tom**\n"
    )
    data = {
        "title": "Launch",
        "summary": "",
        "key_points": [{"text": "Friday is too early.", "timestamp_s": 2.0}],
        "decisions": ["Launch on Monday."],
        "action_items": [{"text": "Write the release notes", "owner": "Tom"}],
        "method": "llm",
    }
    recording_id = summarised_recording(server, "older", markdown, data)
    page = web.page
    web.goto(f"#/recordings/{recording_id}")
    summary = page.get_by_test_id("summary")
    expect(summary.get_by_role("heading", name="Decisions")).to_be_visible()
    expect(summary.locator("li", has_text="Launch on Monday.")).to_be_visible()
    expect(summary.locator("li", has_text="Write the release notes")).to_contain_text("Tom")
    expect(summary.get_by_test_id("summary-citation")).to_have_text(["[00:02]"])
    assert 2.0 <= played_from(page, summary.get_by_test_id("summary-citation")) < 3.5
    assert web.errors_except() == []
