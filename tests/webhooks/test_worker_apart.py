"""Webhooks made by a ``stenograph worker`` apart from the server: the links of its payloads point where the
server is (``STENOGRAPH_SERVER_URL``, else the server's ``data_dir/server.json``) or are left out, never at
a made-up host:port; and a delivery to a settings' URL is signed by a worker that was not given
``STENOGRAPH_WEBHOOK_SECRET`` (docs/webhooks.md)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from stenograph.instance import acquire
from stenograph.service import Stenograph
from stenograph.settings import Settings
from stenograph.webhooks.events import links
from stenograph.webhooks.signing import new_secret
from tests.helpers import start_worker, stop_process, wait_for
from tests.webhooks.receiver import receiving
from tests.webhooks.test_webhooks import a_recording, run_one

SECRET = new_secret()


@pytest.fixture
def published(settings: Settings) -> Iterator[str]:
    """A server running on the test's data directory, as ``serve`` records it (``server.json``)."""
    lock = acquire(settings.data_dir)
    assert lock is not None
    lock.publish("http://192.0.2.7:9123")
    try:
        yield "http://192.0.2.7:9123"
    finally:
        lock.release()


def test_links_are_on_the_server_url_setting_first(make_settings: Any, published: str) -> None:
    settings: Settings = make_settings(server_url="https://steno.example.org/")
    assert links(settings, 7) == {
        "recording": "https://steno.example.org/recordings/7",
        "transcript": "https://steno.example.org/recordings/7/transcript",
        "summary": "https://steno.example.org/recordings/7/summary",
    }


def test_links_are_on_the_running_server_s_record_without_the_setting(settings: Settings, published: str) -> None:
    assert settings.server_url is None and settings.port == 8000
    found = links(settings, 7)
    assert found is not None and found["transcript"] == f"{published}/recordings/7/transcript"


def test_links_are_left_out_when_the_worker_cannot_know_where_the_server_is(make_settings: Any) -> None:
    """A worker with no server URL and no server on its data directory: no link on its own host:port
    (the server may listen anywhere), so ``links`` is null in the payload."""
    with receiving(SECRET):
        settings: Settings = make_settings(webhook_urls=["http://127.0.0.1:9/hook"], webhook_secret=SECRET)
        assert links(settings, 7) is None
        with Stenograph(settings) as service:
            recording_id = a_recording(service.store)
            run_one(service, "transcription", recording_id)
            (delivery,) = service.webhook_deliveries(None)
        data = delivery["payload"]["data"]
        assert data["recording"]["id"] == recording_id and data["links"] is None


def test_a_worker_without_the_webhook_settings_signs_a_settings_delivery(
    make_settings: Any, tmp_path: Path, published: str
) -> None:
    """The server (its settings name the URL and the secret) records the event; a worker process started
    without STENOGRAPH_WEBHOOK_URLS or STENOGRAPH_WEBHOOK_SECRET takes the delivery: it is signed with the
    secret the delivery was recorded under, and its links are on the server's record."""
    with receiving(SECRET) as receiver:
        server: Settings = make_settings(webhook_urls=[receiver.url], webhook_secret=SECRET)
        apart: Settings = make_settings(webhook_allow_private=True)  # the receiver is on loopback
        assert apart.webhook_secret is None and apart.webhook_urls == []
        with Stenograph(server) as service:
            recording_id = a_recording(service.store)
            run_one(service, "transcription", recording_id)
            worker = start_worker(apart, tmp_path / "worker.log")
            try:
                (received,) = wait_for(lambda: receiver.delivered(), timeout=60, what="the delivery")
                wait_for(
                    lambda: [d for d in service.webhook_deliveries(None) if d["status"] == "delivered"],
                    timeout=30,
                    what="the delivery log to say delivered",
                )
            finally:
                stop_process(worker)
        assert received.verified and [r.answer for r in receiver.received] == ["ok"]
        body = received.json()
        assert body["type"] == "recording.completed"
        assert body["data"]["links"]["recording"] == f"{published}/recordings/{recording_id}"
