"""Transcription through the queue with real workers and Whisper tiny.en: formats, bad input, resume
after SIGKILL, cancellation, the OpenAI-compatible endpoint and the CLI."""

from __future__ import annotations

import itertools
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import srt as srt_format
from fastapi.testclient import TestClient

from stenograph.api import create_app
from stenograph.recordings.store import TranscriptStore
from stenograph.settings import Settings
from tests.audio_factory import AudioFactory
from tests.helpers import REPO, running_workers, start_worker, stop_process, wait_for

pytestmark = pytest.mark.slow

LONG_CLIPS = [
    "jfk.wav",
    "LJ001-0001.wav",
    "librispeech-1995-1837-0001.wav",
    "sense_and_sensibility_01_austen_64kb-0870.wav",
    "LJ001-0007.wav",
    "LDC93S1.wav",
]
ONCE_WORDS = ["americans", "printing", "sorrow", "dashwood", "leisure", "earliest", "movable", "greasy"]


class App:
    def __init__(self, settings: Settings, client: TestClient) -> None:
        self.settings = settings
        self.client = client
        self.store = TranscriptStore(client.app.state.stenograph.engine)  # type: ignore[attr-defined]

    def upload(self, path: Path, **fields: str) -> dict[str, Any]:
        with path.open("rb") as handle:
            response = self.client.post("/recordings", files={"file": (path.name, handle)}, data=fields)
        assert response.status_code == 201, response.text
        return dict(response.json()["data"][0])

    def task(self, task_id: int) -> dict[str, Any]:
        return dict(self.client.get(f"/tasks/{task_id}").json())

    def finished(self, task_id: int, timeout: float = 180) -> dict[str, Any]:
        return wait_for(
            lambda: (t := self.task(task_id))["status"] in ("completed", "failed", "cancelled") and t,
            timeout=timeout,
            interval=0.2,
            what=f"task {task_id} to finish",
        )


@pytest.fixture
def app(sqlite_settings: Any) -> Iterator[App]:
    settings = sqlite_settings()
    with TestClient(create_app(settings), base_url="http://localhost") as client:
        yield App(settings, client)


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower())


def test_formats_and_bad_input_through_the_queue(app: App, audio: AudioFactory, tmp_path: Path) -> None:
    good = {kind: app.upload(audio.make(kind)) for kind in ("webm_opus_recorder", "mp4_h264_aac", "silence")}
    damaged = app.upload(audio.make("damaged_ogg"))
    with running_workers(app.settings, tmp_path):
        results = {kind: app.finished(rec["tasks"][0]["id"]) for kind, rec in good.items()}
        damaged_task = app.finished(damaged["tasks"][0]["id"])
    for kind in ("webm_opus_recorder", "mp4_h264_aac"):
        assert results[kind]["status"] == "completed", results[kind]
        text = app.client.get(f"/recordings/{good[kind]['id']}/transcript").json()["text"]
        heard = {"quick", "brown", "fox", "lazy", "dog"} & set(words(text))
        assert len(heard) >= 3, (kind, text)  # tiny.en on synthetic speech: most of the sentence
    silence = results["silence"]
    assert silence["status"] == "completed" and silence["result"]["segments"] == 0
    assert app.client.get(f"/recordings/{good['silence']['id']}/transcript").json()["segments"] == []
    assert damaged_task["status"] == "completed"
    assert any("could not be decoded" in w for w in damaged_task["result"]["warnings"]), damaged_task["result"]


def test_the_global_glossary_guides_whisper(app: App, audio: AudioFactory, tmp_path: Path) -> None:
    # Only that the terms reach Whisper: with tiny.en, hotwords can derail the synthetic espeak voice (seen
    # on one machine's CPU, not on real speech: 12.2% WER with terms vs 12.7% without on 12 corpus clips).
    assert app.client.put("/glossary", json={"terms": ["Stenograph"]}).status_code == 200
    recording = app.upload(audio.make("short_clip"), steps="transcription", glossary="Kubernetes")
    with running_workers(app.settings, tmp_path):
        assert app.finished(recording["tasks"][0]["id"])["status"] == "completed"
    version = app.client.get(f"/recordings/{recording['id']}/transcript?version=original").json()["version"]
    assert {"Stenograph", "Kubernetes"} <= set(version["info"]["options"]["hotwords"])


