"""Upload -> Processing -> Recording, with real speech through the real pipeline."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from .conftest import SPOKEN_WORDS, Server, Watched, shot

pytestmark = pytest.mark.web

TRANSCRIPTION_TIMEOUT_MS = 240_000
# Reported by the API when a media file is refused; the page must show the server's own words.
REFUSED = (413, 415, 422)


def set_steps(page: Any, *steps: str) -> None:
    """Choose the optional steps (transcription always runs and its box cannot be unticked)."""
    expect(page.get_by_test_id("step-transcription")).to_be_checked()
    expect(page.get_by_test_id("step-transcription")).to_be_disabled()
    for step in ("diarization", "correction", "summary"):  # no diarization engine at test time unless asked
        box = page.get_by_test_id(f"step-{step}")
        if step in steps:
            box.check()
        else:
            box.uncheck()


def upload(web: Watched, path: Path, *steps: str) -> dict[str, Any]:
    """Upload ``path`` from the Upload page; return the created recording (from the server's answer)."""
    page = web.page
    web.goto("#/upload")
    expect(page.get_by_test_id("page-upload")).to_be_visible()
    set_steps(page, *steps)
    return upload_keeping_options(web, path)


def upload_keeping_options(web: Watched, path: Path) -> dict[str, Any]:
    """Choose ``path`` on the (open) Upload page, with the options as they are set there."""
    page = web.page
    with page.expect_response(lambda r: r.url.endswith("/recordings") and r.request.method == "POST") as info:
        page.get_by_test_id("upload-input").set_input_files(str(path))
    response = info.value
    assert response.status == 201, response.text()
    recording = response.json()["data"][0]
    item = page.get_by_test_id("upload-item").filter(has_text=path.name)
    expect(item).to_have_attribute("data-state", "done")
    expect(item.get_by_test_id("upload-progress")).to_have_attribute("data-value", "1.000")
    return recording


def watch_transcription(web: Watched, recording: dict[str, Any]) -> int:
    """Follow the recording's transcription task on the Processing page until it completes."""
    page = web.page
    page.get_by_test_id("upload-processing-link").first.click()
    expect(page.get_by_test_id("page-processing")).to_have_attribute("data-live", "yes")
    row = page.locator(
        f'[data-testid="task-row"][data-type="transcription"]:has([data-testid="task-recording"]'
        f':text-is("{recording["name"]}"))'
    ).first
    expect(row).to_be_visible()
    task_id = int(row.get_attribute("data-task-id") or 0)
    status = row.get_by_test_id("task-status")
    # Pending or already running when we arrive; it must end completed, with full progress.
    expect(status).to_have_attribute("data-status", re.compile("pending|running|completed"))
    expect(status).to_have_attribute("data-status", "completed", timeout=TRANSCRIPTION_TIMEOUT_MS)
    expect(row.get_by_test_id("task-progress")).to_have_attribute("data-value", "1.000")
    return task_id


def open_recording(web: Watched, recording: dict[str, Any]) -> None:
    page = web.page
    web.goto(f"#/recordings/{recording['id']}")
    expect(page.get_by_test_id("recording-name")).to_have_text(recording["name"])
    expect(page.get_by_test_id("segment").first).to_be_visible()


def check_seek(page: Any, nth: int) -> None:
    """Click a segment (its timestamp: a click on a word seeks to that word): the player seeks to its start
    and the segment is highlighted."""
    player = page.get_by_test_id("player")
    page.wait_for_function("el => el.readyState >= 1", arg=player.element_handle())
    segment = page.get_by_test_id("segment").nth(nth)
    start = float(segment.get_attribute("data-start") or 0)
    segment.locator(".ts").click()
    page.evaluate("el => el.pause()", player.element_handle())
    current = float(player.evaluate("el => el.currentTime"))
    assert start - 0.05 <= current < start + 2.0, (start, current)
    row = page.locator(".segment-row").nth(nth)
    expect(row).to_have_attribute("data-active", "true")


def transcript_text(page: Any) -> str:
    return " ".join(page.get_by_test_id("segment-text").all_inner_texts()).lower()


def test_jfk_upload_processing_and_recording(web: Watched, server: Server, jfk_wav: Path) -> None:
    page = web.page
    recording = upload(web, jfk_wav, "transcription")
    assert recording["name"] == jfk_wav.name
    shot(page, "upload-desktop")
    watch_transcription(web, recording)

    open_recording(web, recording)
    text = transcript_text(page)
    for word in ("ask not", "country", "fellow americans"):
        assert word in text, text
    count = page.get_by_test_id("segment").count()
    check_seek(page, min(1, count - 1))
    expect(page.get_by_test_id("export-srt")).to_have_attribute("href", re.compile(r"format=srt"))
    shot(page, "recording-desktop")
    assert web.errors_except() == []


def test_generated_speech_upload(web: Watched, espeak_wav: Path) -> None:
    page = web.page
    recording = upload(web, espeak_wav, "transcription")
    watch_transcription(web, recording)
    open_recording(web, recording)
    text = transcript_text(page)
    for word in SPOKEN_WORDS:
        assert word in text, text
    check_seek(page, 0)
    assert web.errors_except() == []


def test_edit_segment_creates_a_new_version(web: Watched, server: Server, espeak_wav: Path) -> None:
    page = web.page
    recording = upload(web, espeak_wav, "transcription")
    watch_transcription(web, recording)
    open_recording(web, recording)
    page.get_by_test_id("edit-btn").first.click()
    editor = page.get_by_test_id("segment-editor")
    expect(editor).to_be_focused()
    editor.fill("An edited sentence about Stenograph.")
    with page.expect_response(lambda r: "/transcript/segments/" in r.url) as info:
        page.get_by_test_id("segment-save").click()
    assert info.value.status == 200, info.value.text()
    expect(page.get_by_test_id("segment-text").first).to_have_text("An edited sentence about Stenograph.")
    # The edit is the server's latest version: a reload shows it.
    page.reload()
    expect(page.get_by_test_id("segment-text").first).to_have_text("An edited sentence about Stenograph.")
    # Original against latest: the changed words are marked.
    page.get_by_test_id("view-compare").click()
    changed = page.locator('[data-testid="diff-segment"][data-changed="true"]').first
    expect(changed.get_by_test_id("diff-ins")).to_contain_text("edited sentence about Stenograph.")
    expect(changed.get_by_test_id("diff-del")).to_contain_text("quick")
    expect(page.get_by_test_id("diff-summary")).to_contain_text("1 segment changed")
    assert web.errors_except() == []


def test_text_file_is_refused_with_the_servers_message(web: Watched, server: Server) -> None:
    page = web.page
    web.goto("#/upload")
    payload = {"name": "notes.txt", "mimeType": "text/plain", "buffer": b"These are not audio samples.\n" * 20}
    with page.expect_response(lambda r: r.url.endswith("/recordings") and r.request.method == "POST") as info:
        page.get_by_test_id("upload-input").set_input_files(payload)
    response = info.value
    assert response.status in REFUSED, response.status
    message = response.json()["detail"]["message"]
    error = page.get_by_test_id("upload-error")
    expect(error).to_have_text(message)
    expect(page.get_by_test_id("upload-item").filter(has_text="notes.txt")).to_have_attribute("data-state", "error")
    shot(page, "upload-refused")
    # The only console error is the browser's own line about the refused request.
    assert web.errors_except(f"status of {response.status}") == []


def test_keyboard_only_upload_processing_recording(web: Watched, espeak_wav: Path) -> None:
    page = web.page
    web.goto("#/processing")
    expect(page.get_by_test_id("page-processing")).to_be_visible()

    def tab_to(selector: str, limit: int = 120) -> None:
        for _ in range(limit):
            page.keyboard.press("Tab")
            if page.evaluate("(s) => document.activeElement && document.activeElement.matches(s)", selector):
                return
        raise AssertionError(f"Tab never reached {selector}")

    # The skip link comes first and lands on the page's heading.
    page.keyboard.press("Tab")
    expect(page.get_by_test_id("skip-link")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#main h1")).to_be_focused()

    tab_to('[data-testid="nav-upload"]')
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("page-upload")).to_be_visible()
    expect(page.locator("#main h1")).to_be_focused()

    tab_to('[data-testid="upload-input"]')
    # The file dialog belongs to the operating system, not the page: with the input reached by Tab, the
    # test gives the dialog's answer to the focused input (headless Chromium does not always open the
    # dialog for a key press).
    with page.expect_response(lambda r: r.url.endswith("/recordings") and r.request.method == "POST") as info:
        page.locator(":focus").set_input_files(str(espeak_wav))
    recording = info.value.json()["data"][0]
    expect(page.get_by_test_id("upload-done")).to_be_visible()

    tab_to('[data-testid="upload-processing-link"]')
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("page-processing")).to_have_attribute("data-live", "yes")
    row = (
        page.locator('[data-testid="task-row"][data-type="transcription"]')
        .filter(has=page.locator(f'[data-testid="task-recording"]:text-is("{recording["name"]}")'))
        .first
    )
    expect(row.get_by_test_id("task-status")).to_have_attribute(
        "data-status", "completed", timeout=TRANSCRIPTION_TIMEOUT_MS
    )
    task_id = row.get_attribute("data-task-id")
    tab_to(f'[data-testid="task-row"][data-task-id="{task_id}"] [data-testid="task-recording"]')
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("page-recording")).to_be_visible()
    expect(page.get_by_test_id("segment").first).to_be_visible()
    page.wait_for_function("el => el.readyState >= 1", arg=page.get_by_test_id("player").element_handle())

    tab_to('[data-testid="segment"]')
    start = float(page.evaluate("document.activeElement.dataset.start"))
    page.keyboard.press("Enter")
    page.evaluate("() => document.querySelector('[data-testid=player]').pause()")
    current = float(page.get_by_test_id("player").evaluate("el => el.currentTime"))
    assert start - 0.05 <= current < start + 2.0, (start, current)
    expect(page.locator('.segment-row[data-active="true"] [data-testid="segment"]')).to_be_focused()
    assert web.errors_except() == []


