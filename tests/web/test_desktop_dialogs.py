"""The web app in the desktop window: "Choose files…" and the transcript exports use the window's native
dialogs (``window.pywebview.api``, stenograph/desktop/bridge.py), stubbed here with ``add_init_script``; in
a browser the page keeps its file input and download links; a file dropped anywhere on the window is
uploaded through the Upload page."""

from __future__ import annotations

import base64
import io
import re
import wave
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from stenograph.db import create_db_engine
from stenograph.recordings.store import TranscriptStore
from stenograph.settings import build_settings
from stenograph.transcript.types import Segment

from .conftest import Server, Watched

pytestmark = pytest.mark.web

# The js_api as pywebview injects it: promises, a rejection carrying Python's str(exception). The page's
# calls are recorded in window.__calls; a test sets window.__answers to what the dialogs return.
STUB = """
window.__calls = [];
window.__answers = { open_files: [], open_error: null, save_export: null };
window.pywebview = { PLATFORM: {
  open_files(fields) {
    window.__calls.push(['open_files', fields]);
    const a = window.__answers;
    return a.open_error ? Promise.reject(new Error(a.open_error)) : Promise.resolve(a.open_files);
  },
  save_export(id, format) {
    window.__calls.push(['save_export', id, format]);
    return Promise.resolve(window.__answers.save_export);
  },
}};
"""
READY_STUB = STUB.replace("PLATFORM", "api")
# Over Qt WebEngine the methods exist before their channel opens; "pywebviewready" comes later.
LATE_STUB = STUB.replace("PLATFORM", "platform: 'qtwebengine', api")


def small_wav(seconds: float = 0.5, rate: int = 16000) -> bytes:
    """A silent 16-bit mono WAV."""
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"\0\0" * int(seconds * rate))
    return out.getvalue()


@pytest.fixture(scope="module")
def transcribed(server: Server) -> int:
    """A recording with a transcript version written into the server's database (no model needed)."""
    with server.client() as client:
        response = client.post(
            "/recordings", files={"file": ("dialogs.wav", small_wav())}, data={"steps": "transcription"}
        )
        assert response.status_code == 201, response.text
        recording_id = int(response.json()["data"][0]["id"])
    engine = create_db_engine(build_settings(data_dir=server.data_dir))
    try:
        TranscriptStore(engine).create_version(
            recording_id, "original", [Segment(0, 0.0, 0.5, "hello there")], task_id=None, language="en", info={}
        )
    finally:
        engine.dispose()
    return recording_id


@pytest.fixture
def desktop_web(web: Watched) -> Iterator[Watched]:
    web.page.add_init_script(READY_STUB)
    yield web


def calls(page: Any) -> list[list[Any]]:
    return list(page.evaluate("window.__calls"))


def test_choose_files_opens_the_native_dialog_and_shows_its_outcome(desktop_web: Watched, transcribed: int) -> None:
    web, page = desktop_web, desktop_web.page
    web.goto("#/upload")
    button = page.get_by_test_id("upload-native")
    expect(button).to_have_text("Choose files…")
    expect(page.get_by_test_id("upload-input")).to_have_count(0)
    page.get_by_test_id("opt-language").select_option("de")

    # The server refused a file: the bridge's error shows as the page shows upload errors.
    page.evaluate("window.__answers.open_error = '415 notes.exe: notes.exe is not an audio or video file.'")
    button.click()
    failed = page.get_by_test_id("upload-item").filter(has_text="The chosen files")
    expect(failed).to_have_attribute("data-state", "error")
    expect(failed.get_by_test_id("upload-error")).to_have_text("notes.exe: notes.exe is not an audio or video file.")
    other = (
        "async () => (await import('/static/js/desktop.js')).bridgeErrorMessage(new Error(\"Client error '413 x'\"))"
    )
    assert page.evaluate(other) == "The file is too large for this server."
    (name, fields), *_ = calls(page)
    assert name == "open_files" and fields["language"] == "de" and "transcription" in fields["steps"]

    # Cancelled: nothing happens. Several files: the Processing page. One file: its recording.
    page.evaluate("Object.assign(window.__answers, {open_error: null, open_files: []})")
    button.click()
    assert len(calls(page)) == 2 and page.url.endswith("#/upload")
    page.evaluate(f"window.__answers.open_files = [{transcribed}, {transcribed}]")
    button.click()
    expect(page.get_by_test_id("page-processing")).to_be_visible()
    web.goto("#/upload")
    page.evaluate(f"window.__answers.open_files = [{transcribed}]")
    page.get_by_test_id("upload-native").click()
    expect(page).to_have_url(re.compile(rf"#/recordings/{transcribed}$"))
    expect(page.get_by_test_id("recording-name")).to_have_text("dialogs.wav")
    assert web.errors_except() == []


