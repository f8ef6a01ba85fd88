"""``stenograph desktop`` under a virtual screen (Xvfb): the window shows the Processing page (screenshot in
test-artifacts/), an upload completes through the window's server, a second launch starts no second server,
and closing (SIGTERM) leaves no task running and no process behind."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from stenograph.queue import TaskQueue
from stenograph.settings import Settings
from tests.audio_factory import AudioFactory
from tests.helpers import REPO, free_port, pid_alive, start_process, stop_process, wait_for

pytest.importorskip("webview", reason="the desktop extra (pywebview, PyQt6-WebEngine) is not installed")
pytest.importorskip("PyQt6.QtWebEngineWidgets", reason="PyQt6-WebEngine or a library it loads is missing")
if shutil.which("Xvfb") is None:
    pytest.skip("Xvfb is absent (apt-get install xvfb): no virtual screen for the window", allow_module_level=True)

ARTIFACTS = REPO / "test-artifacts"


@pytest.fixture
def display(tmp_path: Path) -> Iterator[str]:
    """A fresh Xvfb on a free display number (Xvfb picks it and writes it to -displayfd)."""
    reader, writer = os.pipe()
    process = subprocess.Popen(
        ["Xvfb", "-displayfd", str(writer), "-screen", "0", "1280x900x24", "-nolisten", "tcp"],
        pass_fds=(writer,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(writer)
    with os.fdopen(reader) as handle:
        number = handle.readline().strip()
    assert number, "Xvfb did not start"
    try:
        yield f":{number}"
    finally:
        process.terminate()
        process.wait(10)


def descendants(pid: int) -> set[int]:
    """Every process below ``pid`` (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                children.setdefault(parent, []).append(int(entry.name))
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def launch(settings: Settings, display: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {"DISPLAY": display, "QT_QPA_PLATFORM": "xcb", "QTWEBENGINE_CHROMIUM_FLAGS": "--no-sandbox"}
    return start_process(["-m", "stenograph.cli", "desktop", "--port", str(port)], settings, log, env)


# Long because it is one user session: open, upload, second launch, close, each step needing the previous.
def test_desktop_window_upload_second_launch_and_close(
    settings: Settings, queue: TaskQueue, display: str, tmp_path: Path, audio: AudioFactory
) -> None:
    port = free_port()
    log = tmp_path / "desktop.log"
    process = launch(settings, display, port, log)
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)

    def output() -> str:
        return log.read_text(errors="replace")

    try:
        # The window loads the web app on #/processing: its module and the task list the page asks for.
        wait_for(lambda: process.poll() is None and "processing.js" in output(), timeout=120, what="the window")
        wait_for(
            lambda: '"GET /tasks?limit=' in output() and '"GET /events' in output(),
            timeout=60,
            what="the Processing page's requests",
        )
        wait_for(lambda: "[Worker]" in output() and " ready: " in output(), timeout=90, what="the worker")
        ARTIFACTS.mkdir(exist_ok=True)
        shot = ARTIFACTS / "desktop-processing.png"
        if shutil.which("import"):
            subprocess.run(["import", "-display", display, "-window", "root", str(shot)], check=True, timeout=60)
            assert shot.stat().st_size > 10_000  # a rendered page, not a blank screen

        # An upload through the window's server completes its pipeline.
        speech = audio.speech_wav()
        uploaded = client.post("/recordings", files=[("file", ("hello.wav", speech.read_bytes()))])
        assert uploaded.status_code == 201, uploaded.text
        rid = uploaded.json()["data"][0]["id"]

        def finished() -> dict[str, str] | None:
            steps: dict[str, str] = client.get(f"/recordings/{rid}").json()["steps"]
            return steps if steps and all(s in ("completed", "failed") for s in steps.values()) else None

        steps = wait_for(finished, timeout=180, what="the pipeline")
        assert set(steps.values()) == {"completed"}, steps

        # A second launch brings the first window forward and starts no server; `serve` is refused.
        second_log = tmp_path / "second.log"
        second = launch(settings, display, free_port(), second_log)
        try:
            assert second.wait(120) == 0, second_log.read_text()
        finally:
            stop_process(second, timeout=30)
        assert f"already runs on http://127.0.0.1:{port}: brought its window forward" in second_log.read_text()
        assert "another launch asked for the window" in output()
        assert "[Worker]" not in second_log.read_text()
        assert len([w for w in client.get("/workers").json()["data"] if w["live"]]) == 1
        serve = subprocess.run(
            [*_python(), "-m", "stenograph.cli", "serve", "--port", str(free_port())],
            env=_env(settings),
            capture_output=True,
            timeout=120,
            cwd=REPO,
        )
        assert serve.returncode == 2 and b"another Stenograph server holds" in serve.stderr

        # Closing with a task running: it gets its grace period, ends, and nothing stays behind.
        task = client.post("/tasks/test/transcription", json={"seconds": 3}).json()
        wait_for(lambda: client.get(f"/tasks/{task['id']}").json()["status"] == "running", timeout=60)
        below = descendants(process.pid)
        assert below, "the desktop app runs a worker and Qt WebEngine processes"
        assert stop_process(process, timeout=90) == 0, output()
        assert queue.list_tasks(status="running", limit=1)[1] == 0
        assert queue.get(task["id"]).status == "completed"  # 3 s fit in the grace period
        wait_for(lambda: not [p for p in below if pid_alive(p)], timeout=30, what="no process behind")
        assert not (settings.data_dir / "server.json").exists()
    finally:
        with contextlib.suppress(subprocess.TimeoutExpired):
            stop_process(process, timeout=30, sig=signal.SIGKILL)


def _python() -> list[str]:
    import sys

    return [sys.executable]


def _env(settings: Settings) -> dict[str, str]:
    from stenograph.supervisor import settings_environment

    return settings_environment(settings)
