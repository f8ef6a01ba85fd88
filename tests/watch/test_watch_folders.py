"""Watched folders in the test's process (docs/watch-folders.md): a file is taken once it stopped growing,
once per content (renames, moves and restarts take nothing twice; changed content is taken again), a file
that is not media is skipped for good, and the outputs are exported atomically without overwriting."""

from __future__ import annotations

import logging
import os
import shutil
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from stenograph.db.models import WatchedFile
from stenograph.service import Stenograph
from stenograph.watch.export import write_atomically
from tests.audio_factory import AudioFactory
from tests.watch.conftest import Clock, new_watcher, run_tasks, settle


def names(service: Stenograph) -> list[str]:
    recordings, _count = service.list_recordings(limit=100)
    return sorted(recording.name for recording in recordings)


def test_a_file_copied_in_slowly_is_taken_once_it_stopped_growing(
    service: Stenograph, inbox: Path, audio: AudioFactory
) -> None:
    speech = audio.make("wav_s16_16k").read_bytes()
    clock, watcher = Clock(), new_watcher(service, Clock())
    watcher.clock = clock
    target = inbox / "talk.wav"
    with target.open("wb") as out:
        for start in range(0, len(speech), 8192):
            out.write(speech[start : start + 8192])
            out.flush()
            assert watcher.scan() is True  # still settling: growing files are never read
            clock.now += 1.0  # less than the 2 s stability interval between two chunks
    assert names(service) == []
    settle(watcher, clock)
    recordings, _ = service.list_recordings()
    assert [(r.name, r.size_bytes) for r in recordings] == [("talk.wav", len(speech))]
    settle(watcher, clock)
    assert names(service) == ["talk.wav"]


def test_two_files_at_once_become_two_recordings(service: Stenograph, inbox: Path, audio: AudioFactory) -> None:
    shutil.copyfile(audio.make("wav_s16_16k"), inbox / "one.wav")
    shutil.copyfile(audio.make("mp3_44k"), inbox / "two.mp3")
    clock = Clock()
    settle(new_watcher(service, clock), clock)
    assert names(service) == ["one.wav", "two.mp3"]


def test_a_restart_in_the_middle_takes_nothing_twice_and_misses_nothing(
    service: Stenograph, inbox: Path, audio: AudioFactory
) -> None:
    shutil.copyfile(audio.make("wav_s16_16k"), inbox / "before.wav")
    clock = Clock()
    first = new_watcher(service, clock)
    settle(first, clock)
    assert names(service) == ["before.wav"]
    # Stenograph stops; a file arrives meanwhile; a new process (no memory of the first) scans at start.
    shutil.copyfile(audio.make("mp3_44k"), inbox / "while-stopped.mp3")
    second = new_watcher(service, clock)
    settle(second, clock)
    assert names(service) == ["before.wav", "while-stopped.mp3"]


def test_a_file_that_is_not_media_is_logged_and_skipped_for_good(
    service: Stenograph, inbox: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (inbox / "notes.wav").write_bytes(b"not audio at all, only text " * 100)
    clock = Clock()
    with caplog.at_level(logging.WARNING, logger="stenograph.watch"):
        settle(new_watcher(service, clock), clock)
    assert names(service) == []
    assert any("notes.wav: skipped" in message for message in caplog.messages)
    [row] = service.watched_files()
    assert row.status == "skipped" and row.recording_id is None and row.reason
    assert list(service.settings.uploads_dir.glob("*")) == []  # its copy is removed
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="stenograph.watch"):
        settle(new_watcher(service, clock), clock)  # after a restart as well: not tried again
    assert not [m for m in caplog.messages if "notes.wav" in m]
    assert len(service.watched_files()) == 1


def test_a_file_renamed_or_moved_inside_the_folder_is_not_taken_again(
    service: Stenograph, inbox: Path, audio: AudioFactory
) -> None:
    shutil.copyfile(audio.make("wav_s16_16k"), inbox / "a.wav")
    clock = Clock()
    watcher = new_watcher(service, clock)
    settle(watcher, clock)
    (inbox / "archive").mkdir()
    os.rename(inbox / "a.wav", inbox / "archive" / "renamed.wav")
    settle(watcher, clock)
    assert names(service) == ["a.wav"]
    [row] = service.watched_files()
    assert row.path == str(inbox / "archive" / "renamed.wav")