def test_a_file_broken_after_upload_fails_at_once_and_others_go_on(
    app: App, audio: AudioFactory, tmp_path: Path
) -> None:
    broken = app.upload(audio.make("wav_s16_16k"))
    stored = app.settings.uploads_dir / app.store.recording(broken["id"])["stored_name"]
    stored.write_bytes(b"this is not audio any more")
    fine = app.upload(audio.make("wav_s16_16k"))
    with running_workers(app.settings, tmp_path) as [worker]:
        failed = app.finished(broken["tasks"][0]["id"])
        done = app.finished(fine["tasks"][0]["id"])
        assert worker.poll() is None
    assert failed["status"] == "failed" and failed["attempts"] == 1
    assert "not audio or video" in failed["error"]["message"]
    assert done["status"] == "completed"


def test_sigkill_mid_transcription_resumes_after_the_last_stored_segment(
    app: App, audio: AudioFactory, corpus: Path, tmp_path: Path, sqlite_settings: Any
) -> None:
    settings = sqlite_settings(lease_seconds=3.0, heartbeat_seconds=0.5)
    long_speech = audio.corpus_concatenation(corpus, LONG_CLIPS + LONG_CLIPS)  # about 108 s
    recording = app.upload(long_speech, steps="transcription")
    task_id = recording["tasks"][0]["id"]
    first = start_worker(settings, tmp_path / "first.log")

    def stored() -> int:
        drafts = app.store.versions(recording["id"], complete_only=False)
        return len(app.store.segments(drafts[0].id)) if drafts else 0

    try:
        wait_for(lambda: stored() >= 3, timeout=180, what="some segments to be stored")
    finally:
        os.kill(first.pid, signal.SIGKILL)
        first.wait(10)
    kept = stored()
    second = start_worker(settings, tmp_path / "second.log")
    try:
        result = app.finished(task_id, timeout=300)
    finally:
        stop_process(second)
    assert result["status"] == "completed" and result["attempts"] == 2
    assert result["result"]["resumed_at_s"] > 0
    transcript = app.client.get(f"/recordings/{recording['id']}/transcript").json()
    segments = transcript["segments"]
    assert len(segments) > kept
    assert [s["index"] for s in segments] == list(range(len(segments)))
    for before, after in itertools.pairwise(segments):
        assert after["start"] >= before["end"] - 0.05, (before, after)  # no span twice
    found = words(transcript["text"])
    counts = {w: found.count(w) for w in ONCE_WORDS}
    assert sum(counts.values()) >= 12 and max(counts.values()) <= 2, counts


def test_cancelling_a_running_transcription_stops_it(
    app: App, audio: AudioFactory, corpus: Path, tmp_path: Path, sqlite_settings: Any
) -> None:
    long_speech = audio.corpus_concatenation(corpus, LONG_CLIPS + LONG_CLIPS)
    recording = app.upload(long_speech, steps="transcription")
    task_id = recording["tasks"][0]["id"]
    # A generous grace: the handler must stop by itself (the benchmark measures how fast).
    with running_workers(sqlite_settings(cancel_grace_seconds=60.0, transcription_cancel_grace_seconds=60.0), tmp_path):
        wait_for(lambda: app.task(task_id)["progress"] > 0.05, timeout=180, what="transcription progress")
        assert app.client.post(f"/tasks/{task_id}/cancel").status_code == 202
        result = app.finished(task_id, timeout=60)
    assert result["status"] == "cancelled"
    assert "did not stop" not in (app.client.get(f"/tasks/{task_id}").json()["events"][-1]["message"] or "")


def test_cancel_kills_a_transcription_that_does_not_stop_within_its_grace(
    app: App, audio: AudioFactory, corpus: Path, tmp_path: Path, sqlite_settings: Any
) -> None:
    long_speech = audio.corpus_concatenation(corpus, LONG_CLIPS + LONG_CLIPS)
    recording = app.upload(long_speech, steps="transcription")
    task_id = recording["tasks"][0]["id"]
    with running_workers(sqlite_settings(transcription_cancel_grace_seconds=0.0), tmp_path):
        wait_for(lambda: app.task(task_id)["progress"] > 0.05, timeout=180, what="transcription progress")
        assert app.client.post(f"/tasks/{task_id}/cancel").status_code == 202
        result = app.finished(task_id, timeout=60)
        assert result["status"] == "cancelled"
        assert "within 0 s" in (app.client.get(f"/tasks/{task_id}").json()["events"][-1]["message"] or "")
        # The slot's process was replaced: the next transcription still runs.
        again = app.upload(audio.make("wav_s16_16k"), steps="transcription")
        assert app.finished(again["tasks"][0]["id"])["status"] == "completed"


