"""A worker on "another machine": its own data directory, the API server's PostgreSQL database, and the
recording fetched from the API server over HTTP with the API token (``stenograph worker --database-url
... --server-url ...``), as docs/scaling.md describes."""

from __future__ import annotations

import contextlib
import re
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from stenograph.settings import Settings
from tests.audio_factory import AudioFactory
from tests.helpers import free_port, start_process, stop_process, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

TOKEN = "remote-s3cret"


@contextlib.contextmanager
def api_only_server(settings: Settings, log: Path) -> Iterator[httpx.Client]:
    """``stenograph serve --workers 0`` on ``settings``; yields a client sending the API token."""
    port = free_port()
    process = start_process(["-m", "stenograph.cli", "serve", "--port", str(port), "--workers", "0"], settings, log)
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30)

    def healthy() -> bool:
        assert process.poll() is None, log.read_text(errors="replace")
        try:
            return client.get("/health").status_code == 200
        except httpx.TransportError:
            return False

    try:
        wait_for(healthy, timeout=60, what="the API server")
        yield client
    finally:
        client.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            stop_process(process, sig=signal.SIGINT)


def remote_worker(
    settings: Settings, database_url: str, server_url: str, token: str, log: Path
) -> subprocess.Popen[bytes]:
    """``stenograph worker --database-url ... --server-url ...`` with ``settings`` (its own data directory,
    its own SQLite URL in the environment: the flag must win) and ``token`` as STENOGRAPH_API_TOKEN."""
    args = ["-m", "stenograph.cli", "worker", "--database-url", database_url, "--server-url", server_url]
    return start_process(args, settings, log, extra_env={"STENOGRAPH_API_TOKEN": token})


def finished(api: httpx.Client, task_id: int, timeout: float) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        task: dict[str, Any] = api.get(f"/tasks/{task_id}").json()
        return task if task["status"] in ("completed", "failed", "cancelled") else None

    task = wait_for(done, timeout=timeout, interval=0.2, what=f"task {task_id} to finish")
    assert task is not None
    return task


@pytest.mark.parametrize("backend", [pytest.param("postgres", marks=pytest.mark.postgres)])
def test_a_worker_without_the_data_directory_fetches_the_recording_from_the_api(
    make_settings: Any, database_url: str, audio: AudioFactory, tmp_path: Path
) -> None:
    server_settings: Settings = make_settings(data_dir=tmp_path / "server", api_token=TOKEN, whisper_model="tiny.en")
    worker_dir = tmp_path / "worker"
    worker_settings: Settings = make_settings(data_dir=worker_dir, database_url=None, whisper_model="tiny.en")
    assert worker_settings.is_sqlite  # the environment names SQLite in the worker's folder: --database-url wins
    serve_log = tmp_path / "serve.log"
    with api_only_server(server_settings, serve_log) as api:
        speech = audio.make("wav_s16_16k")
        with speech.open("rb") as handle:
            created = api.post("/recordings", files={"file": (speech.name, handle)}, data={"steps": "transcription"})
        assert created.status_code == 201, created.text
        recording = created.json()["data"][0]
        task_id = recording["tasks"][0]["id"]
        server_url = str(api.base_url).rstrip("/")

        refused_log = tmp_path / "refused.log"
        refused = remote_worker(worker_settings, database_url, server_url, "wrong-token", refused_log)
        try:
            assert refused.wait(120) == 2  # the start check: the token is refused before any task is taken
        finally:
            stop_process(refused)
        assert "refused STENOGRAPH_API_TOKEN" in refused_log.read_text(errors="replace")
        assert api.get(f"/tasks/{task_id}").json()["status"] == "pending"  # nothing lost to a bad worker

        worker_log = tmp_path / "worker.log"
        worker = remote_worker(worker_settings, database_url, server_url, TOKEN, worker_log)
        try:
            task = finished(api, task_id, timeout=300)
        finally:
            stop_process(worker)
        assert task["status"] == "completed", (task, worker_log.read_text(errors="replace"))
        assert worker.returncode == 0

        text = api.get(f"/recordings/{recording['id']}/transcript").json()["text"]
        heard = {"quick", "brown", "fox", "lazy", "dog"} & set(re.findall(r"[a-z']+", text.lower()))
        assert len(heard) >= 3, text

    served = serve_log.read_text(errors="replace")
    media = f"GET /recordings/{recording['id']}/media HTTP/1.1"
    assert 'GET /workers HTTP/1.1" 401' in served  # the misconfigured worker's start check
    assert f'{media}" 200' in served and f'{media}" 401' not in served  # fetched over HTTP, once allowed
    assert (worker_dir / "fetched").is_dir() and not any((worker_dir / "fetched").iterdir())  # deleted after
    assert not (worker_dir / "recordings").exists()  # the worker never had the upload in its data directory
    assert "fetched from " + server_url in worker_log.read_text(errors="replace")