def test_exports_open_the_native_save_dialog(desktop_web: Watched, transcribed: int) -> None:
    web, page = desktop_web, desktop_web.page
    web.goto(f"#/recordings/{transcribed}")
    srt = page.get_by_test_id("export-srt")
    expect(srt).to_be_visible()
    assert srt.evaluate("el => el.tagName") == "BUTTON" and srt.get_attribute("href") is None

    page.evaluate("window.__answers.save_export = '/home/me/dialogs.srt'")
    srt.click()
    expect(page.get_by_test_id("export-saved")).to_have_text("Saved to /home/me/dialogs.srt")
    assert calls(page)[-1] == ["save_export", transcribed, "srt"]

    page.evaluate("window.__answers.save_export = null")  # cancelled: shows nothing
    page.get_by_test_id("export-vtt").click()
    expect(page.get_by_test_id("export-saved")).to_have_count(0)
    expect(page.get_by_test_id("export-error")).to_have_count(0)
    assert calls(page)[-1] == ["save_export", transcribed, "vtt"]
    assert web.errors_except() == []


def test_the_dialogs_come_when_pywebview_is_ready_after_the_page(web: Watched) -> None:
    page = web.page
    page.add_init_script(LATE_STUB)
    web.goto("#/upload")
    expect(page.get_by_test_id("upload-input")).to_have_count(1)  # the channel is not open yet
    page.evaluate("window.dispatchEvent(new CustomEvent('pywebviewready'))")
    expect(page.get_by_test_id("upload-native")).to_be_visible()
    expect(page.get_by_test_id("upload-input")).to_have_count(0)


def test_a_browser_keeps_the_file_input_and_download_links(web: Watched, transcribed: int) -> None:
    page = web.page
    web.goto("#/upload")
    expect(page.get_by_test_id("upload-input")).to_have_attribute("type", "file")
    expect(page.get_by_test_id("upload-native")).to_have_count(0)
    web.goto(f"#/recordings/{transcribed}")
    for fmt in ("txt", "srt", "vtt", "json"):
        link = page.get_by_test_id(f"export-{fmt}")
        expect(link).to_have_attribute("href", re.compile(rf"/recordings/{transcribed}/transcript\?.*format={fmt}"))
        expect(link).to_have_attribute("download", f"dialogs.{fmt}")
    assert web.errors_except() == []


def test_a_file_dropped_anywhere_on_the_window_is_uploaded(web: Watched) -> None:
    page = web.page
    web.goto("#/recordings")
    expect(page.get_by_test_id("page-recordings")).to_be_visible()
    drag = """([kind, b64]) => {
      const dt = new DataTransfer();
      if (kind === 'file') {
        const bytes = Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0));
        dt.items.add(new File([bytes], 'dropped-anywhere.wav', { type: 'audio/wav' }));
      } else dt.setData('text/plain', 'just some text');
      window.__dt = dt;
      document.body.dispatchEvent(new DragEvent('dragenter', { bubbles: true, cancelable: true, dataTransfer: dt }));
      document.body.dispatchEvent(new DragEvent('dragover', { bubbles: true, cancelable: true, dataTransfer: dt }));
    }"""
    page.evaluate(drag, ["text", ""])  # text is not taken: no overlay
    expect(page.get_by_test_id("drop-overlay")).to_have_count(0)

    page.evaluate(drag, ["file", base64.b64encode(small_wav()).decode()])
    expect(page.get_by_test_id("drop-overlay")).to_be_visible()
    with page.expect_response(lambda r: r.url.endswith("/recordings") and r.request.method == "POST") as info:
        page.evaluate("""() => document.body.dispatchEvent(
          new DragEvent('drop', { bubbles: true, cancelable: true, dataTransfer: window.__dt }))""")
    assert info.value.status == 201, info.value.text()
    expect(page.get_by_test_id("drop-overlay")).to_have_count(0)
    item = page.get_by_test_id("upload-item").filter(has_text="dropped-anywhere.wav")
    expect(item).to_have_attribute("data-state", "done")
    expect(item.get_by_test_id("upload-progress")).to_have_attribute("data-value", "1.000")
    web.goto("#/recordings")
    expect(page.get_by_test_id("recording-link").filter(has_text="dropped-anywhere.wav")).to_be_visible()
    assert web.errors_except() == []
