"""A server with an API token: the app asks for the token when a request answers 401."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from .conftest import Server, _watch, running_server

pytestmark = pytest.mark.web

TOKEN = "web-test-token-0123456789"


@pytest.fixture(scope="module")
def token_server() -> Iterator[Server]:
    with running_server(STENOGRAPH_API_TOKEN=TOKEN) as srv:
        yield srv


def test_token_prompt_signs_in_again(browser: Any, token_server: Server) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        web = _watch(context.new_page(), token_server.url)
        page = web.page
        # The server's own sign-in: /?token=... sets the session cookie and redirects to the app.
        page.goto(f"{token_server.url}/?token={TOKEN}")
        expect(page.get_by_test_id("page-processing")).to_have_attribute("data-live", "yes")

        # The session is lost while the app is open: the next request answers 401 and the app asks.
        context.clear_cookies()
        page.get_by_test_id("nav-recordings").click()
        expect(page.get_by_test_id("login")).to_be_visible()
        page.get_by_test_id("login-token").fill("wrong token")
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_test_id("login-error")).to_have_text("wrong API token")

        page.get_by_test_id("login-token").fill(TOKEN)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_test_id("page-recordings")).to_be_visible()
        expect(page.get_by_test_id("recordings-count")).to_contain_text("0 recordings")
        assert web.errors_except("status of 401") == []
    finally:
        context.close()
