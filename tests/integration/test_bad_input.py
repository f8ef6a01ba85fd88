"""Bad input is a 4xx and leaves nothing behind: NUL and control characters, ids beyond 64 bits,
whitespace-only edits, a failing submit, model paths, glossary limits. SQLite and PostgreSQL."""

from __future__ import annotations

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
    with TestClient(create_app(settings), base_url="http://localhost", raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def speech(audio: AudioFactory) -> bytes:
    return audio.make("wav_s16_16k").read_bytes()


def uploads(settings: Settings) -> list[Path]:
    return sorted(settings.uploads_dir.glob("*")) if settings.uploads_dir.exists() else []


def upload(client: TestClient, name: str, data: bytes, **fields: str):  # type: ignore[no-untyped-def]
    return client.post("/recordings", files=[("file", (name, data))], data=fields)


def raw_upload(client: TestClient, filename: bytes, data: bytes, **fields: str):  # type: ignore[no-untyped-def]
    """A multipart upload whose file name bytes go as they are (httpx would percent-encode control bytes)."""
    boundary = b"stenograph-test-boundary"
    parts = [
        b'--%s\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n' % (boundary, k.encode(), v.encode())
        for k, v in fields.items()
    ]
    parts.append(
        b'--%s\r\nContent-Disposition: form-data; name="file"; filename="%s"\r\n'
        b"Content-Type: audio/wav\r\n\r\n%s\r\n" % (boundary, filename, data)
    )
    body = b"".join(parts) + b"--%s--\r\n" % boundary
    headers = {"content-type": f"multipart/form-data; boundary={boundary.decode()}"}
    return client.post("/recordings", content=body, headers=headers)


def with_transcript(client: TestClient, speech: bytes) -> int:
    recording_id = int(upload(client, "a.wav", speech).json()["data"][0]["id"])
    store = TranscriptStore(client.app.state.stenograph.engine)  # type: ignore[attr-defined]
    segments = [Segment(0, 0.0, 1.5, "one two", channel="left"), Segment(1, 2.0, 3.5, "three")]
    store.create_version(recording_id, "original", segments, task_id=None, language="en", info={})
    return recording_id


def test_nul_and_control_characters_are_removed_from_stored_text(
    client: TestClient, speech: bytes, settings: Settings
) -> None:
    response = raw_upload(client, b"me\x00et\x07ing.wav", speech, prompt="Hello\x00 there\r\nnext", template="\x00")
    assert response.status_code == 201, response.text
    recording = response.json()["data"][0]
    assert recording["name"] == "me et ing.wav"
    assert recording["tasks"][0]["params"]["options"]["initial_prompt"] == "Hello there\nnext"
    assert upload(client, "b.wav", speech, language="e\x00n").status_code == 422
    assert upload(client, "c.wav", speech, model="\x00/x").status_code == 422
    recording_id = with_transcript(client, speech)
    base = f"/recordings/{recording_id}"
    edit = client.patch(f"{base}/transcript/segments/1", json={"text": "thr\x00ee\x1b four\nfive"})
    assert edit.status_code == 200, edit.text
    assert edit.json()["segments"][1]["text"] == "three four\nfive"
    names = client.put(f"{base}/speakers", json={"names": {"left\x00": "Al\x00ice", "right": "\x00"}})
    assert names.status_code == 200 and names.json()["names"] == {"left": "Al ice"}, names.text
    assert len(uploads(settings)) == 2  # the two refused uploads kept nothing


def test_a_whitespace_only_edit_is_refused(client: TestClient, speech: bytes) -> None:
    recording_id = with_transcript(client, speech)
    for text in (" ", "\n\t ", "\x00"):
        response = client.patch(f"/recordings/{recording_id}/transcript/segments/0", json={"text": text})
        assert response.status_code == 422, (text, response.text)
    assert [v["kind"] for v in client.get(f"/recordings/{recording_id}/transcript/versions").json()["data"]] == [
        "original"
    ]


def test_ids_beyond_64_bits_are_422(client: TestClient) -> None:
    huge = str(2**64)
    for path, params in [
        ("/tasks", {"recording_id": huge}),
        ("/tasks", {"recording_id": "0"}),
        (f"/tasks/{huge}", {}),
        (f"/recordings/{huge}", {}),
        ("/recordings", {"offset": huge}),
    ]:
        response = client.get(path, params=params)
        assert response.status_code == 422, (path, params, response.text)


@pytest.mark.parametrize("target", ["create_recording", "enqueue"])
def test_a_failing_submit_leaves_no_file_and_no_recording(
    client: TestClient, speech: bytes, settings: Settings, monkeypatch: pytest.MonkeyPatch, target: str
) -> None:
    def fail(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the database went away")

    owner = TranscriptStore if target == "create_recording" else type(client.app.state.stenograph.queue)  # type: ignore[attr-defined]
    monkeypatch.setattr(owner, target, fail)
    response = client.post("/recordings", files=[("file", ("a.wav", speech)), ("file", ("b.wav", speech))])
    assert response.status_code == 500
    monkeypatch.undo()
    assert uploads(settings) == []
    assert client.get("/recordings").json()["count"] == 0


def test_a_model_path_must_be_a_model_and_says_nothing_of_other_paths(
    client: TestClient, speech: bytes, settings: Settings, tmp_path: Path
) -> None:
    not_a_model = tmp_path / "secret"
    not_a_model.mkdir()
    model = tmp_path / "model"
    model.mkdir()
    (model / "model.bin").write_bytes(b"x")
    (model / "config.json").write_text("{}")
    messages = []
    for path in (not_a_model, tmp_path / "missing", tmp_path / "secret" / "file"):
        response = upload(client, "a.wav", speech, model=str(path))
        assert response.status_code == 422, response.text
        messages.append(response.json()["detail"]["message"].replace(str(path), "PATH"))
    assert len(set(messages)) == 1 and "CTranslate2" in messages[0]
    assert upload(client, "a.wav", speech, model=str(model)).status_code == 201
    assert len(uploads(settings)) == 1


def test_glossary_limits_are_422_everywhere(client: TestClient, speech: bytes, settings: Settings) -> None:
    too_long = "x" * 65
    for glossary in (too_long, "C++, A/B, Ann's", "ok\tterm", ",".join(f"t{i}" for i in range(101))):
        response = upload(client, "a.wav", speech, glossary=glossary)
        expected = 201 if glossary.startswith("C++") else 422
        assert response.status_code == expected, (glossary[:30], response.text)
    assert len(uploads(settings)) == 1
    for terms in ([too_long], ["a\nb"], ["a\x00b"], ["<script>"], [f"t{i}" for i in range(101)], ["x" * 100_000]):
        response = client.put("/glossary", json={"terms": terms})
        assert response.status_code == 422, (terms[:2], response.text)
    assert client.put("/glossary", json={"terms": ["Kubernetes", "AT&T", "C#", "São Paulo"]}).status_code == 200
    recording_id = with_transcript(client, speech)
    rerun = client.post(f"/recordings/{recording_id}/steps/correction", json={"glossary": [too_long]})
    assert rerun.status_code == 422, rerun.text
    assert client.post(f"/recordings/{recording_id}/steps/correction", json={"glossary": ["Anna"]}).status_code == 201


# --- found by a new user trying to break it -------------------------------------------------------
def test_yes_no_options_are_strict(client: TestClient, speech: bytes, settings: Settings) -> None:
    for field in ("vad", "word_timestamps"):
        refused = upload(client, "a.wav", speech, **{field: "maybe"})
        assert refused.status_code == 422 and field in refused.text, refused.text
    assert uploads(settings) == []  # nothing kept
    assert upload(client, "a.wav", speech, vad="off", word_timestamps="YES").status_code == 201


def test_a_rerun_takes_known_fields_only_and_one_at_a_time(client: TestClient, speech: bytes) -> None:
    recording_id = with_transcript(client, speech)
    unknown = client.post(f"/recordings/{recording_id}/steps/summary", json={"beam_size": 5})
    assert unknown.status_code == 422 and "beam_size" in unknown.text
    first = client.post(f"/recordings/{recording_id}/steps/summary", json={"template": "interview"})
    assert first.status_code == 201
    again = client.post(f"/recordings/{recording_id}/steps/summary", json={"template": "interview"})
    assert again.status_code == 409 and again.json()["detail"]["code"] == "step_busy", again.text
    assert str(first.json()["id"]) in again.json()["detail"]["message"]
    other = client.post(f"/recordings/{recording_id}/steps/summary", json={"template": "lecture-notes"})
    assert other.status_code == 201  # another re-run is not the same one


def test_invisible_characters_and_overlong_names_are_not_stored(client: TestClient, speech: bytes) -> None:
    created = upload(client, "re\u202esume\u200b.wav", speech).json()["data"][0]
    assert "\u202e" not in created["name"] and "\u200b" not in created["name"]
    recording_id = with_transcript(client, speech)
    edit = client.patch(f"/recordings/{recording_id}/transcript/segments/0", json={"text": "\u200b\u2060"})
    assert edit.status_code == 422  # nothing visible left: as a whitespace-only edit
    too_long = client.put(f"/recordings/{recording_id}/speakers", json={"names": {"left": "x" * 101}})
    assert too_long.status_code == 422, too_long.text
    assert client.put(f"/recordings/{recording_id}/speakers", json={"names": {"left": "Dana"}}).status_code == 200
    prompt = upload(client, "a.wav", speech, prompt="word " * 300)
    assert prompt.status_code == 422 and "prompt" in prompt.text


def test_an_unknown_upload_field_is_422_naming_the_closest_known_one(
    client: TestClient, speech: bytes, settings: Settings
) -> None:
    misspelt = upload(client, "a.wav", speech, num_speaker="3")
    assert misspelt.status_code == 422, misspelt.text
    detail = misspelt.json()["detail"]
    assert detail["code"] == "unknown_field" and detail["field"] == "num_speaker"
    assert detail["message"] == "unknown field 'num_speaker' (did you mean 'num_speakers'?)"
    assert detail["suggestion"] == "num_speakers"
    nothing_close = upload(client, "a.wav", speech, colour="red")
    assert nothing_close.status_code == 422 and nothing_close.json()["detail"]["suggestion"] is None
    assert "known fields: file, url, steps" in nothing_close.json()["detail"]["message"]
    assert uploads(settings) == [] and client.get("/recordings").json()["count"] == 0  # nothing kept
    assert upload(client, "a.wav", speech, num_speakers="", language="en").status_code == 201


def test_the_openai_routes_take_fields_they_do_not_use(client: TestClient) -> None:
    """OpenAI's clients send fields Stenograph has no use for (temperature...): no 422 for them; the request
    goes on to the media check."""
    client.app.state.stenograph.queue.register_worker("live-worker", "elsewhere", 2, 1)  # type: ignore[attr-defined]
    answer = client.post(
        "/v1/audio/transcriptions",
        files={"file": ("a.wav", b"hello, not audio")},
        data={"model": "whisper-1", "temperature": "0", "user": "someone"},
    )
    assert answer.status_code == 400 and answer.json()["error"]["code"] == "not_media", answer.text


def test_a_diarization_without_a_transcription_is_refused_saying_what_to_add(
    client: TestClient, speech: bytes, settings: Settings
) -> None:
    """Its result (who spoke when) shows only on a transcript: no page, export or answer shows it alone."""
    refused = upload(client, "a.wav", speech, steps="diarization")
    assert refused.status_code == 422, refused.text
    assert refused.json()["detail"]["message"].startswith("diarization alone shows nothing")
    assert "add transcription" in refused.json()["detail"]["message"]
    assert uploads(settings) == []
    taken = upload(client, "a.wav", speech, steps="transcription,diarization,speakers")
    assert taken.status_code == 201, taken.text
    assert [t["type"] for t in taken.json()["data"][0]["tasks"]] == ["transcription", "diarization", "speakers"]


def test_an_error_quotes_at_most_200_characters_of_an_input(client: TestClient, speech: bytes) -> None:
    """A 100 KB template (its text sent as its name) comes back as its first 200 characters and its length;
    so does a 100 KB field name of a JSON body."""
    template = "Minutes: " + "y" * 100_000
    refused = upload(client, "a.wav", speech, template=template)
    assert refused.status_code == 422
    message = refused.json()["detail"]["message"]
    assert repr(template[:200] + "…") in message and "(100,009 characters)" in message
    assert len(refused.content) < 2000
    recording_id = with_transcript(client, speech)
    extra = client.post(f"/recordings/{recording_id}/steps/summary", json={"z" * 100_000: 1})
    assert extra.status_code == 422 and extra.json()["detail"]["code"] == "invalid_request"
    assert "z" * 200 + "…: Extra inputs are not permitted" in extra.json()["detail"]["message"]
    assert len(extra.content) < 2000
    task_type = client.get("/tasks", params={"type": "t" * 10_000})
    assert task_type.status_code == 422 and len(task_type.content) < 2000, task_type.text[:300]
