"""``stenograph serve`` as a user runs it: the HTTP API end to end, supervised workers, Ctrl-C, tokens."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from stenograph.settings import Settings
from tests.helpers import REPO, free_port, pid_alive, start_process, stop_process, wait_for


class Served:
    def __init__(self, process: subprocess.Popen[bytes], url: str, log: Path) -> None:
        self.process = process
        self.url = url
        self.log = log
        self.client = httpx.Client(base_url=url, timeout=30)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def live_workers(self) -> list[dict[str, object]]:
        return [w for w in self.client.get("/workers").json()["data"] if w["live"]]


@pytest.fixture
def served(settings: Settings, tmp_path: Path) -> Iterator[Served]:
    port = free_port()
    log = tmp_path / "serve.log"
    process = start_process(["-m", "stenograph.cli", "serve", "--port", str(port)], settings, log)
    served = Served(process, f"http://127.0.0.1:{port}", log)

    def healthy() -> bool:
        assert process.poll() is None, served.output()
        try:
            return served.client.get("/health").status_code == 200
        except httpx.TransportError:
            return False

    wait_for(healthy, timeout=60, what="the server")
    yield served
    with contextlib.suppress(subprocess.TimeoutExpired):
        stop_process(process, sig=signal.SIGINT)


def test_http_api_end_to_end(served: Served) -> None:
    api = served.client
    wait_for(lambda: served.live_workers(), timeout=60, what="a live worker")
    created = api.post("/tasks/test/transcription", json={"seconds": 1})
    assert created.status_code == 201
    task = created.json()
    assert task["status"] == "pending" and task["type"] == "transcription"
    expected = {
        "id",
        "type",
        "status",
        "priority",
        "params",
        "result",
        "error",
        "attempts",
        "max_attempts",
        "run_after",
        "created_at",
        "started_at",
        "finished_at",
        "duration_s",
        "worker_id",
        "lease_expires_at",
        "progress",
        "progress_message",
        "eta_s",
        "cancel_requested",
        "depends_on",
    }
    assert expected <= set(task)
    done = wait_for(lambda: (t := api.get(f"/tasks/{task['id']}").json())["status"] == "completed" and t, timeout=60)
    assert done["duration_s"] >= 1 and done["started_at"] and done["finished_at"].endswith("Z")
    assert [(e["from_status"], e["to_status"]) for e in done["events"]] == [
        (None, "pending"),
        ("pending", "running"),
        ("running", "completed"),
    ]

    listing = api.get("/tasks", params={"status": "completed", "type": "transcription"}).json()
    assert listing["count"] == 1 and listing["data"][0]["id"] == task["id"]

    long = api.post("/tasks/test/summary", json={"seconds": 120}).json()
    wait_for(lambda: api.get(f"/tasks/{long['id']}").json()["progress"] > 0, timeout=60)
    assert api.delete(f"/tasks/{long['id']}").status_code == 409
    assert api.delete(f"/tasks/{long['id']}").json()["detail"]["code"] == "illegal_transition"
    cancel = api.post(f"/tasks/{long['id']}/cancel")
    assert cancel.status_code == 202 and cancel.json()["cancel_requested"] is True
    wait_for(lambda: api.get(f"/tasks/{long['id']}").json()["status"] == "cancelled", timeout=30)
    again = api.post(f"/tasks/{long['id']}/cancel")
    assert again.status_code == 409 and again.json()["detail"]["status"] == "cancelled"
    retried = api.post(f"/tasks/{long['id']}/retry")
    assert retried.status_code == 200 and retried.json()["status"] in ("pending", "running")
    pending = api.post("/tasks/test/correction", json={"seconds": 1, "priority": -5})
    assert api.post(f"/tasks/{pending.json()['id']}/cancel").status_code in (200, 202)

    assert api.get("/tasks/999999").status_code == 404
    unknown = api.post("/tasks/test/translation")
    assert unknown.status_code == 422 and "transcription" in unknown.json()["detail"]["message"]
    metrics = api.get("/metrics").text
    assert 'stenograph_tasks{status="completed",type="transcription"} 1.0' in metrics
    assert "stenograph_task_duration_seconds_bucket" in metrics and "stenograph_workers_live 1.0" in metrics
    assert api.get("/openapi.json").json()["paths"]["/tasks"]


def test_event_stream_sends_task_changes(served: Served) -> None:
    with httpx.stream("GET", served.url + "/events", timeout=60) as stream:
        created = served.client.post("/tasks/test/transcription", json={"seconds": 0}).json()
        statuses = []
        event = None
        for line in stream.iter_lines():
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and event == "task":
                data = json.loads(line.split(":", 1)[1])
                if data["id"] == created["id"]:
                    statuses.append(data["status"])
                    if data["status"] == "completed":
                        break
    assert statuses[-1] == "completed"


def test_serve_restarts_a_killed_worker_and_stops_cleanly_on_ctrl_c(served: Served) -> None:
    [first] = wait_for(lambda: served.live_workers(), timeout=60, what="a live worker")
    wait_for(lambda: "[Worker] " in served.output() and " ready: " in served.output(), timeout=60)
    os.kill(int(str(first["pid"])), signal.SIGKILL)
    replacement = wait_for(
        lambda: [w for w in served.live_workers() if w["id"] != first["id"]], timeout=90, what="a new worker"
    )
    assert replacement[0]["pid"] != first["pid"]
    wait_for(lambda: "restarting in" in served.output(), timeout=30)
    served.process.send_signal(signal.SIGINT)
    assert served.process.wait(60) == 0
    assert not pid_alive(int(str(replacement[0]["pid"])))


def test_serve_with_several_workers_prefixes_their_output(make_settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings()
    port = free_port()
    log = tmp_path / "serve.log"
    process = start_process(["-m", "stenograph.cli", "serve", "--port", str(port), "--workers", "2"], settings, log)
    try:
        wait_for(lambda: "[Worker 1]" in log.read_text() and "[Worker 2]" in log.read_text(), timeout=90)
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(60) == 0


def test_binding_beyond_loopback_needs_a_token(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "stenograph.cli", "serve", "--host", "0.0.0.0", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
    )
    assert result.returncode == 2
    assert "STENOGRAPH_API_TOKEN" in result.stderr


def serve_refused(tmp_path: Path, args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``python -m stenograph serve ARGS`` that must exit before binding."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("STENOGRAPH_")}
    environment.update(env)
    return subprocess.run(
        [sys.executable, "-m", "stenograph", "serve", "--data-dir", str(tmp_path), "--workers", "0", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
        env=environment,
    )


@pytest.mark.parametrize(
    ("args", "env"),
    [(["--host", ""], {}), ([], {"STENOGRAPH_HOST": ""})],
    ids=["flag", "environment"],
)
def test_an_empty_host_needs_a_token(tmp_path: Path, args: list[str], env: dict[str, str]) -> None:
    result = serve_refused(tmp_path, args, env)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "refusing to bind" in result.stderr and "STENOGRAPH_API_TOKEN" in result.stderr


def test_serving_beyond_loopback_needs_a_long_token(tmp_path: Path) -> None:
    short = serve_refused(tmp_path, ["--host", "0.0.0.0"], {"STENOGRAPH_API_TOKEN": "x"})
    assert short.returncode == 2 and "at least 16" in short.stderr
    empty = serve_refused(tmp_path, [], {"STENOGRAPH_API_TOKEN": ""})
    assert empty.returncode == 2 and "STENOGRAPH_API_TOKEN" in empty.stderr and "empty" in empty.stderr


def test_sign_in_links_are_redacted_in_the_access_log(make_settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    token = "access-log-token-0123456789"
    port = free_port()
    log = tmp_path / "serve.log"
    settings = make_settings(api_token=token)
    process = start_process(["-m", "stenograph", "serve", "--port", str(port), "--workers", "0"], settings, log)
    try:
        client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)

        def healthy() -> bool:
            assert process.poll() is None, log.read_text()
            try:
                return client.get("/health").status_code == 200
            except httpx.TransportError:
                return False

        wait_for(healthy, timeout=60, what="the server")
        assert client.get("/", params={"token": token}).status_code == 303
        wait_for(lambda: "/?token=***" in log.read_text(), timeout=10, what="the access log line")
        assert token not in log.read_text()
    finally:
        with contextlib.suppress(subprocess.TimeoutExpired):
            stop_process(process, sig=signal.SIGINT)


def test_token_is_required_on_every_request_but_health(make_settings) -> None:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from stenograph.api import create_app

    client = TestClient(create_app(make_settings(api_token="s3cret")), base_url="http://localhost")
    assert client.get("/health").status_code == 200
    assert client.get("/tasks").status_code == 401
    assert client.get("/tasks", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/tasks", headers={"Authorization": "Bearer s3cret"}).status_code == 200
    assert client.post("/auth/login", json={"token": "nope"}).status_code == 401
    login = client.post("/auth/login", json={"token": "s3cret"})
    assert login.status_code == 200 and "httponly" in login.headers["set-cookie"].lower()
    assert client.get("/tasks").status_code == 200  # the cookie now stands for the token
    browser = TestClient(
        create_app(make_settings(api_token="s3cret")), base_url="http://localhost", follow_redirects=False
    )
    page = browser.get("/", headers={"accept": "text/html"})
    assert page.status_code == 401 and 'method="post"' in page.text
    wrong = browser.post("/auth/form", data={"token": "nope"})
    assert wrong.status_code == 401 and "Wrong API token" in wrong.text
    right = browser.post("/auth/form", data={"token": "s3cret"})
    assert right.status_code == 303 and "httponly" in right.headers["set-cookie"].lower()
    assert browser.get("/tasks").status_code == 200
