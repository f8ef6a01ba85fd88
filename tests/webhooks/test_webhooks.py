"""Webhooks end to end: events raised when tasks end, signed deliveries through the queue with real worker
processes, retries through a receiver that fails, then times out, then answers, a worker restart between
attempts, the delivery log, the API and the test event (docs/webhooks.md)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from stenograph.api.app import create_app
from stenograph.recordings.store import TranscriptStore
from stenograph.service import Stenograph
from stenograph.settings import Settings
from stenograph.transcript.types import Segment
from stenograph.webhooks.events import recording_event
from stenograph.webhooks.signing import check_secret, new_secret, signed_headers
from tests.helpers import start_worker, stop_process, wait_for
from tests.webhooks.receiver import receiving

SECRET = new_secret()


@pytest.fixture
def service(settings: Settings) -> Iterator[Stenograph]:
    with Stenograph(settings) as service:
        yield service


def a_recording(store: TranscriptStore, text: str | None = None) -> int:
    recording_id = store.create_recording(
        name="meeting.wav", stored_name="x", size_bytes=1, duration_s=1.0, media={}, options={}
    )
    if text is not None:
        version, _ = store.draft_version(recording_id, task_id=0)
        store.add_segments(version.id, [Segment(index=0, start=0.0, end=1.0, text=text)])
        store.complete_version(version, language="en", info={})
    return recording_id


def sim(**spec: Any) -> dict[str, Any]:
    return {"simulate": {"seconds": 0.0, **spec}}


def test_a_signature_is_the_standard_webhooks_one() -> None:
    from datetime import UTC, datetime

    from standardwebhooks.webhooks import Webhook

    check_secret(SECRET)
    with pytest.raises(ValueError, match="whsec_"):
        check_secret("not-a-secret")
    at = datetime.now(UTC)
    headers = signed_headers(SECRET, "msg_1", at, '{"a":1}')
    assert headers["webhook-signature"].startswith("v1,")
    assert Webhook(SECRET).verify('{"a":1}', headers) == {"a": 1}
    tampered = {**headers, "webhook-id": "msg_2"}
    with pytest.raises(Exception, match="signature"):
        Webhook(SECRET).verify('{"a":1}', tampered)


def test_a_recording_event_waits_for_every_task_to_end() -> None:
    def steps(*statuses: str) -> list[dict[str, str]]:
        return [{"status": status} for status in statuses]

    assert recording_event(steps("completed", "running")) is None
    assert recording_event(steps("completed", "completed")) == "recording.completed"
    assert recording_event(steps("completed", "cancelled")) == "recording.completed"
    assert recording_event(steps("completed", "failed", "failed")) == "recording.failed"
    assert recording_event(steps("cancelled")) is None


def test_no_endpoint_no_delivery(service: Stenograph) -> None:
    recording_id = a_recording(service.store)
    task = service.queue.enqueue("transcription", sim(), recording_id=recording_id)
    claimed = service.queue.claim("w")
    assert claimed is not None and claimed.id == task.id
    service.queue.complete(task.id, "w", claimed.attempts, {})
    assert service.queue.list_tasks(type="webhook")[1] == 0


def test_a_failing_then_hanging_receiver_gets_the_event_on_the_third_attempt(
    make_settings: Any, tmp_path: Path
) -> None:
    """A recording's one task completes in a worker process: its completion enqueues one delivery; the
    receiver answers 500, then nothing (the attempt times out), then 204; every attempt is signed and
    carries the same webhook-id; the delivery log says delivered after 3 attempts; the webhook task belongs
    to no recording and its own completion raised no event."""
    with receiving(SECRET, ["fail", "hang"]) as receiver:
        settings = make_settings(
            webhook_urls=[receiver.url], webhook_secret=SECRET, webhook_timeout_seconds=1.0, webhook_allow_private=True
        )
        with Stenograph(settings) as service:
            recording_id = a_recording(service.store)
            task = service.queue.enqueue("transcription", sim(), recording_id=recording_id)
            worker = start_worker(settings, tmp_path / "worker.log")
            try:
                wait_for(lambda: receiver.delivered(), timeout=90, what="the delivery")
                deliveries = wait_for(
                    lambda: [d for d in service.webhook_deliveries(None) if d["status"] == "delivered"],
                    timeout=30,
                    what="the delivery log to say delivered",
                )
            finally:
                stop_process(worker)
            assert [r.answer for r in receiver.received] == ["fail", "hang", "ok"]
            assert all(r.verified for r in receiver.received)
            assert len({r.headers["webhook-id"] for r in receiver.received}) == 1
            body = receiver.received[-1].json()
            assert body["type"] == "recording.completed"
            assert body["data"]["recording"] == {"id": recording_id, "name": "meeting.wav"}
            assert body["data"]["steps"][0]["task_id"] == task.id
            assert body["data"]["steps"][0]["status"] == "completed"
            assert body["data"]["links"] is None  # no server URL, no server on the data dir: test_worker_apart.py
            assert "transcript" not in body["data"]  # no endpoint asked for the text
            (delivery,) = deliveries
            assert delivery["attempts"] == 3 and delivery["response_status"] == 204
            webhook_tasks, count = service.queue.list_tasks(type="webhook")
            assert count == 1 and webhook_tasks[0].recording_id is None and webhook_tasks[0].attempts == 3
            assert len(service.webhook_deliveries(None)) == 1  # the webhook task raised nothing


def test_a_worker_restart_between_attempts_loses_no_delivery(make_settings: Any, tmp_path: Path) -> None:
    """The receiver fails every attempt while the first worker runs; that worker is stopped with the
    delivery still to do; a second worker delivers it once the receiver answers."""
    with receiving(SECRET) as receiver:
        receiver.after = "fail"
        settings = make_settings(
            webhook_urls=[receiver.url],
            webhook_secret=SECRET,
            webhook_allow_private=True,  # the receiver is on loopback
            webhook_max_attempts=30,
            backoff_base_seconds=1.0,
            backoff_cap_seconds=1.0,
        )
        with Stenograph(settings) as service:
            recording_id = a_recording(service.store)
            service.queue.enqueue("transcription", sim(fail="permanent"), recording_id=recording_id)
            first = start_worker(settings, tmp_path / "first.log")
            try:
                wait_for(lambda: receiver.received, timeout=90, what="a first attempt")
            finally:
                stop_process(first)
            tasks, _ = service.queue.list_tasks(type="webhook")
            assert tasks and all(t.status == "pending" for t in tasks)
            assert not receiver.delivered()
            receiver.after = "ok"
            second = start_worker(settings, tmp_path / "second.log")
            try:
                wait_for(lambda: len({r.json()["type"] for r in receiver.delivered()}) == 2, timeout=90)
            finally:
                stop_process(second)
        events = sorted(r.json()["type"] for r in receiver.delivered())
        assert events == ["recording.failed", "task.failed"]
        failed = next(r.json() for r in receiver.delivered() if r.json()["type"] == "task.failed")
        assert failed["data"]["task"]["error_kind"] == "simulated_failure"


def test_the_api_adds_lists_tests_and_deletes_endpoints(make_settings: Any, tmp_path: Path) -> None:
    """Endpoints through /webhooks, each with its own secret; only the one that asks gets the transcript's
    text; the test event and the delivery log; deleting an endpoint."""
    settings = make_settings(webhook_allow_private=True)  # the receivers are on loopback
    with TestClient(create_app(settings), base_url="http://localhost") as client:
        with receiving(SECRET) as plain, receiving(SECRET) as wordy:
            created = client.post("/webhooks", json={"url": plain.url, "events": ["recording.completed"]})
            assert created.status_code == 201, created.text
            plain.secret = created.json()["secret"]  # generated, shown once
            wordy_hook = client.post(
                "/webhooks", json={"url": wordy.url, "secret": SECRET, "include_transcript": True}
            ).json()
            assert client.post("/webhooks", json={"url": "file:///etc/passwd"}).status_code == 422
            assert client.post("/webhooks", json={"url": plain.url, "secret": "nope"}).status_code == 422
            listed = client.get("/webhooks").json()
            assert listed["count"] == 2 and all("secret" not in hook for hook in listed["data"])

            service: Stenograph = client.app.state.stenograph  # type: ignore[attr-defined]
            recording_id = a_recording(service.store, text="Hello from the meeting.")
            service.queue.enqueue("transcription", sim(), recording_id=recording_id)
            tested = client.post(f"/webhooks/{created.json()['id']}/test")
            assert tested.status_code == 202 and tested.json()["event"] == "webhook.test"
            worker = start_worker(settings, tmp_path / "worker.log")
            try:
                wait_for(lambda: len(plain.delivered()) == 2 and len(wordy.delivered()) == 1, timeout=90)
            finally:
                stop_process(worker)
            assert all(r.verified for r in plain.received + wordy.received)
            by_type = {r.json()["type"]: r.json() for r in plain.delivered()}
            assert set(by_type) == {"webhook.test", "recording.completed"}
            assert "transcript" not in by_type["recording.completed"]["data"]
            assert wordy.delivered()[0].json()["data"]["transcript"]["text"] == "Hello from the meeting."
            log = client.get(f"/webhooks/{created.json()['id']}/deliveries").json()
            assert log["count"] == 2 and {d["status"] for d in log["data"]} == {"delivered"}
        assert client.delete(f"/webhooks/{wordy_hook['id']}").status_code == 204
        assert client.get(f"/webhooks/{wordy_hook['id']}/deliveries").status_code == 404
        assert client.get("/webhooks").json()["count"] == 1


def test_webhook_settings_are_checked(make_settings: Any) -> None:
    with pytest.raises(ValueError, match="SECRET"):
        make_settings(webhook_urls=["http://127.0.0.1:9/hook"])
    with pytest.raises(ValueError, match="http"):
        make_settings(webhook_urls=["ftp://example.org/"], webhook_secret=SECRET)
    settings: Settings = make_settings(webhook_urls="http://a.example/h, https://b.example/h", webhook_secret=SECRET)
    assert settings.webhook_urls == ["http://a.example/h", "https://b.example/h"]
    assert "webhook" not in settings.pipeline_steps and "webhook" in settings.task_types


def test_the_queue_calls_its_finish_hooks_on_completions_and_final_failures_only(
    engine: Any, settings: Settings
) -> None:
    """The generic hook: called in the ending transaction with the ids, for a completion and a failure
    that is final; not for a failed attempt that will be retried, nor for a cancel."""
    from stenograph.queue import TaskQueue

    seen: list[list[int]] = []
    queue = TaskQueue(engine, settings, on_finished=[lambda _q, conn, ids: seen.append(list(ids))])
    done = queue.enqueue("summary", {})
    claimed = queue.claim("w")
    assert claimed is not None
    queue.complete(done.id, "w", claimed.attempts, {})
    twice = queue.enqueue("summary", {}, max_attempts=2)
    for attempt in (1, 2):
        wait_for(lambda: queue.claim("w"), timeout=10, what="the task (after the retry's backoff)")
        queue.fail(twice.id, "w", attempt, kind="k", message="m", retryable=True)
    queue.cancel(queue.enqueue("summary", {}).id)
    assert seen == [[done.id], [twice.id]]


def hooked(make_settings: Any) -> Settings:
    settings: Settings = make_settings(webhook_urls=["http://127.0.0.1:9/hook"], webhook_secret=SECRET)
    return settings


def run_one(service: Stenograph, type: str, recording_id: int) -> int:
    """Enqueue a task of ``type`` on the recording (first in line), claim and complete it; returns its id."""
    task = service.queue.enqueue(type, sim(), recording_id=recording_id, priority=5000)
    claimed = service.queue.claim("w")
    assert claimed is not None and claimed.id == task.id
    service.queue.complete(task.id, "w", claimed.attempts, {})
    return task.id


@pytest.mark.parametrize("standalone", ["ask", "webhook"])
def test_a_standalone_task_with_a_recording_raises_no_event(make_settings: Any, standalone: str) -> None:
    """A question (or any standalone-type task) about a recording raises no webhook when it ends, whether
    it ended alone or after the recording's pipeline; it is not one of the event's steps."""
    with Stenograph(hooked(make_settings)) as service:
        run_one(service, standalone, a_recording(service.store))
        assert service.webhook_deliveries(None) == []

        done = a_recording(service.store)
        pipeline = run_one(service, "transcription", done)
        (delivery,) = service.webhook_deliveries(None)
        assert delivery["event"] == "recording.completed"
        run_one(service, standalone, done)
        assert len(service.webhook_deliveries(None)) == 1  # the later task raised nothing
        assert [step["task_id"] for step in delivery["payload"]["data"]["steps"]] == [pipeline]


def test_a_pending_question_does_not_hold_back_the_pipeline_s_completion(make_settings: Any) -> None:
    with Stenograph(hooked(make_settings)) as service:
        recording_id = a_recording(service.store)
        service.queue.enqueue("ask", sim(), recording_id=recording_id)  # still pending
        run_one(service, "transcription", recording_id)
        assert [d["event"] for d in service.webhook_deliveries(None)] == ["recording.completed"]


def test_a_delivery_is_claimed_before_the_waiting_pipeline_backlog(make_settings: Any) -> None:
    """Webhook tasks get WEBHOOK_PRIORITY, between pipeline tasks (0) and interactive ones: a free slot
    takes a delivery before pipeline tasks enqueued earlier, and after a waiting interactive task."""
    from stenograph.steps.base import INTERACTIVE_PRIORITY
    from stenograph.webhooks.events import WEBHOOK_PRIORITY

    assert 0 < WEBHOOK_PRIORITY < INTERACTIVE_PRIORITY
    with Stenograph(hooked(make_settings)) as service:
        for _ in range(3):  # the backlog, enqueued before the delivery
            service.queue.enqueue("transcription", sim(), recording_id=a_recording(service.store))
        question = service.queue.enqueue("ask", sim(), priority=INTERACTIVE_PRIORITY)
        run_one(service, "transcription", a_recording(service.store))
        (delivery,) = service.webhook_deliveries(None)
        claims = [service.queue.claim("w") for _ in range(2)]
        assert [task.id for task in claims if task is not None] == [question.id, delivery["task_id"]]
        assert claims[1] is not None and claims[1].type == "webhook" and claims[1].priority == WEBHOOK_PRIORITY


#: Webhook URLs whose hosts are no public address: cloud metadata (link-local), loopback by address, name
#: and IPv4-mapped IPv6, private ranges, unspecified.
PRIVATE_URLS = [
    "http://169.254.169.254/latest/meta-data/",
    "http://127.0.0.1:9/hook",
    "http://localhost:5678/webhook/stenograph",
    "http://[::1]:8080/hook",
    "http://[::ffff:127.0.0.1]/hook",
    "https://10.0.0.5/hook",
    "http://192.168.1.20:5678/hook",
    "http://0.0.0.0/hook",
]


def test_a_webhook_to_a_private_or_link_local_address_is_refused_at_registration(make_settings: Any) -> None:
    with TestClient(create_app(make_settings()), base_url="http://localhost") as client:
        for url in PRIVATE_URLS:
            refused = client.post("/webhooks", json={"url": url})
            assert refused.status_code == 422, (url, refused.text)
            detail = refused.json()["detail"]
            assert detail["code"] == "refused_url", url
            assert "loopback, private or reserved" in detail["message"], url
            assert "STENOGRAPH_WEBHOOK_ALLOW_PRIVATE=true" in detail["message"], url
        unknown = client.post("/webhooks", json={"url": "http://no-such-host.invalid/hook"})
        assert unknown.status_code == 422 and "does not resolve" in unknown.json()["detail"]["message"]
        assert client.get("/webhooks").json()["count"] == 0
    allowed = make_settings(webhook_allow_private=True)
    with TestClient(create_app(allowed, migrate=False), base_url="http://localhost") as client:
        for url in PRIVATE_URLS[:3]:
            assert client.post("/webhooks", json={"url": url}).status_code == 201, url


def test_a_name_that_later_resolves_to_a_private_address_fails_the_delivery(
    make_settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The name resolves to a public address at registration and to loopback at the delivery (DNS
    rebinding): the delivery's connection is refused, nothing reaches the receiver, and the delivery is
    failed at once (no retry) with an error naming the setting that allows it."""
    import socket

    from stenograph import net_guard
    from stenograph.errors import PermanentError
    from stenograph.steps.base import StepContext, run_step
    from stenograph.steps.registry import get_step
    from tests.steps.conftest import FakeTask

    real = net_guard._original_getaddrinfo
    answer = {"ip": "93.184.216.34"}  # a public address (example.com's)

    def resolver(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "hooks.example.test":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answer["ip"], port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(net_guard, "_original_getaddrinfo", resolver)
    settings = make_settings()
    with receiving(SECRET) as receiver, Stenograph(settings) as service:
        port = receiver.url.split(":")[2].split("/")[0]
        endpoint = service.create_webhook(url=f"http://hooks.example.test:{port}/hook", secret=SECRET)
        answer["ip"] = "127.0.0.1"  # the name now points at this machine
        delivery = service.send_test_webhook(endpoint["id"])
        task = FakeTask(settings, task_id=delivery["task_id"], task_type="webhook")
        with pytest.raises(PermanentError, match="STENOGRAPH_WEBHOOK_ALLOW_PRIVATE") as refused:
            run_step(get_step("webhook"), StepContext(task, store=service.store), {"delivery_id": delivery["id"]})
        assert refused.value.kind == "refused_url" and not refused.value.retryable
        logged = service.webhooks.delivery(delivery["id"])
        assert logged["status"] == "failed" and logged["attempts"] == 1
        assert logged["error"].startswith("refused: 127.0.0.1 is a loopback, private or reserved address")
        assert receiver.received == []
