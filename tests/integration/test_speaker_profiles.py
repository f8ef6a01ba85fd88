"""Voice profiles (docs/speaker-profiles.md) through the API and the queue, with the ScriptedDiarizer given
embeddings and the tasks run in the test's process: a rename keeps a profile, a later matching voice gets its
name and a confidence, another voice does not, corrections move voices between profiles, the setting off keeps
nothing, deleting a profile deletes its embeddings, merging and renaming profiles, and a data directory of
revision 0010 upgrading in place. SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from stenograph.api import create_app
from stenograph.queue import TaskQueue, TaskRecord
from stenograph.recordings.profiles import ProfileStore
from stenograph.recordings.store import TranscriptStore
from stenograph.settings import Settings
from stenograph.steps.diarization.diarizer import Diarizer, SpeakerTurn
from stenograph.steps.diarization.fake import ScriptedDiarizer
from stenograph.transcript.types import Segment, Word
from tests.audio_factory import AudioFactory
from tests.helpers import database_at_revision
from tests.steps.conftest import run_claimed_here

WORDS = (Word(0.0, 1.0, " good", 0.9), Word(1.0, 2.0, " morning", 0.9), Word(2.2, 3.0, " hello", 0.9))
SEGMENTS = [Segment(0, 0.0, 3.0, "good morning hello", words=WORDS), Segment(1, 3.0, 4.0, "bye")]
#: "B" speaks first, so it is "Speaker 1"; "A" is "Speaker 2".
TURNS = [SpeakerTurn(0.0, 2.1, "B"), SpeakerTurn(2.1, 4.0, "A")]


def voice(axis: int, wobble: float = 0.0, seed: int = 0) -> list[float]:
    """A unit vector near axis ``axis`` of 16 dimensions (``wobble``: the size of a random change)."""
    vector = np.zeros(16)
    vector[axis] = 1.0
    vector += wobble * np.random.default_rng(seed).standard_normal(16)
    return [float(x) for x in vector / np.linalg.norm(vector)]


DANA, ANN, OTHER = voice(0), voice(1), voice(2)


def make_client(settings: Settings) -> TestClient:
    return TestClient(create_app(settings), base_url="http://localhost")


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with make_client(settings) as client:
        yield client


def parts(client: TestClient) -> tuple[TaskQueue, TranscriptStore, ProfileStore]:
    service = client.app.state.stenograph  # type: ignore[attr-defined]
    return service.queue, TranscriptStore(service.engine), ProfileStore(service.engine)


def run_claimed(client: TestClient, settings: Settings, record: TaskRecord, diarizer: Diarizer) -> None:
    queue, store, _ = parts(client)
    run_claimed_here(queue, store, settings, record, segments=SEGMENTS, diarizer=diarizer)


def diarized_file(client: TestClient, settings: Settings, speech: bytes, diarizer: Diarizer) -> int:
    """A recording of ``speech`` run through transcription (``SEGMENTS``), diarization (``diarizer``) and speakers."""
    response = client.post(
        "/recordings", files=[("file", ("talk.wav", speech))], data={"steps": "transcription,diarization,speakers"}
    )
    assert response.status_code == 201, response.text
    queue = parts(client)[0]
    for _ in range(2):
        while (record := queue.claim("w")) is not None:
            run_claimed(client, settings, record, diarizer)
    return int(response.json()["data"][0]["id"])


def diarized(client: TestClient, audio: AudioFactory, settings: Settings, b: list[float], a: list[float]) -> int:
    """A recording whose "Speaker 1" has voice ``b`` and "Speaker 2" voice ``a`` (the ScriptedDiarizer's)."""
    speech = audio.make("wav_s16_16k").read_bytes()
    return diarized_file(client, settings, speech, ScriptedDiarizer(TURNS, embeddings={"B": b, "A": a}))


def rename(client: TestClient, recording_id: int, names: dict[str, str]) -> None:
    response = client.put(f"/recordings/{recording_id}/speakers", json={"names": names})
    assert response.status_code == 200, response.text


def profiles(client: TestClient) -> dict[str, dict[str, Any]]:
    body = client.get("/speaker-profiles").json()
    assert body["count"] == len(body["data"])
    return {p["name"]: p for p in body["data"]}


def latest(client: TestClient, recording_id: int) -> dict[str, Any]:
    return client.get(f"/recordings/{recording_id}/transcript", params={"version": "speakers"}).json()  # type: ignore[no-any-return]


def test_a_rename_keeps_the_voice_as_a_profile(client: TestClient, audio: AudioFactory, settings: Settings) -> None:
    first = diarized(client, audio, settings, DANA, OTHER)
    assert profiles(client) == {}  # diarizing alone keeps no voice
    rename(client, first, {"Speaker 1": "Dana"})
    found = profiles(client)
    assert list(found) == ["Dana"] and (found["Dana"]["embeddings"], found["Dana"]["recordings"]) == (1, 1)
    assert parts(client)[2].embeddings(found["Dana"]["id"]) == [pytest.approx(DANA)]
    rename(client, first, {"Speaker 1": "Dana"})  # unchanged names teach nothing more
    assert profiles(client)["Dana"]["embeddings"] == 1


def test_a_later_matching_voice_gets_the_name_and_a_confidence_and_another_does_not(
    client: TestClient, audio: AudioFactory, settings: Settings
) -> None:
    rename(client, diarized(client, audio, settings, DANA, OTHER), {"Speaker 1": "Dana"})
    near = voice(0, wobble=0.1, seed=3)
    second = diarized(client, audio, settings, voice(2, wobble=0.1, seed=4), near)  # Dana is "Speaker 2" now
    body = latest(client, second)
    assert [s["speaker"] for s in body["segments"]] == ["Speaker 1", "Dana", "Dana"]
    matched = body["version"]["info"]["profiles"]
    assert list(matched) == ["Speaker 2"] and matched["Speaker 2"]["name"] == "Dana"
    expected = float(np.dot(near, DANA))
    assert matched["Speaker 2"]["confidence"] == pytest.approx(expected, abs=1e-3) and expected > 0.72
    assert client.get(f"/recordings/{second}").json()["speakers"] == {"Speaker 2": "Dana"}
    assert profiles(client)["Dana"]["embeddings"] == 2  # the matched voice joined the profile
    third = diarized(client, audio, settings, ANN, OTHER)  # no known voice
    assert [s["speaker"] for s in latest(client, third)["segments"]] == ["Speaker 1", "Speaker 2", "Speaker 2"]
    assert "profiles" not in latest(client, third)["version"]["info"]


def test_renaming_a_wrong_match_moves_the_voice_to_the_right_profile(
    client: TestClient, audio: AudioFactory, settings: Settings
) -> None:
    rename(client, diarized(client, audio, settings, DANA, OTHER), {"Speaker 1": "Dana"})
    lookalike = voice(0, wobble=0.2, seed=5)
    second = diarized(client, audio, settings, lookalike, ANN)
    assert client.get(f"/recordings/{second}").json()["speakers"] == {"Speaker 1": "Dana"}
    rename(client, second, {"Speaker 1": "Ann"})  # the person corrects it
    found = profiles(client)
    store = parts(client)[2]
    assert store.embeddings(found["Dana"]["id"]) == [pytest.approx(DANA)]  # the wrong profile lost it
    assert store.embeddings(found["Ann"]["id"]) == [pytest.approx(lookalike)]  # the right one gained it
    rename(client, second, {})  # the name removed: the voice is nobody's
    assert list(profiles(client)) == ["Dana"]  # Ann, left without a voice, is gone


def test_merging_or_moving_a_wrong_match_into_a_named_speaker_moves_the_voice(
    client: TestClient, audio: AudioFactory, settings: Settings
) -> None:
    rename(client, diarized(client, audio, settings, DANA, OTHER), {"Speaker 1": "Dana"})
    second = diarized(client, audio, settings, voice(0, wobble=0.2, seed=6), ANN)
    rename(client, second, {"Speaker 1": "Dana", "Speaker 2": "Eve"})
    assert profiles(client)["Eve"]["embeddings"] == 1
    merged = client.post(f"/recordings/{second}/speakers/merge", json={"source": "Speaker 1", "into": "Speaker 2"})
    assert merged.status_code == 200, merged.text
    found = profiles(client)
    assert (found["Dana"]["embeddings"], found["Eve"]["embeddings"]) == (1, 2)
    third = diarized(client, audio, settings, OTHER, voice(0, wobble=0.2, seed=7))
    assert client.get(f"/recordings/{third}").json()["speakers"] == {"Speaker 2": "Dana"}
    rename(client, third, {"Speaker 1": "Zoe", "Speaker 2": "Dana"})
    assert profiles(client)["Zoe"]["embeddings"] == 1
    for index in (2, 1):  # Speaker 2's segments, the last one moved last; "Zoe" is Speaker 1's displayed name
        moved = client.put(f"/recordings/{third}/transcript/segments/{index}/speaker", json={"speaker": "Zoe"})
        assert moved.status_code == 200, moved.text
        # only the whole voice moved says whose it is
        assert profiles(client)["Zoe"]["embeddings"] == (2 if index == 1 else 1)
    assert (profiles(client)["Dana"]["embeddings"], profiles(client)["Zoe"]["embeddings"]) == (1, 2)  # Dana lost it


def test_with_profiles_off_nothing_is_kept_or_matched(
    make_settings: Any, audio: AudioFactory, settings: Settings
) -> None:
    with make_client(settings) as on:
        rename(on, diarized(on, audio, settings, DANA, OTHER), {"Speaker 1": "Dana"})
    off = make_settings(speaker_profiles=False)
    with make_client(off) as client:
        store = parts(client)[2]
        before = store.count_embeddings()
        recording_id = diarized(client, audio, off, DANA, OTHER)
        assert latest(client, recording_id)["segments"][0]["speaker"] == "Speaker 1"  # not matched
        rename(client, recording_id, {"Speaker 1": "Dana", "Speaker 2": "Ann"})
        assert store.count_embeddings() == before == 1 and list(profiles(client)) == ["Dana"]
        assert client.get("/speaker-profiles").json()["enabled"] is False


def test_deleting_a_profile_deletes_its_embeddings(client: TestClient, audio: AudioFactory, settings: Settings) -> None:
    rename(client, diarized(client, audio, settings, DANA, ANN), {"Speaker 1": "Dana", "Speaker 2": "Ann"})
    found = profiles(client)
    store = parts(client)[2]
    assert client.delete(f"/speaker-profiles/{found['Dana']['id']}").status_code == 204
    assert store.embeddings(found["Dana"]["id"]) == [] and store.count_embeddings() == 1
    assert client.get(f"/speaker-profiles/{found['Dana']['id']}").status_code == 404
    assert client.delete(f"/speaker-profiles/{found['Dana']['id']}").status_code == 404
    later = diarized(client, audio, settings, DANA, OTHER)
    assert latest(client, later)["segments"][0]["speaker"] == "Speaker 1"  # the deleted voice matches nothing


def test_profiles_are_renamed_and_merged(client: TestClient, audio: AudioFactory, settings: Settings) -> None:
    rename(client, diarized(client, audio, settings, DANA, ANN), {"Speaker 1": "Dana", "Speaker 2": "D."})
    found = profiles(client)
    dana, short = found["Dana"]["id"], found["D."]["id"]
    clash = client.patch(f"/speaker-profiles/{short}", json={"name": "Dana"})
    assert clash.status_code == 409 and clash.json()["detail"]["code"] == "profile_exists"
    assert client.post(f"/speaker-profiles/{dana}/merge", json={"into": dana}).status_code == 422
    merged = client.post(f"/speaker-profiles/{short}/merge", json={"into": dana})
    assert merged.status_code == 200 and merged.json()["embeddings"] == 2
    renamed = client.patch(f"/speaker-profiles/{dana}", json={"name": "Dana Scully"})
    assert renamed.status_code == 200 and renamed.json()["name"] == "Dana Scully"
    assert list(profiles(client)) == ["Dana Scully"]
    later = diarized(client, audio, settings, OTHER, ANN)  # ANN's voice, merged into Dana Scully's profile
    assert latest(client, later)["segments"][-1]["speaker"] == "Dana Scully"
    assert client.patch("/speaker-profiles/999", json={"name": "x"}).status_code == 404


def test_a_rename_racing_another_for_the_same_name_is_a_409(
    client: TestClient, audio: AudioFactory, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The name check passes (another rename takes the name just after it): the unique name still holds and the
    answer is the same 409 as a plain clash, not a 500."""
    from stenograph.recordings.profiles import ProfileStore

    rename(client, diarized(client, audio, settings, DANA, ANN), {"Speaker 1": "Dana", "Speaker 2": "D."})
    short = profiles(client)["D."]["id"]
    monkeypatch.setattr(ProfileStore, "by_name", lambda self, name: None)
    clash = client.patch(f"/speaker-profiles/{short}", json={"name": "Dana"})
    assert clash.status_code == 409 and clash.json()["detail"]["code"] == "profile_exists", clash.text
    assert sorted(profiles(client)) == ["D.", "Dana"]


def test_a_data_directory_of_revision_0010_upgrades_in_place_to_profiles(tmp_path: Path) -> None:
    """Revision 0011: an existing recording and its diarization are kept, and profiles can be written."""
    with database_at_revision(tmp_path / "data", "0010") as old:
        old.conn.exec_driver_sql(
            "INSERT INTO recordings (id, name, stored_name, size_bytes, created_at, media, options, speakers) "
            "VALUES (1, 'old.wav', 'abc', 10, '2026-12-01 12:00:00.000000', '{}', '{}', '{\"Speaker 1\": \"Dana\"}')"
        )
    engine = old.engine
    store = TranscriptStore(engine)
    assert store.recording(1)["speakers"] == {"Speaker 1": "Dana"}
    diarization_id = store.save_diarization(
        1,
        task_id=None,
        model="m",
        duration_s=1.0,
        params={},
        speakers=["A"],
        turns=[(0.0, 1.0, "A")],
        embeddings={"A": DANA},
    )
    voices = ProfileStore(engine)
    assert voices.profiles() == []
    from stenograph.recordings.profiles import VoiceKey

    profile_id = voices.learn(
        "Dana", VoiceKey(1, diarization_id, "A"), voices.diarization_embeddings(diarization_id)["A"]
    )
    assert voices.embeddings(profile_id) == [pytest.approx(DANA)]
    engine.dispose()
