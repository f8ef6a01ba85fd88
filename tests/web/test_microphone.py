"""Recording from the microphone: Chromium's fake capture device stands in for a real one."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from .conftest import CHROMIUM, CHROMIUM_ARGS, Server, Watched, _watch

pytestmark = pytest.mark.web


@pytest.fixture
def mic_web(playwright: Any, server: Server) -> Iterator[Watched]:
    args = [*CHROMIUM_ARGS, "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=args)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, permissions=["microphone"])
    page = context.new_page()
    try:
        yield _watch(page, server.url)
    finally:
        context.close()
        browser.close()


def test_microphone_recording_is_uploaded(mic_web: Watched) -> None:
    page = mic_web.page
    mic_web.goto("#/upload")
    start = page.get_by_test_id("mic-start")
    expect(start).to_be_enabled()
    page.get_by_test_id("step-correction").uncheck()
    page.get_by_test_id("step-summary").uncheck()
    page.get_by_test_id("step-diarization").uncheck()  # no diarization engine at test time
    start.click()
    stop = page.get_by_test_id("mic-stop")
    expect(stop).to_be_visible()
    expect(page.locator(".recording-indicator")).to_contain_text(re.compile(r"[1-9]\.\d s"))  # >= 1 s recorded
    with page.expect_response(lambda r: r.url.endswith("/recordings") and r.request.method == "POST") as info:
        stop.click()
    response: Any = info.value
    item = page.get_by_test_id("upload-item").first
    expect(item).to_contain_text("microphone-")
    expect(item).to_contain_text(".webm")
    if response.status == 201:
        expect(item).to_have_attribute("data-state", "done")
        assert response.json()["data"][0]["name"].endswith(".webm")
    else:
        # A server that cannot read WebM must say so; the page shows its message.
        expect(page.get_by_test_id("upload-error")).to_have_text(response.json()["detail"]["message"])
        pytest.fail(f"the server refused the microphone recording: {response.status} {response.text()}")


def test_no_microphone_is_handled_gracefully(web: Watched) -> None:
    page = web.page
    web.goto("#/upload")
    expect(page.get_by_test_id("mic-unavailable")).to_be_visible()
    expect(page.get_by_test_id("mic-start")).to_have_count(0)
    assert web.errors_except() == []
