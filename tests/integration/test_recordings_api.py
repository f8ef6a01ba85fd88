"""The recordings API without a worker: uploads (streamed, limits, refusals), search, media ranges,
versions, edits, speakers, glossary. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import errno
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from stenograph.api import create_app
from stenograph.recordings.store import TranscriptStore
from stenograph.settings import Settings
from stenograph.transcript.types import Segment
from tests.audio_factory import AudioFactory


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings), base_url="http://localhost") as client:
        yield client


def uploads(settings: Settings) -> list[Path]:
    return sorted(settings.uploads_dir.glob("*")) if settings.uploads_dir.exists() else []


def upload(client: TestClient, *files: tuple[str, bytes], **fields: str):  # type: ignore[no-untyped-def]
    return client.post("/recordings", files=[("file", f) for f in files], data=fields)


def test_upload_creates_the_recording_and_its_pipeline(
    client: TestClient, audio: AudioFactory, settings: Settings
) -> None:
    speech = audio.make("wav_s16_16k").read_bytes()
    response = upload(client, ("réunion 会议 🎙.wav", speech), ("second.wav", speech), steps="transcription,summary")
    assert response.status_code == 201, response.text
    first, second = response.json()["data"]
    assert first["name"] == "réunion 会议 🎙.wav" and second["name"] == "second.wav"
    assert first["media"]["sample_rate"] == 16000 and first["duration_s"] > 1
    assert [t["type"] for t in first["tasks"]] == ["transcription", "summary"]
    assert first["tasks"][1]["depends_on"] == first["tasks"][0]["id"]
    assert first["steps"] == {"transcription": "pending", "summary": "pending"}
    options = first["tasks"][0]["params"]["options"]
    assert options["vad"] is True and options["beam_size"] is None and options["channels"] == "auto"
    assert options["word_timestamps"] is True  # on by default: subtitle cues are cut at word times
    tuned = upload(client, ("c.wav", speech), beam_size="2", vad="false", word_timestamps="false").json()["data"][0]
    tuned_options = tuned["tasks"][0]["params"]["options"]
    assert (tuned_options["beam_size"], tuned_options["vad"], tuned_options["word_timestamps"]) == (2, False, False)
    stored = uploads(settings)
    assert len(stored) == 3 and all("réunion" not in p.name and p.read_bytes() == speech for p in stored)
    listing = client.get("/recordings").json()
    assert listing["count"] == 3
    assert (
        client.get("/tasks", params={"recording_id": first["id"]}).json()["data"][0]["recording_name"] == first["name"]
    )


def test_file_names_are_kept_as_data(client: TestClient, audio: AudioFactory) -> None:
    speech = audio.make("wav_s16_16k").read_bytes()
    names = [r["name"] for r in upload(client, ("../../etc/passwd", speech), ("   ", speech)).json()["data"]]
    assert names == ["passwd", "untitled"]
    media = client.get("/recordings/1/media")
    assert media.status_code == 200 and ".." not in media.headers["content-disposition"]


def test_long_file_names_are_cut_keeping_the_extension_or_refused(
    client: TestClient, audio: AudioFactory, settings: Settings
) -> None:
    speech = audio.make("wav_s16_16k").read_bytes()
    kept = upload(client, ("é" * 300 + ".wav", speech), ("x" * 300, speech))
    assert kept.status_code == 201, kept.text
    first, second = (r["name"] for r in kept.json()["data"])
    assert first == "é" * 251 + ".wav" and second == "x" * 255
    too_long = upload(client, ("a" * 5000 + ".wav", speech))
    assert too_long.status_code == 400, too_long.text
    detail = too_long.json()["detail"]
    assert detail["code"] == "header_too_large" and "file name is probably too long" in detail["message"]
    assert len(uploads(settings)) == 2 and client.get("/recordings").json()["count"] == 2
    malformed = client.post(
        "/recordings",
        content=b"--b\r\nthis is not a header line at all\r\n\r\nxyz\r\n--b--\r\n",
        headers={"content-type": "multipart/form-data; boundary=b"},
    )
    assert malformed.status_code == 400 and malformed.json()["detail"]["code"] == "malformed_multipart"


def test_openai_transcription_without_a_live_worker_is_503_at_once(
    client: TestClient, audio: AudioFactory, settings: Settings
) -> None:
    speech = audio.make("wav_s16_16k").read_bytes()

    def transcribe(data: bytes):  # type: ignore[no-untyped-def]
        return client.post("/v1/audio/transcriptions", files={"file": ("a.wav", data)}, data={"model": "whisper-1"})

    queue = client.app.state.stenograph.queue  # type: ignore[attr-defined]
    queue.register_worker("stopped-worker", "elsewhere", 1, 1)
    queue.stop_worker("stopped-worker")  # seen lately, but not live
    refused = transcribe(speech)
    assert refused.status_code == 503, refused.text
    error = refused.json()["error"]
    assert error["code"] == "no_worker" and error["type"] == "server_error"
    assert "no worker is running" in error["message"] and "nothing was stored" in error["message"]
    assert uploads(settings) == [] and client.get("/recordings").json()["count"] == 0
    assert client.get("/tasks").json()["count"] == 0
    queue.register_worker("live-worker", "elsewhere", 2, 1)  # a fresh heartbeat: the request goes on
    bad = transcribe(b"hello, not audio")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "not_media"


def test_default_steps_come_from_the_setting(make_settings, audio: AudioFactory) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings(pipeline_steps="transcription")
    with TestClient(create_app(settings), base_url="http://localhost") as client:
        response = upload(client, ("a.wav", audio.make("wav_s16_16k").read_bytes()))
    assert [t["type"] for t in response.json()["data"][0]["tasks"]] == ["transcription"]


@pytest.mark.parametrize(
    ("kind", "status", "code", "words"),
    [
        ("empty", 422, "empty_file", "empty"),
        ("text", 415, "not_media", "plain text"),
        ("video_no_audio", 415, "no_audio_stream", "no audio"),
    ],
)
def test_refused_uploads_say_why_and_keep_nothing(
    client: TestClient, audio: AudioFactory, settings: Settings, kind: str, status: int, code: str, words: str
) -> None:
    good = audio.make("wav_s16_16k").read_bytes()
    response = upload(client, ("good.wav", good), (f"bad-{kind}", audio.make(kind).read_bytes()))
    assert response.status_code == status, response.text
    detail = response.json()["detail"]
    assert detail["code"] == code and words in detail["message"] and f"bad-{kind}" in detail["message"]
    assert uploads(settings) == [] and client.get("/recordings").json()["count"] == 0


def test_upload_over_the_limit_is_413_and_leaves_no_file(make_settings, audio: AudioFactory) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings(max_upload_bytes=10_000)
    with TestClient(create_app(settings), base_url="http://localhost") as client:
        response = upload(client, ("big.wav", audio.make("wav_s16_16k").read_bytes()))
    assert response.status_code == 413 and "10,000 byte limit" in response.json()["detail"]["message"]
    assert uploads(settings) == []


def test_full_disk_is_507_and_leaves_no_partial_file(
    client: TestClient, audio: AudioFactory, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from stenograph.api import uploads as upload_module

    written = []

    def full_disk(handle: int, data: bytes) -> None:
        import os

        written.append(os.write(handle, data[: len(data) // 2]))  # part of it fits, then the disk is full
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(upload_module, "_write", full_disk)
    payload = audio.make("wav_s16_16k").read_bytes() * 4
    response = upload(client, ("a.wav", payload))
    assert response.status_code == 507 and response.json()["detail"]["code"] == "insufficient_storage"
    assert written and uploads(settings) == []


def test_bad_options_are_refused(client: TestClient, audio: AudioFactory, settings: Settings) -> None:
    speech = audio.make("wav_s16_16k").read_bytes()
    for fields, words in [
        ({"steps": "summary"}, "must include transcription"),
        ({"steps": "transcription,translation"}, "translation"),
        ({"channels": "both"}, "channels"),
        ({"model": "large-v3"}, "STENOGRAPH_WHISPER_ALLOW_DOWNLOAD"),
        ({"language": "english please"}, "ISO 639-1"),
        ({"template": "no-such-template"}, "no-such-template"),
        ({"beam_size": "0"}, "beam_size"),
        ({"language": "zz"}, "a code Whisper knows"),
        ({"language": "de", "model": "tiny.en"}, "English only"),  # named: kept, so German is refused
        ({"task": "translate", "model": "tiny.en"}, "cannot translate"),
        ({"task": "summarise"}, "task must be"),
        ({"beam_size": "many"}, "beam_size"),
    ]:
        response = upload(client, ("a.wav", speech), **fields)
        assert response.status_code == 422, (fields, response.text)
        assert words in response.json()["detail"]["message"], fields
    assert client.post("/recordings", data={"steps": "transcription"}).status_code in (400, 422)
    assert uploads(settings) == []


def test_media_supports_range_requests(client: TestClient, audio: AudioFactory) -> None:
    speech = audio.make("mp3_44k").read_bytes()
    recording = upload(client, ("a.mp3", speech)).json()["data"][0]
    whole = client.get(f"/recordings/{recording['id']}/media")
    assert whole.status_code == 200 and whole.content == speech and whole.headers["content-type"] == "audio/mpeg"
    part = client.get(f"/recordings/{recording['id']}/media", headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == speech[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{len(speech)}"


def transcribed(
    settings: Settings, client: TestClient, audio: AudioFactory, texts: list[str], name: str = "a.wav"
) -> int:
    """A recording whose original transcript is ``texts`` (stored directly: no worker needed)."""
    recording_id = int(upload(client, (name, audio.make("wav_s16_16k").read_bytes())).json()["data"][0]["id"])
    store = TranscriptStore(client.app.state.stenograph.engine)  # type: ignore[attr-defined]
    segments = [Segment(index=i, start=2.0 * i, end=2.0 * i + 1.5, text=t, channel="left") for i, t in enumerate(texts)]
    store.create_version(recording_id, "original", segments, task_id=None, language="en", info={"duration_s": 10.0})
    return recording_id


def test_search_matches_names_and_transcript_text_in_any_script(
    client: TestClient, audio: AudioFactory, settings: Settings
) -> None:
    english = transcribed(settings, client, audio, ["the quarterly budget review", "next steps"], name="board.wav")
    chinese = transcribed(settings, client, audio, ["广州市房地产中介协会分析"], name="广州.wav")

    def found(q: str) -> list[int]:
        return [r["id"] for r in client.get("/recordings", params={"q": q}).json()["data"]]

    assert found("budget rev") == [english]
    assert found("budget steps") == [english]  # every word must appear, not as one phrase
    assert found("budget 广州") == []
    assert found("房地产中介") == [chinese]
    assert found("board") == [english]
    assert found("广州") == [chinese]  # two characters: below the trigram length, still found
    assert found("nothing like this") == []
    assert sorted(found("")) == sorted([english, chinese])
    assert found("board.wav") == [english]  # a file name, punctuation and all
    assert sorted(found("wav")) == sorted([english, chinese])  # the extension of every *.wav name
    assert found("budget & steps") == [english]  # a word without letter or digit is not required
    assert sorted(found('- " |')) == sorted([english, chinese])  # nothing left to require
    too_many = client.get("/recordings", params={"q": " ".join(["budget"] * 17)})
    assert too_many.status_code == 422 and "at most 16" in too_many.json()["detail"]["message"]
    too_long = client.get("/recordings", params={"q": "b" * 201})
    assert too_long.status_code == 422 and "at most 200" in too_long.json()["detail"]["message"]
    assert found(" ".join(["budget"] * 16)) == [english]  # at the limit: answered


def test_a_long_search_is_one_query_of_the_search_table(client: TestClient, settings: Settings) -> None:
    """However many words, the search costs one subquery on PostgreSQL (not one per word), so a long
    search answers as quickly as a short one; SQLite keeps one FTS5 match per word."""
    store = TranscriptStore(client.app.state.stenograph.engine)  # type: ignore[attr-defined]
    words = [f"word{i}" for i in range(16)] + ["&", "-", "广州"]
    subqueries = store._search_ids([w for w in words if w not in ("&", "-")])
    if settings.is_sqlite:
        assert len(subqueries) == 17
    else:
        assert len(subqueries) == 1
        compiled = subqueries[0].compile()
        assert str(compiled).count("to_tsquery") == 1 and str(compiled).count("ILIKE") == 1
        assert sorted(compiled.params.values()) == [
            "%广州%",
            " & ".join(f"'word{i}':*" for i in range(16)),
        ]
    assert store.recordings(q=" ".join(words), limit=10, offset=0) == ([], 0)


def test_versions_edit_diff_speakers_and_formats(client: TestClient, audio: AudioFactory, settings: Settings) -> None:
    recording_id = transcribed(settings, client, audio, ["hello wrld", "second line"])
    base = f"/recordings/{recording_id}"
    edited = client.patch(f"{base}/transcript/segments/0", json={"text": "hello world"})
    assert edited.status_code == 200
    body = edited.json()
    assert body["version"]["kind"] == "edited" and body["version"]["number"] == 2
    assert [(s["start"], s["end"]) for s in body["segments"]] == [(0.0, 1.5), (2.0, 3.5)]
    original = client.get(f"{base}/transcript", params={"version": "original"}).json()
    assert original["segments"][0]["text"] == "hello wrld"
    diff = client.get(f"{base}/transcript/diff").json()
    assert diff["changed"] == 1 and diff["segments"][0] == {
        "index": 0,
        "start": 0.0,
        "end": 1.5,
        "original": "hello wrld",
        "corrected": "hello world",
        "changed": True,
    }
    assert [v["kind"] for v in client.get(f"{base}/transcript/versions").json()["data"]] == ["original", "edited"]
    assert client.patch(f"{base}/transcript/segments/9", json={"text": "x"}).status_code == 404

    assert client.put(f"{base}/speakers", json={"names": {"left": "Alice"}}).json() == {"names": {"left": "Alice"}}
    # One speaker, two short phrases without a sentence's end between them: one cue, with the edited text.
    srt = client.get(f"{base}/transcript", params={"format": "srt"})
    assert srt.status_code == 200 and "00:00:00,000 --> 00:00:03,500\nAlice: hello world second line" in srt.text
    vtt = client.get(f"{base}/transcript", params={"format": "vtt"}).text
    assert vtt.startswith("WEBVTT") and "00:00:00.000 --> 00:00:03.500\n<v Alice>hello world second line" in vtt
    txt = client.get(f"{base}/transcript", params={"format": "txt", "download": True})
    assert "hello world" in txt.text and "attachment" in txt.headers["content-disposition"]
    assert client.get(f"{base}/transcript", params={"format": "pdf"}).status_code == 422
    assert client.get(f"{base}/summary").status_code == 404


def test_summaries_of_either_shape_answer_every_item_with_its_timestamp(
    client: TestClient, audio: AudioFactory, settings: Settings
) -> None:
    recording_id = transcribed(settings, client, audio, ["we ship on monday", "anna writes the notes"])
    store = TranscriptStore(client.app.state.stenograph.engine)  # type: ignore[attr-defined]
    old = {  # as summaries were stored before decisions and action items cited timestamps
        "title": "Launch",
        "key_points": [{"text": "Shipping Monday.", "timestamp_s": 0.0}],
        "decisions": ["Ship on Monday."],
        "action_items": [{"text": "Write the notes", "owner": "Anna"}],
        "method": "llm",
    }
    store.save_summary(recording_id, version_id=None, task_id=None, markdown="# Launch\n", data=old)
    body = client.get(f"/recordings/{recording_id}/summary", params={"format": "json"}).json()
    assert body["decisions"] == [{"text": "Ship on Monday.", "timestamp_s": None}]
    assert body["action_items"] == [{"text": "Write the notes", "owner": "Anna", "timestamp_s": None}]
    assert body["key_points"] == [{"text": "Shipping Monday.", "timestamp_s": 0.0}]
    assert body["title"] == "Launch" and body["markdown"] == "# Launch\n"
    new = {
        **old,
        "decisions": [{"text": "Ship on Monday.", "timestamp_s": 0.0}],
        "action_items": [{"text": "Write the notes", "owner": None, "timestamp_s": 2.0}],
    }
    store.save_summary(recording_id, version_id=None, task_id=None, markdown="# Launch\n", data=new)
    body = client.get(f"/recordings/{recording_id}/summary", params={"format": "json"}).json()
    assert body["decisions"] == new["decisions"] and body["action_items"] == new["action_items"]


def test_glossary_round_trip(client: TestClient) -> None:
    assert client.get("/glossary").json()["terms"] == []
    saved = client.put("/glossary", json={"terms": ["Stenograph", " Kubernetes ", "", "Stenograph"]}).json()
    assert saved["terms"] == ["Kubernetes", "Stenograph"]
    assert client.get("/glossary").json()["terms"] == ["Kubernetes", "Stenograph"]


def test_delete_removes_rows_and_file_and_rerun_needs_a_transcript(
    client: TestClient, audio: AudioFactory, settings: Settings
) -> None:
    recording = upload(client, ("a.wav", audio.make("wav_s16_16k").read_bytes())).json()["data"][0]
    base = f"/recordings/{recording['id']}"
    assert client.post(f"{base}/steps/summary").status_code == 409
    assert client.post(f"{base}/steps/translation").status_code == 422
    # The same transcription is already pending (the upload's): the same re-run again would do it twice.
    assert client.post(f"{base}/steps/transcription").status_code == 409
    rerun = client.post(f"{base}/steps/transcription", json={"language": "en"})
    assert rerun.status_code == 201 and rerun.json()["recording_id"] == recording["id"]
    assert client.delete(base).status_code == 204
    assert client.get(base).status_code == 404 and uploads(settings) == []
    assert client.get("/tasks").json()["count"] == 0


def test_llm_settings_say_when_none_is_used(client: TestClient) -> None:
    described = client.get("/settings/llm").json()
    assert described["kind"] == "none"


def test_llm_settings_warn_when_transcripts_leave_this_machine(make_settings) -> None:  # type: ignore[no-untyped-def]
    remote = make_settings(llm="openai", llm_base_url="https://api.openai.com/v1", llm_model="gpt-4o-mini")
    with TestClient(create_app(remote), base_url="http://localhost") as client:
        described = client.get("/settings/llm").json()
    assert described["kind"] == "openai" and described["local"] is False
    assert "not on this machine" in described["warning"] and "api.openai.com" in described["warning"]
    local = make_settings(llm="openai", llm_base_url="http://127.0.0.1:8080/v1", llm_model="gemma")
    with TestClient(create_app(local), base_url="http://localhost") as client:
        assert client.get("/settings/llm").json()["warning"] is None


def test_another_language_or_a_translation_with_no_model_named_is_taken(
    client: TestClient, audio: AudioFactory
) -> None:
    # The default tiny.en gives way to the multilingual model for German and for translations.
    speech = audio.make("wav_s16_16k").read_bytes()
    german = upload(client, ("a.wav", speech), language="de", steps="transcription")
    assert german.status_code == 201, german.text
    params = german.json()["data"][0]["tasks"][0]["params"]
    assert params["model"] is None and params["options"]["language"] == "de"
    translated = upload(client, ("b.wav", speech), task="translate", steps="transcription")
    assert translated.status_code == 201, translated.text
    assert translated.json()["data"][0]["tasks"][0]["params"]["options"]["task"] == "translate"
    # A re-run may ask for a translation of a recording transcribed before (a new version; the others stay).
    rid = german.json()["data"][0]["id"]
    rerun = client.post(f"/recordings/{rid}/steps/transcription", json={"task": "translate", "language": "de"})
    assert rerun.status_code == 201, rerun.text
    assert rerun.json()["params"]["options"]["task"] == "translate"
    refused = client.post(f"/recordings/{rid}/steps/transcription", json={"task": "translate", "model": "tiny.en"})
    assert refused.status_code == 422 and "English only" in refused.json()["detail"]["message"]


def test_an_openai_translation_with_an_english_only_model_is_a_422(
    client: TestClient, audio: AudioFactory, settings: Settings
) -> None:
    queue = client.app.state.stenograph.queue  # type: ignore[attr-defined]
    queue.register_worker("live-worker", "elsewhere", 2, 1)
    speech = audio.make("wav_s16_16k").read_bytes()
    refused = client.post("/v1/audio/translations", files={"file": ("a.wav", speech)}, data={"model": "tiny.en"})
    assert refused.status_code == 422, refused.text
    error = refused.json()["error"]
    assert error["code"] == "model_not_multilingual" and "cannot translate" in error["message"]
    assert uploads(settings) == [] and client.get("/recordings").json()["count"] == 0