def test_stereo_split_labels_channels(app: App, corpus: Path, tmp_path: Path) -> None:
    recording = app.upload(corpus / "stereo_diarization.wav", steps="transcription", channels="split")
    with running_workers(app.settings, tmp_path):
        assert app.finished(recording["tasks"][0]["id"])["status"] == "completed"
    segments = app.client.get(f"/recordings/{recording['id']}/transcript").json()["segments"]
    assert {s["channel"] for s in segments} == {"left", "right"}
    assert [s["start"] for s in segments] == sorted(s["start"] for s in segments)
    left = " ".join(s["text"] for s in segments if s["channel"] == "left").lower()
    assert "wizard" in left
    # Subtitles cut from the words (on by default): one channel a cue, each within 2 lines of 42 characters.
    assert all(s["words"] for s in segments)
    srt = app.client.get(f"/recordings/{recording['id']}/transcript", params={"format": "srt"}).text
    cues = list(srt_format.parse(srt))
    assert cues and all(c.content.startswith(("left: ", "right: ")) for c in cues)
    assert all(len(lines := c.content.split("\n")) <= 2 and max(map(len, lines)) <= 42 for c in cues)
    assert all(c.start < c.end and (c.end - c.start).total_seconds() <= 7.0 for c in cues)


def test_openai_sdk_transcribes_through_the_queue(app: App, corpus: Path, tmp_path: Path) -> None:
    from openai import OpenAI

    sdk = OpenAI(base_url="http://localhost/v1", api_key="unused", http_client=app.client, max_retries=0)
    with running_workers(app.settings, tmp_path):
        # Without a live worker the endpoint answers 503 at once rather than wait.
        wait_for(
            lambda: any(w["live"] for w in app.client.get("/workers").json()["data"]),
            timeout=120,
            interval=0.2,
            what="the worker to start",
        )
        with (corpus / "jfk.wav").open("rb") as handle:
            plain = sdk.audio.transcriptions.create(model="whisper-1", file=handle)
        assert "ask not what your country" in plain.text.lower()
        with (corpus / "jfk.wav").open("rb") as handle:
            verbose = sdk.audio.transcriptions.create(
                model="whisper-1", file=handle, response_format="verbose_json", timestamp_granularities=["word"]
            )
        assert verbose.language == "english" and verbose.duration == pytest.approx(11.0, abs=0.1)
        assert verbose.words and verbose.words[0].start >= 0
        with (corpus / "jfk.wav").open("rb") as handle:
            srt = sdk.audio.transcriptions.create(model="whisper-1", file=handle, response_format="srt")
        cues = list(srt_format.parse(str(srt)))  # cues cut from the words: the first starts with the speech
        assert cues and cues[0].start.total_seconds() < 1.0 and "ask not" in " ".join(c.content for c in cues).lower()
        bad = app.client.post(
            "/v1/audio/transcriptions", files={"file": ("x.txt", b"hello")}, data={"model": "whisper-1"}
        )
        assert bad.status_code == 400 and "not audio or video" in bad.json()["error"]["message"]
    assert app.client.get("/tasks").json()["count"] == 3  # the same queue served every request


def test_cli_transcribes_files_and_fails_naming_the_bad_one(sqlite_settings: Any, corpus: Path, tmp_path: Path) -> None:
    settings = sqlite_settings()
    bad = tmp_path / "notes.txt"
    bad.write_text("not audio")
    out = tmp_path / "out"
    env = {**os.environ, "STENOGRAPH_DATA_DIR": str(settings.data_dir), "STENOGRAPH_LLM": "none"}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "stenograph.cli",
            "transcribe",
            str(corpus / "jfk.wav"),
            str(bad),
            str(corpus / "jfk.flac"),
            str(corpus / "LDC93S1.wav"),
            "--format",
            "vtt",
            "-o",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
        env=env,
    )
    assert result.returncode == 1, result.stderr
    assert "notes.txt" in result.stderr and "not audio or video" in result.stderr
    for name in ("jfk.wav.vtt", "jfk.flac.vtt"):  # the same stem twice: neither output overwrites the other
        vtt = (out / name).read_text()
        assert vtt.startswith("WEBVTT") and "ask not what your country" in _cue_text(vtt)
    assert "greasy wash water" in _cue_text((out / "LDC93S1.vtt").read_text())
    assert result.stderr.count("✓") == 3


def _cue_text(subtitles: str) -> str:
    """The cues' text of an SRT or VTT file in order, lower case, on one line (cues span lines and cues)."""
    lines = subtitles.splitlines()[1:]
    return " ".join(line for line in lines if line and "-->" not in line and not line.isdigit()).lower()