def test_a_file_whose_content_changes_is_taken_again_as_a_new_recording(
    service: Stenograph, inbox: Path, audio: AudioFactory
) -> None:
    target = inbox / "memo.wav"
    shutil.copyfile(audio.speech_wav("first memo of the day", name="first"), target)
    clock = Clock()
    watcher = new_watcher(service, clock)
    settle(watcher, clock)
    shutil.copyfile(audio.speech_wav("second memo, another content", name="second"), target)
    settle(watcher, clock)
    assert names(service) == ["memo.wav", "memo.wav"]
    assert [row.status for row in service.watched_files()] == ["submitted", "submitted"]


def test_outputs_are_exported_beside_the_source_without_overwriting_a_persons_file(
    service: Stenograph, inbox: Path, audio: AudioFactory
) -> None:
    shutil.copyfile(audio.make("wav_s16_16k"), inbox / "meeting.wav")
    (inbox / "meeting.txt").write_text("my own notes", encoding="utf-8")
    clock = Clock()
    watcher = new_watcher(service, clock)
    settle(watcher, clock)
    assert watcher.export_finished() == []  # the pipeline has not ended yet
    assert sorted(t.type for t in run_tasks(service)) == ["summary", "transcription"]
    [recording_id] = watcher.export_finished()
    assert (inbox / "meeting.txt").read_text(encoding="utf-8") == "my own notes"
    assert "good morning" in (inbox / "meeting (2).txt").read_text(encoding="utf-8")
    assert "00:00:00,000 --> " in (inbox / "meeting.srt").read_text(encoding="utf-8")
    assert (inbox / "meeting.md").read_text(encoding="utf-8") == service.summary(recording_id).markdown
    assert not [p for p in inbox.iterdir() if p.name.startswith(".")]  # no temporary file left
    assert watcher.export_finished() == []  # exported once
    settle(watcher, clock)  # the exports in the watched folder are not taken as recordings
    assert names(service) == ["meeting.wav"]


def test_export_folder_formats_and_overwrite(
    make_settings: object, inbox: Path, tmp_path: Path, audio: AudioFactory
) -> None:
    out = tmp_path / "exports"
    settings = make_settings(  # type: ignore[operator]
        watch_dirs=[str(inbox)], export_dir=str(out), export_formats="vtt,json", export_overwrite=True
    )
    out.mkdir()
    (out / "call.vtt").write_text("old", encoding="utf-8")
    shutil.copyfile(audio.make("wav_s16_16k"), inbox / "call.wav")
    with Stenograph(settings) as service:
        clock = Clock()
        watcher = new_watcher(service, clock)
        settle(watcher, clock)
        run_tasks(service)
        watcher.export_finished()
    assert sorted(p.name for p in out.iterdir()) == ["call.json", "call.vtt"]
    assert (out / "call.vtt").read_text(encoding="utf-8").startswith("WEBVTT")
    assert sorted(p.name for p in inbox.iterdir()) == ["call.wav"]


