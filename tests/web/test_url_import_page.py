"""The Upload page's URL field sends an import (a ``url`` field and no file) and shows the server's
refusal of a URL it may not fetch (docs/url-import.md)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .conftest import Server, Watched

pytestmark = pytest.mark.web


def test_the_url_field_sends_an_import_and_shows_a_refusal(web: Watched, server: Server) -> None:
    page = web.page
    web.goto("#/upload")
    page.get_by_test_id("import-url").fill("http://127.0.0.1:9/clip.mp3")  # loopback: refused by default
    with page.expect_request(lambda r: r.url.endswith("/recordings") and r.method == "POST") as sent:
        page.get_by_test_id("import-url-submit").click()
    body = sent.value.post_data or ""
    assert 'name="url"' in body and "http://127.0.0.1:9/clip.mp3" in body and 'name="file"' not in body
    item = page.get_by_test_id("upload-item").filter(has_text="http://127.0.0.1:9/clip.mp3")
    expect(item).to_have_attribute("data-state", "error")
    expect(item.get_by_test_id("upload-error")).to_contain_text("loopback, private or reserved")
    expect(page.get_by_test_id("import-url")).to_have_value("")
