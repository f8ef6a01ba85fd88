"""Every page: no horizontal scrolling at 360 px, no console errors, screenshots (desktop and phone)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from .conftest import Server, Watched, shot

pytestmark = pytest.mark.web

TRANSCRIPTION_TIMEOUT_MS = 240_000


@pytest.fixture(scope="module")
def sample_recording(server: Server, espeak_wav: Path) -> dict[str, Any]:
    """A recording uploaded through the API, with every step requested."""
    with server.client() as client, espeak_wav.open("rb") as f:
        response = client.post(
            "/recordings",
            files={"file": (espeak_wav.name, f, "audio/wav")},
            data={"steps": "transcription,correction,summary", "language": "en"},
        )
    assert response.status_code == 201, response.text
    return dict(response.json()["data"][0])


def assert_no_horizontal_scroll(page: Any) -> None:
    widths = page.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths[0] <= widths[1], f"page is {widths[0]} px wide in a {widths[1]} px viewport"


PAGES = ["processing", "upload", "recordings", "recording", "settings"]


def open_page(web: Watched, name: str, recording: dict[str, Any]) -> None:
    page = web.page
    if name == "recording":
        web.goto(f"#/recordings/{recording['id']}")
        expect(page.get_by_test_id("page-recording")).to_be_visible()
        # Wait for the live page to show the finished pipeline: transcript and summary.
        expect(page.get_by_test_id("segment").first).to_be_visible(timeout=TRANSCRIPTION_TIMEOUT_MS)
        for step in ("transcription", "correction", "summary"):
            expect(
                page.locator(f'[data-testid="step-row"][data-step="{step}"] [data-testid="task-status"]')
            ).to_have_attribute("data-status", "completed", timeout=TRANSCRIPTION_TIMEOUT_MS)
        expect(page.get_by_test_id("summary")).to_be_visible()
    else:
        web.goto(f"#/{name}")
        expect(page.get_by_test_id(f"page-{name}")).to_be_visible()
        if name == "processing":
            expect(page.get_by_test_id("page-processing")).to_have_attribute("data-live", "yes")
            expect(page.get_by_test_id("task-row").first).to_be_visible()
        elif name == "recordings":
            expect(page.get_by_test_id("recording-row").first).to_be_visible()
        elif name == "upload":
            expect(page.get_by_test_id("mic")).to_be_visible()
        elif name == "settings":
            expect(page.get_by_test_id("llm-kind")).to_contain_text("None")


@pytest.mark.parametrize("name", PAGES)
def test_page_desktop(web: Watched, sample_recording: dict[str, Any], name: str) -> None:
    open_page(web, name, sample_recording)
    assert_no_horizontal_scroll(web.page)
    shot(web.page, f"{name}-1280")
    assert web.errors_except() == []


@pytest.mark.parametrize("name", PAGES)
def test_page_at_360px(narrow_web: Watched, sample_recording: dict[str, Any], name: str) -> None:
    open_page(narrow_web, name, sample_recording)
    assert_no_horizontal_scroll(narrow_web.page)
    shot(narrow_web.page, f"{name}-360")
    assert narrow_web.errors_except() == []


def test_recordings_search(web: Watched, sample_recording: dict[str, Any]) -> None:
    page = web.page
    open_page(web, "recording", sample_recording)  # transcribed, so its text is searchable
    web.goto("#/recordings")
    search = page.get_by_test_id("search-input")
    search.fill("people")
    row = page.locator(f'[data-testid="recording-row"][data-recording-id="{sample_recording["id"]}"]')
    expect(row).to_be_visible()
    search.fill("zzzz-no-such-words")
    expect(page.get_by_test_id("recording-row")).to_have_count(0)
    expect(page.get_by_test_id("recordings-count")).to_contain_text("0 recordings")


def test_compare_versions_and_summary(web: Watched, sample_recording: dict[str, Any]) -> None:
    page = web.page
    open_page(web, "recording", sample_recording)
    expect(page.get_by_test_id("view-compare")).to_be_visible()
    page.get_by_test_id("view-compare").click()
    expect(page.get_by_test_id("diff-segment").first).to_be_visible()
    expect(page.get_by_test_id("diff-summary")).to_contain_text("changed")
    expect(page.get_by_test_id("summary-method")).to_be_visible()
    expect(page.get_by_test_id("export-summary")).to_be_visible()
    assert web.errors_except() == []


def test_rerun_a_step(web: Watched, sample_recording: dict[str, Any]) -> None:
    page = web.page
    open_page(web, "recording", sample_recording)
    status = page.locator('[data-testid="step-row"][data-step="summary"] [data-testid="task-status"]')
    with page.expect_response(lambda r: r.url.endswith("/steps/summary") and r.request.method == "POST") as info:
        page.get_by_test_id("rerun-summary").click()
        expect(page.get_by_test_id("confirm-dialog")).to_be_visible()
        page.get_by_test_id("confirm-ok").click()
    assert info.value.status == 201, info.value.text()
    new_task = info.value.json()["id"]
    assert new_task not in [t["id"] for t in sample_recording.get("tasks", [])]
    row = page.locator('[data-testid="step-row"][data-step="summary"]')
    expect(row).to_have_attribute("data-task-id", str(new_task))
    expect(status).to_have_attribute("data-status", "completed", timeout=TRANSCRIPTION_TIMEOUT_MS)
    expect(page.get_by_test_id("rerun-summary")).to_be_enabled()
    expect(page.get_by_test_id("summary")).to_be_visible()
    expect(page.locator('[data-testid="step-row"][data-step="summary"] [data-testid="step-llm"]')).to_contain_text(
        "none"
    )
    assert web.errors_except() == []


def test_settings_page_edits_the_global_glossary(web: Watched, sample_recording: dict[str, Any]) -> None:
    page = web.page
    web.goto("#/settings")
    expect(page.get_by_test_id("page-settings")).to_be_visible()
    page.get_by_test_id("glossary-terms").fill("Stenograph\nKubernetes")
    page.get_by_test_id("glossary-save").click()
    expect(page.get_by_text("Glossary saved: 2 term(s).")).to_be_visible()
    page.reload()
    expect(page.get_by_test_id("glossary-terms")).to_have_value("Kubernetes\nStenograph")
    assert web.errors_except() == []
