"""Watched folders in the API process: the watcher starts in the app's lifespan only when folders are
configured, follows the Settings page (``PUT /watch-folders``), is woken by inotify events or polls (network
drives), and exports once the pipeline ends; one test with a real worker and Whisper tiny.en."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from stenograph.api import create_app
from stenograph.settings import Settings
from tests.audio_factory import AudioFactory
from tests.helpers import running_workers, wait_for
from tests.watch.conftest import run_tasks

QUICK = {"watch_stable_seconds": 0.5, "watch_scan_seconds": 0.5, "pipeline_steps": ["transcription", "summary"]}


@pytest.fixture
def make_client(make_settings: Any) -> Iterator[Any]:
    clients: list[TestClient] = []

    def make(**overrides: Any) -> TestClient:
        client = TestClient(create_app(make_settings(**{**QUICK, **overrides})), base_url="http://localhost")
        clients.append(client.__enter__())
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


def recordings(client: TestClient) -> list[dict[str, Any]]:
    return list(client.get("/recordings").json()["data"])


def copy_in_chunks(source: Path, target: Path, chunk: int = 4096) -> None:
    data = source.read_bytes()
    with target.open("wb") as out:
        for start in range(0, len(data), chunk):
            out.write(data[start : start + chunk])
            out.flush()


def test_the_settings_page_starts_the_watcher_and_the_outputs_follow_the_pipeline(
    make_client: Any, tmp_path: Path, audio: AudioFactory
) -> None:
    client = make_client()
    assert client.app.state.watch.watcher is None  # no folder configured: nothing watches
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    refused = client.put("/watch-folders", json={"folders": [{"path": "relative/dir"}]})
    assert refused.status_code == 422, refused.text
    bad_steps = client.put("/watch-folders", json={"folders": [{"path": str(inbox), "steps": ["nope"]}]})
    assert bad_steps.status_code == 422, bad_steps.text
    answer = client.put("/watch-folders", json={"folders": [{"path": str(inbox), "steps": ["transcription"]}]})
    assert answer.status_code == 200, answer.text
    assert answer.json()["folders"] == [
        {"path": str(inbox), "steps": ["transcription"], "language": None, "template": None}
    ]
    assert client.app.state.watch.watcher is not None
    copy_in_chunks(audio.make("wav_s16_16k"), inbox / "lecture.wav")
    [recording] = wait_for(lambda: recordings(client), timeout=30, what="the watched file to be taken")
    assert recording["name"] == "lecture.wav" and list(recording["steps"]) == ["transcription"]
    service = client.app.state.stenograph
    run_tasks(service)
    wait_for(lambda: (inbox / "lecture.txt").exists() and (inbox / "lecture.srt").exists(), timeout=30, what="exports")
    assert "good morning" in (inbox / "lecture.txt").read_text(encoding="utf-8")
    files = client.get("/watch-folders").json()["files"]
    assert [(f["path"], f["status"], f["recording_id"]) for f in files] == [
        (str(inbox / "lecture.wav"), "submitted", recording["id"])
    ]
    assert client.put("/watch-folders", json={"folders": []}).status_code == 200
    assert client.app.state.watch.watcher is None


def test_polling_for_network_drives_takes_the_files_of_the_settings_folders(
    make_client: Any, tmp_path: Path, audio: AudioFactory
) -> None:
    inbox = tmp_path / "share"
    inbox.mkdir()
    shutil.copyfile(audio.make("wav_s16_16k"), inbox / "before-start.wav")  # added while stopped
    client = make_client(watch_dirs=str(inbox), watch_polling=True)
    observer = client.app.state.watch.watcher._observer
    assert type(observer).__name__ == "PollingObserver"
    shutil.copyfile(audio.make("mp3_44k"), inbox / "after-start.mp3")
    wait_for(lambda: len(recordings(client)) == 2, timeout=30, what="both files to be taken")
    assert sorted(r["name"] for r in recordings(client)) == ["after-start.mp3", "before-start.wav"]
    assert client.get("/watch-folders").json()["from_settings"][0]["path"] == str(inbox)


@pytest.mark.slow
def test_a_real_worker_transcribes_a_dropped_file_and_its_subtitles_appear_in_the_export_folder(
    make_settings: Any, tmp_path: Path, audio: AudioFactory
) -> None:
    inbox, out = tmp_path / "inbox", tmp_path / "out"
    inbox.mkdir()
    folders = json.dumps([{"path": str(inbox), "steps": ["transcription"], "language": "en"}])
    settings: Settings = make_settings(**QUICK, watch_dirs=folders, export_dir=str(out), export_formats="srt,txt")
    with TestClient(create_app(settings), base_url="http://localhost"), running_workers(settings, tmp_path):
        copy_in_chunks(audio.make("wav_s16_16k"), inbox / "dictation.wav")
        wait_for(lambda: (out / "dictation.txt").exists(), timeout=240, interval=0.2, what="the export")
    heard = set((out / "dictation.txt").read_text(encoding="utf-8").lower().replace(".", " ").split())
    assert len({"quick", "brown", "fox", "lazy", "dog"} & heard) >= 3, heard
    assert "-->" in (out / "dictation.srt").read_text(encoding="utf-8")


def test_inotify_that_cannot_start_falls_back_to_polling(
    make_client: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, audio: AudioFactory
) -> None:
    from watchdog.observers import Observer

    def limit_reached(_self: object) -> None:
        raise OSError(28, "inotify watch limit reached")

    monkeypatch.setattr(Observer, "start", limit_reached)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    client = make_client(watch_dirs=str(inbox))
    assert type(client.app.state.watch.watcher._observer).__name__ == "PollingObserver"
    shutil.copyfile(audio.make("wav_s16_16k"), inbox / "late.wav")
    wait_for(lambda: [r["name"] for r in recordings(client)] == ["late.wav"], timeout=30, what="the file")