def test_an_export_that_fails_midway_leaves_neither_a_partial_file_nor_a_temporary_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full_disk(_fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(OSError, match="No space"):
        write_atomically(tmp_path, "talk", ".srt", "1\n00:00:00,000 --> 00:00:01,000\nhi\n", overwrite=False)
    assert list(tmp_path.iterdir()) == []


def test_names_taken_get_the_next_free_suffix(tmp_path: Path) -> None:
    (tmp_path / "talk.txt").write_text("mine", encoding="utf-8")
    (tmp_path / "talk (2).txt").write_text("mine too", encoding="utf-8")
    written = write_atomically(tmp_path, "talk", ".txt", "transcript", overwrite=False)
    assert written.name == "talk (3).txt" and written.read_text(encoding="utf-8") == "transcript"
    assert (tmp_path / "talk.txt").read_text(encoding="utf-8") == "mine"


def test_an_export_that_fails_unexpectedly_is_recorded_and_the_other_recordings_are_still_exported(
    service: Stenograph, inbox: Path, audio: AudioFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copyfile(audio.make("wav_s16_16k"), inbox / "one.wav")
    shutil.copyfile(audio.make("mp3_44k"), inbox / "two.mp3")
    clock = Clock()
    watcher = new_watcher(service, clock)
    settle(watcher, clock)
    run_tasks(service)
    first, second = sorted(row.recording_id for row in service.watched_files() if row.recording_id)
    real = service.transcript

    def transcript(recording_id: int, *args: Any, **kwargs: Any) -> Any:
        if recording_id == first:
            raise RuntimeError("the database went away")
        return real(recording_id, *args, **kwargs)

    monkeypatch.setattr(service, "transcript", transcript)
    assert sorted(watcher.export_finished()) == [first, second]
    with service.engine.connect() as conn:
        errors = dict(conn.execute(select(WatchedFile.recording_id, WatchedFile.export_error)).all())
    assert "the database went away" in (errors[first] or "")
    assert errors[second] is None and (inbox / "two.srt").is_file()
    assert watcher.export_finished() == []  # claimed once: not tried again at every scan


def test_a_scan_that_outlives_stop_ends_after_it_rather_than_scan_beside_the_next_thread(
    service: Stenograph, monkeypatch: pytest.MonkeyPatch
) -> None:
    watcher = new_watcher(service, Clock())
    entered, release = threading.Event(), threading.Event()
    scans: list[threading.Thread] = []

    def scan() -> bool:  # the first scan holds on, like one copying a large file
        scans.append(threading.current_thread())
        if len(scans) == 1:
            entered.set()
            release.wait(30)
        return False

    monkeypatch.setattr(watcher, "scan", scan)
    watcher.start()
    assert entered.wait(30)
    old = watcher._thread
    assert old is not None
    watcher.stop(timeout=0.05)  # the Settings page changed the folders: stop gives up waiting for the scan
    assert old.is_alive()
    watcher.start()
    release.set()
    old.join(10)
    try:
        assert not old.is_alive()  # it saw its own stop once its scan ended
        assert watcher._thread is not None and watcher._thread.is_alive()
    finally:
        watcher.stop()


def test_two_settings_saves_at_once_start_one_watcher(service: Stenograph, monkeypatch: pytest.MonkeyPatch) -> None:
    from stenograph.watch import watcher as watcher_module

    entered, release = threading.Event(), threading.Event()
    made: list[Any] = []

    class SlowWatcher:  # the first save is still starting its watcher when the second one comes
        def __init__(self, _service: Stenograph, _folders: Any) -> None:
            made.append(self)
            self.reloads: list[Any] = []
            entered.set()
            release.wait(30)

        def start(self) -> None:
            pass

        def reload(self, folders: Any) -> None:
            self.reloads.append(folders)

        def stop(self) -> None:
            pass

    class SpyLock:
        """A lock that says when a caller comes while another holds it."""

        def __init__(self) -> None:
            self.lock = threading.Lock()
            self.contended = threading.Event()

        def __enter__(self) -> None:
            if self.lock.locked():
                self.contended.set()
            self.lock.acquire()

        def __exit__(self, *_exc: object) -> None:
            self.lock.release()

    monkeypatch.setattr(watcher_module, "FolderWatcher", SlowWatcher)
    control = watcher_module.WatchControl(service)
    spy = SpyLock()
    control._lock = spy  # type: ignore[assignment]
    folders = service.watched_folders()
    first = threading.Thread(target=control.reload, args=(folders,))
    first.start()
    assert entered.wait(30)
    second = threading.Thread(target=control.reload, args=(folders,))
    second.start()
    contended = spy.contended.wait(10)  # the second save waits for the first
    release.set()
    first.join(30)
    second.join(30)
    assert contended
    assert len(made) == 1 and control.watcher is made[0]
    assert made[0].reloads == [folders]  # the second save changed the one watcher's folders
