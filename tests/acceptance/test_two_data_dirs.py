"""Two ``stenograph serve`` sharing one PostgreSQL database, each with its own data directory and no server
URL: each upload is transcribed by the worker that has its file; no task fails because another worker
took it (before, 5 of 6 failed on their first attempt: "not in this worker's data directory")."""

from __future__ import annotations

import contextlib
import signal
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from stenograph.datadir import data_dir_id
from tests.audio_factory import AudioFactory
from tests.helpers import free_port, start_process, stop_process, wait_for

pytestmark = pytest.mark.slow


def test_each_server_transcribes_its_own_uploads(
    backend: str, make_settings: Any, audio: AudioFactory, tmp_path: Path
) -> None:
    if backend != "postgres":
        pytest.skip("servers with different data directories share a database on PostgreSQL only")
    wav = audio.speech_wav("Each server keeps its own recordings.")
    servers: list[tuple[subprocess.Popen[bytes], httpx.Client]] = []
    try:
        for name in ("left", "right"):
            settings = make_settings(data_dir=tmp_path / name, poll_interval=0.2)
            port = free_port()
            process = start_process(
                ["-m", "stenograph.cli", "serve", "--port", str(port)], settings, tmp_path / f"{name}.log"
            )
            client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60)
            servers.append((process, client))
        for process, client in servers:

            def healthy(process: subprocess.Popen[bytes] = process, client: httpx.Client = client) -> bool:
                assert process.poll() is None
                with contextlib.suppress(httpx.TransportError):
                    return client.get("/health").status_code == 200
                return False

            wait_for(healthy, timeout=90, what="a server")
        uploads: list[tuple[httpx.Client, int]] = []
        for _ in range(3):
            for _, client in servers:
                with wav.open("rb") as handle:
                    response = client.post(
                        "/recordings", files={"file": (wav.name, handle)}, data={"steps": "transcription"}
                    )
                assert response.status_code == 201, response.text
                uploads.append((client, response.json()["data"][0]["tasks"][0]["id"]))
        _, first = servers[0]

        def ended() -> list[dict[str, Any]] | None:
            tasks = [first.get(f"/tasks/{task_id}").json() for _, task_id in uploads]
            return tasks if all(t["status"] in ("completed", "failed", "cancelled") for t in tasks) else None

        tasks = wait_for(ended, timeout=300, interval=0.5, what="every transcription to end")
    finally:
        for process, client in servers:
            client.close()
            with contextlib.suppress(subprocess.TimeoutExpired):
                stop_process(process, sig=signal.SIGINT)
    assert [t["status"] for t in tasks] == ["completed"] * 6, [t.get("error") for t in tasks]
    assert all(t["attempts"] == 1 for t in tasks)
    ids = {name: data_dir_id(tmp_path / name) for name in ("left", "right")}
    for task in tasks:  # each ran where its file is
        assert task["affinity"] in ids.values()
