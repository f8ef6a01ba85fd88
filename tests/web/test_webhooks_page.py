"""The Settings page's Webhooks section: add an endpoint (its secret shown once), send a test event that a
local receiver gets signed with that secret, read the delivery log, delete the endpoint."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.helpers import wait_for
from tests.webhooks.receiver import receiving

from .conftest import Server, Watched

pytestmark = pytest.mark.web


def test_the_settings_page_adds_tests_and_deletes_a_webhook(web: Watched, server: Server) -> None:
    page = web.page
    with receiving(secret="whsec_" + "A" * 32) as receiver:
        web.goto("#/settings")
        page.get_by_test_id("webhook-url").fill(receiver.url)
        page.get_by_test_id("webhook-add-submit").click()
        shown = page.get_by_test_id("webhook-secret")
        expect(shown).to_contain_text("whsec_")
        receiver.secret = shown.locator("code").inner_text().strip()
        row = page.get_by_test_id("webhook").filter(has_text=receiver.url)
        row.get_by_test_id("webhook-test").click()
        # The shared server's other recordings may complete meanwhile: the endpoint gets their events too.
        test_event = wait_for(
            lambda: next((r for r in list(receiver.received) if r.json()["type"] == "webhook.test"), None),
            timeout=60,
            what="the test event",
        )
        assert test_event.verified
        with server.client() as client:  # the log says delivered once the worker has recorded the answer
            (hook,) = [h for h in client.get("/webhooks").json()["data"] if h["url"] == receiver.url]
            path = f"/webhooks/{hook['id']}/deliveries"
            wait_for(
                lambda: any(
                    d["event"] == "webhook.test" and d["status"] == "delivered" for d in client.get(path).json()["data"]
                ),
                timeout=30,
            )
        row.get_by_test_id("webhook-log").click()
        expect(row.get_by_test_id("webhook-delivery").first).to_have_attribute("data-status", "delivered")
        row.get_by_test_id("webhook-delete").click()
        expect(page.get_by_test_id("webhook").filter(has_text=receiver.url)).to_have_count(0)
    assert web.errors_except() == []
