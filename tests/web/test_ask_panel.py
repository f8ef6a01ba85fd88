"""The recording page's "Ask the recording" card, through the real server and its workers (no LLM in the
tests' server: the answer is the best passages, with citations): a question in, an answer citing [mm:ss]
out, and a citation that seeks the player."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from .conftest import Watched
from .test_recording_flow import open_recording, upload, watch_transcription

pytestmark = pytest.mark.web


def test_ask_panel_answers_with_citations_that_seek_the_player(web: Watched, espeak_wav: Path) -> None:
    page = web.page
    recording = upload(web, espeak_wav, "transcription")
    watch_transcription(web, recording)
    open_recording(web, recording)
    page.get_by_test_id("ask-question").fill("What does the fox jump over?")
    page.get_by_test_id("ask-submit").click()
    answer = page.get_by_test_id("ask-answer")
    expect(answer).to_contain_text("lazy", timeout=60_000)
    citation = page.get_by_test_id("ask-citation").first
    expect(citation).to_have_text(re.compile(r"\[\d\d:\d\d\]"))
    minutes, seconds = citation.inner_text().strip("[]").split(":")
    cited = int(minutes) * 60 + int(seconds)
    player = page.get_by_test_id("player")
    page.wait_for_function("el => el.readyState >= 1", arg=player.element_handle())
    player.evaluate("(el, t) => { el.currentTime = t; }", cited + 2.5)
    citation.click()
    page.evaluate("el => el.pause()", player.element_handle())
    assert cited <= float(player.evaluate("el => el.currentTime")) < cited + 1.5
    assert web.errors_except() == []
