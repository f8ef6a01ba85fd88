"""Diarization in the pipeline, through the API and the queue, with the ScriptedDiarizer run in the test's
process: the tasks' order (transcription and diarization → speakers → correction → summary), a failed
dependency, upload options (validated: 422), channels=split, renaming, merging and moving speakers, the
exports, time-aligned diffs, and a data directory of revision 0006 upgrading in place; the corpus stereo clip
through the real transcriber and engine (channels=auto gives each channel's voice its own speaker, an explicit
channels=mix keeps the mix). SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from stenograph.api import create_app
from stenograph.queue import TaskQueue, TaskRecord
from stenograph.recordings.store import TranscriptStore
from stenograph.settings import Settings, build_settings
from stenograph.steps.base import StepContext, run_step
from stenograph.steps.diarization.diarizer import SpeakerTurn
from stenograph.steps.diarization.fake import ScriptedDiarizer
from stenograph.steps.registry import get_step
from stenograph.transcript.types import Segment, Word
from tests.audio_factory import AudioFactory
from tests.helpers import database_at_revision
from tests.steps.conftest import FakeTask, run_claimed_here

ALL = "transcription,diarization,speakers,correction,summary"
WORDS = (Word(0.0, 1.0, " good", 0.9), Word(1.0, 2.0, " morning", 0.9), Word(2.2, 3.0, " hello", 0.9))
SEGMENTS = [Segment(0, 0.0, 3.0, "good morning hello", words=WORDS), Segment(1, 3.0, 4.0, "bye")]
TURNS = [SpeakerTurn(0.0, 2.1, "B"), SpeakerTurn(2.1, 4.0, "A")]


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings), base_url="http://localhost") as client:
        yield client


def upload(client: TestClient, audio: AudioFactory, **data: str) -> Any:
    speech = audio.make("wav_s16_16k").read_bytes()
    return client.post("/recordings", files=[("file", ("talk.wav", speech))], data=data)


def parts(client: TestClient) -> tuple[TaskQueue, TranscriptStore]:
    service = client.app.state.stenograph  # type: ignore[attr-defined]
    return service.queue, TranscriptStore(service.engine)


def run_claimed(queue: TaskQueue, store: TranscriptStore, settings: Settings, record: TaskRecord) -> None:
    """Run a claimed task here: the transcription stores SEGMENTS, the diarization uses a ScriptedDiarizer."""
    run_claimed_here(queue, store, settings, record, segments=SEGMENTS, diarizer=ScriptedDiarizer(TURNS))


def claimed_types(queue: TaskQueue) -> list[TaskRecord]:
    out = []
    while (record := queue.claim("w")) is not None:
        out.append(record)
    return out


def test_speakers_waits_for_transcription_and_diarization_and_correction_follows(
    client: TestClient, audio: AudioFactory, settings: Settings
) -> None:
    response = upload(client, audio, steps=ALL, num_speakers="2")
    assert response.status_code == 201, response.text
    recording = response.json()["data"][0]
    tasks = {t["type"]: t for t in recording["tasks"]}
    assert list(tasks) == ALL.split(",")
    assert tasks["diarization"]["params"]["num_speakers"] == 2
    assert tasks["transcription"]["params"]["options"]["word_timestamps"] is True  # splitting needs words
    queue, store = parts(client)
    first = claimed_types(queue)
    assert sorted(r.type for r in first) == ["diarization", "transcription"]  # side by side
    transcription = next(r for r in first if r.type == "transcription")
    run_claimed(queue, store, settings, transcription)
    assert queue.claim("w") is None  # speakers still waits for the diarization, correction for speakers
    run_claimed(queue, store, settings, next(r for r in first if r.type == "diarization"))
    speakers = claimed_types(queue)
    assert [r.type for r in speakers] == ["speakers"]
    run_claimed(queue, store, settings, speakers[0])
    assert [r.type for r in claimed_types(queue)] == ["correction"]
    latest = client.get(f"/recordings/{recording['id']}/transcript", params={"version": "speakers"}).json()
    assert [(s["speaker"], s["speaker_label"], s["overlap"]) for s in latest["segments"]] == [
        ("Speaker 1", "Speaker 1", False),
        ("Speaker 2", "Speaker 2", False),
        ("Speaker 2", "Speaker 2", False),
    ]


def test_a_failed_diarization_fails_speakers_and_the_correction_still_runs(
    client: TestClient, audio: AudioFactory, settings: Settings
) -> None:
    recording = upload(client, audio, steps=ALL).json()["data"][0]
    queue, store = parts(client)
    first = claimed_types(queue)
    diarization = next(r for r in first if r.type == "diarization")
    queue.fail(diarization.id, "w", diarization.attempts, kind="permanent", message="no engine", retryable=False)
    run_claimed(queue, store, settings, next(r for r in first if r.type == "transcription"))
    assert [r.type for r in claimed_types(queue)] == ["correction"]
    statuses = {t["type"]: t["status"] for t in client.get(f"/recordings/{recording['id']}").json()["tasks"]}
    assert statuses["speakers"] == "failed" and statuses["correction"] == "running"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"num_speakers": "0"}, "num_speakers must be a whole number from 1 to 32"),
        ({"num_speakers": "two"}, "num_speakers must be a whole number"),
        ({"num_speakers": "2", "max_speakers": "3"}, "not both"),
        ({"min_speakers": "4", "max_speakers": "2"}, "more than max_speakers"),
        ({"diarize": "false", "num_speakers": "2"}, "which this upload does not run"),
        ({"diarize": "maybe"}, "diarize must be true or false"),
    ],
)
def test_bad_speaker_options_are_refused_with_422(
    client: TestClient, audio: AudioFactory, data: dict[str, str], message: str
) -> None:
    response = upload(client, audio, steps=ALL, **data)
    assert response.status_code == 422, response.text
    assert message in response.json()["detail"]["message"]


def test_diarize_false_and_split_channels_leave_diarization_out(client: TestClient, audio: AudioFactory) -> None:
    for data in ({"diarize": "false"}, {"channels": "split"}):
        tasks = upload(client, audio, steps=ALL, **data).json()["data"][0]["tasks"]
        assert [t["type"] for t in tasks] == ["transcription", "correction", "summary"]


def test_diarization_is_in_the_default_pipeline(tmp_path: Path) -> None:
    from stenograph.steps.submit import PipelineRequest

    settings = build_settings(data_dir=tmp_path / "data")  # the product's defaults
    request = PipelineRequest.build(settings)
    assert request.steps == ALL.split(",") and request.word_timestamps
    assert PipelineRequest.build(settings, diarize="no").steps == ["transcription", "correction", "summary"]


def speakers_recording(client: TestClient, audio: AudioFactory, settings: Settings) -> int:
    """A recording run through transcription, diarization and speakers."""
    recording_id = int(upload(client, audio, steps="transcription,diarization,speakers").json()["data"][0]["id"])
    queue, store = parts(client)
    for _ in range(2):
        for record in claimed_types(queue):
            run_claimed(queue, store, settings, record)
    return recording_id


def test_rename_merge_and_move_speakers_and_the_exports(
    client: TestClient, audio: AudioFactory, settings: Settings
) -> None:
    recording_id = speakers_recording(client, audio, settings)
    url = f"/recordings/{recording_id}"
    assert client.put(f"{url}/speakers", json={"names": {"Speaker 1": "Ann", "Speaker 2": "Dana"}}).status_code == 200
    txt = client.get(f"{url}/transcript", params={"format": "txt"}).text
    assert txt == "Ann: good morning\nDana: hello\nDana: bye\n"
    assert "<v Dana>hello" in client.get(f"{url}/transcript", params={"format": "vtt"}).text
    assert "Ann: good morning" in client.get(f"{url}/transcript", params={"format": "srt"}).text
    original = client.get(f"{url}/transcript", params={"version": "original"}).json()
    assert [s["speaker"] for s in original["segments"]] == [None, None]  # before diarization: no speaker

    moved = client.put(f"{url}/transcript/segments/2/speaker", json={"speaker": "Speaker 1"})
    assert moved.status_code == 200, moved.text
    body = moved.json()
    assert body["version"]["kind"] == "edited"
    assert [(s["start"], s["end"], s["speaker"]) for s in body["segments"]] == [
        (0.0, 2.0, "Ann"),
        (2.2, 3.0, "Dana"),
        (3.0, 4.0, "Ann"),
    ]
    merged = client.post(f"{url}/speakers/merge", json={"source": "Speaker 2", "into": "Speaker 1"})
    assert merged.status_code == 200, merged.text
    assert {s["speaker"] for s in merged.json()["segments"]} == {"Ann"}
    assert [s["start"] for s in merged.json()["segments"]] == [0.0, 2.2, 3.0]
    kinds = [v["kind"] for v in client.get(f"{url}/transcript/versions").json()["data"]]
    assert kinds == ["original", "speakers", "edited", "edited"]  # every earlier version kept
    missing = client.post(f"{url}/speakers/merge", json={"source": "Speaker 9", "into": "Speaker 1"})
    assert missing.status_code == 404
    assert client.put(f"{url}/transcript/segments/99/speaker", json={"speaker": "Speaker 1"}).status_code == 404
    exported = client.get(f"{url}/transcript", params={"format": "json", "download": "true"}).json()
    assert exported["segments"][0]["speaker_label"] == "Speaker 1" and exported["segments"][0]["overlap"] is False


def test_a_segment_moves_to_a_label_or_a_displayed_name_never_to_an_unknown_speaker(
    client: TestClient, audio: AudioFactory, settings: Settings
) -> None:
    recording_id = speakers_recording(client, audio, settings)
    url = f"/recordings/{recording_id}"
    assert client.put(f"{url}/speakers", json={"names": {"Speaker 1": "JFK", "Speaker 2": "Dana"}}).status_code == 200
    invented = client.put(f"{url}/transcript/segments/2/speaker", json={"speaker": "Totally New Person"})
    assert invented.status_code == 404 and invented.json()["detail"]["code"] == "unknown_speaker", invented.text
    assert [v["kind"] for v in client.get(f"{url}/transcript/versions").json()["data"]] == ["original", "speakers"]

    by_name = client.put(f"{url}/transcript/segments/2/speaker", json={"speaker": "JFK"})
    assert by_name.status_code == 200, by_name.text
    segments = by_name.json()["segments"]
    assert [(s["speaker_label"], s["speaker"]) for s in segments] == [
        ("Speaker 1", "JFK"),
        ("Speaker 2", "Dana"),
        ("Speaker 1", "JFK"),
    ]  # moved to the label named JFK, no label "JFK" made

    assert client.put(f"{url}/speakers", json={"names": {"Speaker 1": "Al", "Speaker 2": "Al"}}).status_code == 200
    ambiguous = client.put(f"{url}/transcript/segments/1/speaker", json={"speaker": "Al"})
    assert ambiguous.status_code == 404 and ambiguous.json()["detail"]["code"] == "unknown_speaker"


def test_speaker_names_refuse_unknown_labels_and_a_put_replaces_the_map(
    client: TestClient, audio: AudioFactory, settings: Settings
) -> None:
    recording_id = speakers_recording(client, audio, settings)
    url = f"/recordings/{recording_id}"
    unknown = client.put(f"{url}/speakers", json={"names": {"Speaker 9": "Bob"}})
    assert unknown.status_code == 422 and unknown.json()["detail"]["code"] == "unknown_speaker", unknown.text
    assert client.get(url).json()["speakers"] in ({}, None)  # nothing saved

    assert client.put(f"{url}/speakers", json={"names": {"Speaker 1": "Ann"}}).json()["names"] == {"Speaker 1": "Ann"}
    second = client.put(f"{url}/speakers", json={"names": {"Speaker 2": "Dana"}})
    assert second.json()["names"] == {"Speaker 2": "Dana"}  # replaced: the documented semantics
    both = client.put(f"{url}/speakers", json={"names": {"Speaker 1": "Ann", "Speaker 2": "Dana"}})
    assert both.status_code == 200 and client.get(url).json()["speakers"] == {"Speaker 1": "Ann", "Speaker 2": "Dana"}


def test_the_diff_aligns_split_segments_by_time(client: TestClient, audio: AudioFactory, settings: Settings) -> None:
    recording_id = speakers_recording(client, audio, settings)
    diff = client.get(f"/recordings/{recording_id}/transcript/diff", params={"other": "speakers"}).json()
    rows = [(r["start"], r["end"], r["original"], r["corrected"], r["changed"]) for r in diff["segments"]]
    assert rows == [
        (0.0, 3.0, "good morning hello", "good morning hello", False),
        (3.0, 4.0, "bye", "bye", False),
    ]
    assert diff["changed"] == 0


def test_a_rerun_diarization_with_a_speaker_count_queues_speakers_after_it(
    client: TestClient, audio: AudioFactory, settings: Settings
) -> None:
    recording_id = speakers_recording(client, audio, settings)
    rerun = client.post(f"/recordings/{recording_id}/steps/diarization", json={"num_speakers": 3})
    assert rerun.status_code == 201, rerun.text
    assert rerun.json()["params"]["num_speakers"] == 3
    queue, store = parts(client)
    claimed = claimed_types(queue)
    assert [r.type for r in claimed] == ["diarization"]  # the speakers task waits for it
    run_claimed(queue, store, settings, claimed[0])
    again = claimed_types(queue)
    assert [r.type for r in again] == ["speakers"]
    run_claimed(queue, store, settings, again[0])
    kinds = [v["kind"] for v in client.get(f"/recordings/{recording_id}/transcript/versions").json()["data"]]
    assert kinds == ["original", "speakers", "speakers"]


def test_a_data_directory_of_revision_0006_upgrades_in_place(tmp_path: Path) -> None:
    """Segments written before diarization keep their text and get no speaker and no overlap."""
    with database_at_revision(tmp_path / "data", "0006") as old:
        now = "2026-12-01 12:00:00.000000"
        old.conn.exec_driver_sql(
            "INSERT INTO recordings (id, name, stored_name, size_bytes, created_at, media, options, speakers) "
            "VALUES (1, 'a.wav', 'x', 1, ?, '{}', '{}', '{\"left\": \"Ann\"}')",
            (now,),
        )
        old.conn.exec_driver_sql(
            "INSERT INTO transcript_versions (id, recording_id, number, kind, complete, created_at, info, text) "
            "VALUES (1, 1, 1, 'original', 1, ?, '{}', 'hi')",
            (now,),
        )
        old.conn.exec_driver_sql(
            'INSERT INTO segments (id, version_id, idx, start, "end", text, avg_logprob, no_speech_prob, channel) '
            "VALUES (1, 1, 0, 0.0, 1.0, 'hi', 0.0, 0.0, 'left')"
        )
    engine = old.engine
    store = TranscriptStore(engine)
    [segment] = store.segments(1)
    assert (segment.text, segment.channel, segment.speaker, segment.speaker_label, segment.overlap) == (
        "hi",
        "left",
        "Ann",
        None,
        False,
    )
    diarization_id = store.save_diarization(
        1, task_id=None, model="m", duration_s=1.0, params={}, speakers=["A"], turns=[(0.0, 1.0, "A")], embeddings={}
    )
    assert store.latest_diarization(1)["id"] == diarization_id
    engine.dispose()


def test_the_openai_route_diarizes_only_when_asked(client: TestClient, audio: AudioFactory, settings: Settings) -> None:
    queue, store = parts(client)
    queue.register_worker("w", "here", 1, 1)  # a live worker: the route takes the request
    speech = audio.make("wav_s16_16k").read_bytes()
    answers: dict[str, Any] = {}

    def call(name: str, **data: str) -> None:
        files = {"file": ("a.wav", speech)}
        answers[name] = client.post("/v1/audio/transcriptions", files=files, data={"model": "whisper-1", **data})

    for name, data in (("asked", {"diarize": "true", "response_format": "vtt"}), ("plain", {})):
        caller = threading.Thread(target=call, args=(name,), kwargs=data)
        caller.start()
        deadline = time.monotonic() + 60
        while caller.is_alive() and time.monotonic() < deadline:
            record = queue.claim("w")
            if record is not None:
                run_claimed(queue, store, settings, record)
            else:
                caller.join(0.05)  # the route polls its task; wait on the thread ending
        assert not caller.is_alive()
    assert answers["asked"].status_code == 200, answers["asked"].text
    assert "<v Speaker 1>good morning" in answers["asked"].text and "<v Speaker 2>hello" in answers["asked"].text
    assert answers["plain"].status_code == 200 and answers["plain"].json()["text"] == "good morning hello bye"
    types = sorted(t["type"] for t in client.get("/tasks", params={"limit": 100}).json()["data"])
    assert types == ["diarization", "speakers", "transcription", "transcription"]


def test_a_rerun_speakers_needs_a_diarization(client: TestClient, audio: AudioFactory, settings: Settings) -> None:
    recording_id = upload(client, audio, steps="transcription").json()["data"][0]["id"]
    queue, store = parts(client)
    for record in claimed_types(queue):
        run_claimed(queue, store, settings, record)
    refused = client.post(f"/recordings/{recording_id}/steps/speakers")
    assert refused.status_code == 409 and refused.json()["detail"]["code"] == "no_diarization"
    bad = client.post(f"/recordings/{recording_id}/steps/diarization", json={"num_speakers": 0})
    assert bad.status_code == 422


def run_for_real(queue: TaskQueue, store: TranscriptStore, settings: Settings, record: TaskRecord) -> None:
    """Run a claimed task here with the product's own transcriber (tiny.en) and diarization engine."""
    task = FakeTask(settings, task_id=record.id, task_type=record.type, attempt=record.attempts)
    result = run_step(get_step(record.type), StepContext(task, store=store), record.params)
    queue.complete(record.id, "w", record.attempts, result)