def test_split_channels_and_speaker_names(web: Watched, jfk_wav: Path) -> None:
    stereo = jfk_wav.parent / "stereo_diarization.wav"
    if not stereo.exists():
        pytest.skip(f"corpus clip {stereo} is absent")
    page = web.page
    web.goto("#/upload")
    page.get_by_test_id("opt-channels").select_option("split")
    set_steps(page, "transcription")
    recording = upload_keeping_options(web, stereo)
    watch_transcription(web, recording)
    open_recording(web, recording)
    speakers = page.get_by_test_id("segment-speaker")
    expect(speakers.first).to_have_text(re.compile("left|right"))
    page.get_by_test_id("speakers-toggle").click()
    page.get_by_test_id("speaker-left").fill("Alice")
    page.get_by_test_id("speaker-right").fill("Bob")
    with page.expect_response(lambda r: r.url.endswith("/speakers") and r.request.method == "PUT") as info:
        page.get_by_role("button", name="Save names").click()
    assert info.value.status == 200, info.value.text()
    expect(page.get_by_test_id("segment-speaker").filter(has_text="Alice")).not_to_have_count(0)
    expect(page.get_by_test_id("segment-speaker").filter(has_text="Bob")).not_to_have_count(0)
    page.reload()
    expect(page.get_by_test_id("segment-speaker").filter(has_text="Alice")).not_to_have_count(0)
    text = transcript_text(page)
    assert "wizard" in text and "horizon" in text, text
    assert web.errors_except() == []
