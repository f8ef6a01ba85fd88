"""The desktop app's parts without a screen: tray state and notifications through their code path (a fake
toolkit records the calls), the js_api dialogs, the single-server lock, the .desktop entry."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from stenograph.desktop.bridge import DesktopApi
from stenograph.desktop.install import install_entry
from stenograph.desktop.status import StatusPoller, pipeline_outcome, status_text
from stenograph.instance import acquire, running_url


class FakeToolkit:
    def __init__(self) -> None:
        self.statuses: list[str] = []
        self.notices: list[tuple[str, str]] = []

    def set_status(self, text: str) -> None:
        self.statuses.append(text)

    def notify(self, title: str, body: str) -> None:
        self.notices.append((title, body))


class FakeApi:
    """/tasks counts and /recordings as a test sets them."""

    def __init__(self) -> None:
        self.counts = {"running": 0, "pending": 0}
        self.recordings: list[dict[str, Any]] = []
        self.uploads: list[str] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/tasks":
            return httpx.Response(200, json={"data": [], "count": self.counts[request.url.params["status"]]})
        if request.url.path == "/recordings" and request.method == "GET":
            return httpx.Response(200, json={"data": self.recordings, "count": len(self.recordings)})
        if request.url.path == "/recordings" and request.method == "POST":
            if b'filename="notes.exe"' in request.content:
                detail = {"code": "unsupported_media", "message": "notes.exe is not an audio or video file."}
                return httpx.Response(415, json={"detail": detail})
            self.uploads.append(request.content.decode("latin-1"))
            return httpx.Response(201, json={"data": [{"id": 40 + len(self.uploads)}]})
        if request.url.path == "/recordings/7/transcript":
            assert request.url.params["format"] == "srt"
            return httpx.Response(200, text="1\n00:00:00,000 --> 00:00:01,000\nhello\n")
        if request.url.path == "/recordings/7":
            return httpx.Response(200, json={"id": 7, "name": "meeting.wav"})
        return httpx.Response(404, json={"error": "not found"})


def client_on(api: FakeApi) -> httpx.Client:
    return httpx.Client(base_url="http://localhost", transport=httpx.MockTransport(api.handle))


def test_pipeline_outcome_from_step_states() -> None:
    assert pipeline_outcome({"transcription": "completed", "summary": "completed"}) == "completed"
    assert pipeline_outcome({"transcription": "completed", "summary": "failed"}) == "failed"
    assert pipeline_outcome({"transcription": "failed", "summary": "pending"}) is None
    assert pipeline_outcome({"transcription": "running"}) is None
    assert pipeline_outcome({"transcription": "cancelled"}) is None
    assert pipeline_outcome({}) is None


def test_tray_shows_running_and_pending_counts_and_notifies_when_pipelines_end() -> None:
    api, toolkit = FakeApi(), FakeToolkit()
    api.recordings = [{"id": 1, "name": "old.wav", "steps": {"transcription": "completed"}}]
    api.counts = {"running": 1, "pending": 3}
    poller = StatusPoller(client_on(api), toolkit)
    poller.poll_once()
    assert toolkit.statuses == ["Stenograph: 1 running, 3 pending"] == [status_text(1, 3)]
    assert toolkit.notices == []  # finished before the app started: no notice
    api.recordings += [
        {"id": 2, "name": "talk.wav", "steps": {"transcription": "running", "summary": "pending"}},
        {"id": 3, "name": "broken.mp3", "steps": {"transcription": "running"}},
    ]
    poller.poll_once()
    assert toolkit.notices == []
    api.counts = {"running": 0, "pending": 0}
    api.recordings[1]["steps"] = {"transcription": "completed", "summary": "completed"}
    api.recordings[2]["steps"] = {"transcription": "failed"}
    api.recordings.append({"id": 4, "name": "quick.wav", "steps": {"transcription": "completed"}})
    poller.poll_once()
    assert toolkit.statuses[-1] == "Stenograph: 0 running, 0 pending"
    assert sorted(toolkit.notices) == [
        ("Transcription done", "quick.wav is ready."),
        ("Transcription done", "talk.wav is ready."),
        ("Transcription failed", "broken.mp3: a step failed."),
    ]
    poller.poll_once()
    assert len(toolkit.notices) == 3  # once per ending


def test_qt_tray_passes_the_text_to_the_tray_icon_or_the_fallback() -> None:
    pytest.importorskip("PyQt6.QtWidgets", reason="the desktop extra (PyQt6) is not installed")
    from stenograph.desktop.tray import QtTray

    class FakeIcon:
        def __init__(self) -> None:
            self.calls: list[tuple[str, ...]] = []

        def setToolTip(self, text: str) -> None:
            self.calls.append(("tooltip", text))

        def showMessage(self, title: str, body: str) -> None:
            self.calls.append(("message", title, body))

    icon = FakeIcon()
    tray = QtTray(icon, tray_available=True, notifier=None)
    tray.set_status("Stenograph: 2 running, 0 pending")  # emitted in this thread: delivered at once
    tray.notify("Transcription done", "talk.wav is ready.")
    assert icon.calls == [
        ("tooltip", "Stenograph: 2 running, 0 pending"),
        ("message", "Transcription done", "talk.wav is ready."),
    ]
    fallback: list[tuple[str, str]] = []
    no_host = QtTray(FakeIcon(), tray_available=False, notifier=lambda t, b: fallback.append((t, b)))
    no_host.notify("Transcription failed", "x.wav: a step failed.")
    assert fallback == [("Transcription failed", "x.wav: a step failed.")]


class FakeWindow:
    def __init__(self, answer: Any) -> None:
        self.answer = answer
        self.asked: list[tuple[int, dict[str, Any]]] = []

    def create_file_dialog(self, dialog_type: int = 10, **options: Any) -> Any:
        self.asked.append((dialog_type, options))
        return self.answer


def test_open_dialog_uploads_the_chosen_files(tmp_path: Path) -> None:
    api = FakeApi()
    first, second = tmp_path / "a.wav", tmp_path / "b.mp3"
    first.write_bytes(b"RIFF-a")
    second.write_bytes(b"ID3-b")
    bridge = DesktopApi(client_on(api))
    window = FakeWindow((str(first), str(second)))
    bridge.attach(window)
    assert bridge.open_files() == [41, 42]
    assert window.asked[0][0] == 10 and window.asked[0][1]["allow_multiple"] is True
    assert 'filename="a.wav"' in api.uploads[0] and "RIFF-a" in api.uploads[0]
    assert 'filename="b.mp3"' in api.uploads[1]
    bridge.attach(FakeWindow(None))
    assert bridge.open_files() == []  # cancelled


def test_open_dialog_sends_the_upload_pages_fields(tmp_path: Path) -> None:
    api = FakeApi()
    chosen = tmp_path / "talk.wav"
    chosen.write_bytes(b"RIFF-talk")
    bridge = DesktopApi(client_on(api))
    bridge.attach(FakeWindow([str(chosen)]))
    assert bridge.open_files({"steps": "transcription,summary", "language": "de", "model": "", "glossary": None}) == [
        41
    ]
    body = api.uploads[0]
    assert 'name="steps"\r\n\r\ntranscription,summary\r\n' in body
    assert 'name="language"\r\n\r\nde\r\n' in body
    assert 'name="model"' not in body and 'name="glossary"' not in body  # empty values are left out
    assert 'filename="talk.wav"' in body and "RIFF-talk" in body


def test_a_refused_file_raises_with_the_servers_message(tmp_path: Path) -> None:
    api = FakeApi()
    good, bad = tmp_path / "talk.wav", tmp_path / "notes.exe"
    good.write_bytes(b"RIFF")
    bad.write_bytes(b"MZ")
    bridge = DesktopApi(client_on(api))
    bridge.attach(FakeWindow([str(good), str(bad)]))
    with pytest.raises(httpx.HTTPStatusError) as refused:
        bridge.open_files()
    assert str(refused.value) == "415 notes.exe: notes.exe is not an audio or video file."
    assert refused.value.response.status_code == 415
    assert len(api.uploads) == 1  # the file before it was uploaded
    bridge.attach(FakeWindow(("/tmp/x.srt",)))
    with pytest.raises(httpx.HTTPStatusError, match=r"^404 recording 9: Not Found$"):  # no message in the body
        bridge.save_export(9, "srt")


def test_save_dialog_writes_the_export(tmp_path: Path) -> None:
    target = tmp_path / "out" / "meeting.srt"
    target.parent.mkdir()
    window = FakeWindow((str(target),))
    bridge = DesktopApi(client_on(FakeApi()))
    bridge.attach(window)
    assert bridge.save_export(7, "srt") == str(target)
    assert target.read_text() == "1\n00:00:00,000 --> 00:00:01,000\nhello\n"
    assert window.asked == [(30, {"save_filename": "meeting.srt"})]
    with pytest.raises(ValueError, match="format"):
        bridge.save_export(7, "exe")


def test_one_lock_holder_per_data_directory(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = acquire(data)
    assert first is not None
    assert running_url(data) is None
    first.publish("http://127.0.0.1:8123")
    assert acquire(data) is None  # a second holder is refused (flock conflicts across open files)
    assert running_url(data) == "http://127.0.0.1:8123"
    assert json.loads((data / "server.json").read_text())["url"] == "http://127.0.0.1:8123"
    first.release()
    assert running_url(data) is None
    again = acquire(data)
    assert again is not None
    again.release()


def test_install_writes_a_desktop_entry_with_an_icon(tmp_path: Path) -> None:
    entry = install_entry(tmp_path / "share")
    assert entry == tmp_path / "share" / "applications" / "stenograph.desktop"
    lines = dict(line.split("=", 1) for line in entry.read_text().splitlines() if "=" in line)
    assert lines["Type"] == "Application" and lines["Name"] == "Stenograph"
    assert lines["Exec"].endswith(" desktop")
    icon = Path(lines["Icon"])
    assert icon.is_file() and icon.read_text().startswith("<svg")


def test_a_launch_on_a_held_data_directory_opens_on_the_running_server(tmp_path: Path) -> None:
    import signal

    from stenograph.desktop.app import run_desktop
    from stenograph.settings import build_settings

    settings = build_settings(data_dir=tmp_path / "data", llm="none")
    holder = acquire(settings.data_dir)  # as `serve` holds it
    assert holder is not None
    holder.publish("http://127.0.0.1:8456")
    opened: list[tuple[str, bool]] = []
    saved = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    try:
        status = run_desktop(settings, window=lambda url, _s, tray, _c: opened.append((url, tray)))
    finally:
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGINT, saved[0])
        signal.signal(signal.SIGTERM, saved[1])
        holder.release()
    assert status == 0
    assert opened == [("http://127.0.0.1:8456", False)]  # a window on it, no tray, no server of its own
    assert not (settings.data_dir / "stenograph.db").exists()


def test_a_second_launch_asks_the_first_window_to_come_forward(tmp_path: Path) -> None:
    import threading

    from stenograph.desktop.forward import ask_forward, listen

    raised = threading.Event()
    assert ask_forward(tmp_path) is False  # nobody listens (a `serve` holder): open a window instead
    listener = listen(tmp_path, raised.set)
    assert listener is not None
    try:
        assert ask_forward(tmp_path) is True
        assert raised.is_set()
    finally:
        listener.close()
    assert not (tmp_path / "desktop.sock").exists()
    assert ask_forward(tmp_path) is False


def test_a_listener_socket_that_cannot_be_bound_is_closed(tmp_path: Path) -> None:
    import gc
    import warnings

    from stenograph.desktop.forward import listen

    deep = tmp_path / ("d" * 120)  # desktop.sock's path is then too long for AF_UNIX (108 bytes)
    deep.mkdir()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        assert listen(deep, lambda: None) is None
        gc.collect()
    assert not [w for w in caught if issubclass(w.category, ResourceWarning)], "the socket was left open"