def stereo_clip_through(client: TestClient, settings: Settings, corpus: Path, **data: str) -> int:
    """The corpus stereo clip (one voice per channel, overlapping) uploaded with ``data`` and its tasks run."""
    clip = (corpus / "stereo_diarization.wav").read_bytes()
    response = client.post("/recordings", files=[("file", ("call.wav", clip))], data={"language": "en", **data})
    assert response.status_code == 201, response.text
    queue, store = parts(client)
    while records := claimed_types(queue):
        for record in records:
            run_for_real(queue, store, settings, record)
    return int(response.json()["data"][0]["id"])


def words_by_speaker(segments: list[dict[str, Any]]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for segment in segments:
        words = {w.strip(".,!?").lower() for w in segment["text"].split()}
        out.setdefault(segment["speaker"], set()).update(words)
    return out


@pytest.mark.slow
@pytest.mark.corpus
def test_the_corpus_stereo_clip_comes_out_with_each_channels_speaker_and_words(
    client: TestClient, settings: Settings, corpus: Path
) -> None:
    recording_id = stereo_clip_through(client, settings, corpus, steps="transcription,diarization,speakers")
    url = f"/recordings/{recording_id}/transcript"
    original = client.get(url, params={"version": "original"}).json()
    assert {s["channel"] for s in original["segments"]} == {"left", "right"}  # channels=auto chose split
    transcribed = client.get(f"/recordings/{recording_id}").json()["tasks"][0]["result"]
    assert transcribed["channels"]["asked"] == "auto" and transcribed["channels"]["used"] == "split"
    spoken = words_by_speaker(client.get(url, params={"version": "speakers"}).json()["segments"])
    assert sorted(spoken) == ["Speaker 1", "Speaker 2"], spoken
    left = next(words for words in spoken.values() if "wizard" in words)
    right = next(words for words in spoken.values() if words is not left)
    assert {"wizard", "curtain"} <= left and not {"horizon", "distant"} & left, spoken
    assert {"horizon", "distant"} <= right and not {"wizard", "curtain"} & right, spoken


@pytest.mark.slow
@pytest.mark.corpus
def test_an_explicit_mix_of_the_corpus_stereo_clip_is_transcribed_from_the_mix(
    client: TestClient, settings: Settings, corpus: Path
) -> None:
    recording_id = stereo_clip_through(client, settings, corpus, steps="transcription", channels="mix")
    original = client.get(f"/recordings/{recording_id}/transcript", params={"version": "original"}).json()
    assert original["segments"] and {s["channel"] for s in original["segments"]} == {None}
    versions = client.get(f"/recordings/{recording_id}/transcript/versions").json()["data"]
    assert [v["kind"] for v in versions] == ["original"]
