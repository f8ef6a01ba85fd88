"""The diarization and speakers steps with a ScriptedDiarizer and stored segments, against a real database:
the diarization's result is stored; the speakers step writes a new ``speakers`` version (earlier ones kept);
a re-run makes another; channels=split is left alone, unless the diarization was made by channel (each segment
then takes its channel's speaker); a stereo recording with a voice per channel is
diarized by channel, one with one sound on both channels as a mix; the LLM steps see the speakers' names."""

from __future__ import annotations

from typing import Any

import pytest

from stenograph.errors import PermanentError, TaskCancelled
from stenograph.queue import TaskQueue
from stenograph.recordings.store import TranscriptStore
from stenograph.settings import Settings
from stenograph.steps.base import StepContext, engine_diarizer, run_step
from stenograph.steps.correction.step import correction_source
from stenograph.steps.diarization.diarizer import SpeakerTurn
from stenograph.steps.diarization.fake import ScriptedDiarizer
from stenograph.steps.diarization.step import STEP as DIARIZATION
from stenograph.steps.speakers.step import STEP as SPEAKERS
from stenograph.steps.summary.summary import transcript_line
from stenograph.transcript.types import Segment, Word
from tests.steps.conftest import FakeTask, stereo_recording, write_wav

TURNS = [SpeakerTurn(0.0, 2.1, "B"), SpeakerTurn(2.1, 4.0, "A")]


@pytest.fixture
def recording(store: TranscriptStore, settings: Settings) -> int:
    """A 4 s recording with a real WAV file and an original transcript of two segments with word times."""
    settings.uploads_dir.mkdir(parents=True, exist_ok=True)
    write_wav(settings.uploads_dir / "talk.wav", 4.0)
    recording_id = store.create_recording(
        name="talk.wav", stored_name="talk.wav", size_bytes=1, duration_s=4.0, media={}, options={}
    )
    words = (Word(0.0, 1.0, " good", 0.9), Word(1.0, 2.0, " morning", 0.9), Word(2.2, 3.0, " hello", 0.9))
    segments = [Segment(0, 0.0, 3.0, "good morning hello", words=words), Segment(1, 3.0, 4.0, "bye")]
    store.create_version(recording_id, "original", segments, task_id=None, language="en", info={"duration_s": 4.0})
    return recording_id


def context(
    queue: TaskQueue, store: TranscriptStore, settings: Settings, step: str, recording_id: int, diarizer: Any = None
) -> tuple[StepContext, FakeTask]:
    record = queue.enqueue(step, {"recording_id": recording_id}, recording_id=recording_id)
    task = FakeTask(settings, task_id=record.id, task_type=step)
    return StepContext(task, store=store, diarizer=lambda _settings: diarizer), task


def diarize(queue: TaskQueue, store: TranscriptStore, settings: Settings, recording_id: int, **params: Any) -> Any:
    fake = ScriptedDiarizer(TURNS, embeddings={"A": [1.0, 0.0], "B": [0.0, 1.0]})
    ctx, task = context(queue, store, settings, "diarization", recording_id, fake)
    return run_step(DIARIZATION, ctx, {"recording_id": recording_id, **params}), fake, task


def test_diarization_stores_turns_speakers_and_embeddings(
    queue: TaskQueue, store: TranscriptStore, settings: Settings, recording: int
) -> None:
    result, fake, task = diarize(queue, store, settings, recording, num_speakers=2)
    assert result["speakers"] == 2 and result["turns"] == 2 and result["model"] == "scripted-diarizer"
    assert fake.calls[0].num_speakers == 2 and fake.calls[0].samples == 64_000  # 4 s of 16 kHz mono
    row = store.latest_diarization(recording)
    assert row["id"] == result["diarization_id"] and row["task_id"] == task.task_id
    assert row["turns"] == [[0.0, 2.1, "B"], [2.1, 4.0, "A"]] and row["speakers"] == ["B", "A"]
    assert row["embeddings"] == {"A": [1.0, 0.0], "B": [0.0, 1.0]} and row["params"]["num_speakers"] == 2
    assert task.progress[-1] == (1.0, "done")


def test_speakers_writes_a_new_version_split_at_words_and_keeps_the_earlier_one(
    queue: TaskQueue, store: TranscriptStore, settings: Settings, recording: int
) -> None:
    diarize(queue, store, settings, recording)
    ctx, _ = context(queue, store, settings, "speakers", recording)
    result = run_step(SPEAKERS, ctx, {"recording_id": recording})
    assert result["speakers"] == ["Speaker 1", "Speaker 2"] and result["splits"] == 1 and result["warnings"] == []
    versions = store.versions(recording)
    assert [v.kind for v in versions] == ["original", "speakers"] and versions[1].id == result["version_id"]
    got = [(s.index, s.start, s.end, s.text, s.speaker) for s in store.segments(result["version_id"])]
    assert got == [
        (0, 0.0, 2.0, "good morning", "Speaker 1"),
        (1, 2.2, 3.0, "hello", "Speaker 2"),
        (2, 3.0, 4.0, "bye", "Speaker 2"),
    ]
    assert len(store.segments(versions[0].id)) == 2  # the original is kept as it was
    assert correction_source(store, recording).id == result["version_id"]  # the correction starts from it

    store.set_speakers(recording, {"Speaker 2": "Dana"})
    assert [s.speaker for s in store.segments(result["version_id"])] == ["Speaker 1", "Dana", "Dana"]
    assert transcript_line(store.segments(result["version_id"])[1]) == "[00:02] Dana: hello"


@pytest.mark.parametrize("model", ["engine", "engine+by-channel"])
def test_a_diarized_speaker_without_words_is_a_warning(
    queue: TaskQueue, store: TranscriptStore, settings: Settings, recording: int, model: str
) -> None:
    """B talks only over A (the corpus stereo clip's right talker): every word of the mix transcript goes to A."""
    store.save_diarization(
        recording,
        task_id=None,
        model=model,
        duration_s=4.0,
        params={},
        speakers=["A", "B"],
        turns=[(0.0, 4.0, "A"), (0.5, 2.5, "B")],
        embeddings={},
    )
    ctx, _ = context(queue, store, settings, "speakers", recording)
    result = run_step(SPEAKERS, ctx, {"recording_id": recording})
    assert result["speakers"] == ["Speaker 1"]
    (warning,) = result["warnings"]
    assert warning.startswith("2 speakers were diarized but only 1 have words in the transcript")
    assert ("channels=split" in warning) is model.endswith("+by-channel")
    assert store.versions(recording)[-1].info["warnings"] == [warning]


def test_a_rerun_diarization_makes_another_version(
    queue: TaskQueue, store: TranscriptStore, settings: Settings, recording: int
) -> None:
    for _ in range(2):
        diarize(queue, store, settings, recording)
        ctx, _ = context(queue, store, settings, "speakers", recording)
        run_step(SPEAKERS, ctx, {"recording_id": recording})
    assert [v.kind for v in store.versions(recording)] == ["original", "speakers", "speakers"]


def test_speakers_without_a_diarization_fails_permanently(
    queue: TaskQueue, store: TranscriptStore, settings: Settings, recording: int
) -> None:
    ctx, _ = context(queue, store, settings, "speakers", recording)
    with pytest.raises(PermanentError, match="no diarization"):
        run_step(SPEAKERS, ctx, {"recording_id": recording})


def test_split_channels_are_left_alone(queue: TaskQueue, store: TranscriptStore, settings: Settings) -> None:
    recording_id = store.create_recording(
        name="s.wav", stored_name="s.wav", size_bytes=1, duration_s=2.0, media={}, options={}
    )
    split = [Segment(0, 0.0, 1.0, "left side", channel="left"), Segment(1, 0.5, 2.0, "right", channel="right")]
    store.create_version(recording_id, "original", split, task_id=None, language="en", info={})
    store.save_diarization(
        recording_id, task_id=None, model="m", duration_s=2.0, params={}, speakers=[], turns=[], embeddings={}
    )
    ctx, _ = context(queue, store, settings, "speakers", recording_id)
    result = run_step(SPEAKERS, ctx, {"recording_id": recording_id})
    assert result["version_id"] is None and "channels=split" in result["skipped"]
    assert [v.kind for v in store.versions(recording_id)] == ["original"]


def test_split_channels_of_a_diarization_by_channel_take_their_channels_speakers(
    queue: TaskQueue, store: TranscriptStore, settings: Settings
) -> None:
    """The corpus stereo clip's shape: the right talker speaks over the left one; each segment is its channel's."""
    recording_id = store.create_recording(
        name="s.wav", stored_name="s.wav", size_bytes=1, duration_s=5.0, media={}, options={}
    )
    words = (Word(0.0, 1.5, " He began", 0.9), Word(1.5, 4.5, " a complaint", 0.9))
    split = [
        Segment(0, 0.0, 4.5, "He began a complaint", words=words, channel="left"),
        Segment(1, 0.4, 2.5, "The horizon", channel="right"),
        Segment(2, 4.6, 4.9, "yes", channel="right"),
    ]
    store.create_version(recording_id, "original", split, task_id=None, language="en", info={})
    turns = [(0.0, 4.5, "SPEAKER_00"), (0.4, 2.5, "SPEAKER_01"), (4.6, 4.9, "SPEAKER_01")]
    store.save_diarization(
        recording_id,
        task_id=None,
        model="engine+by-channel",
        duration_s=5.0,
        params={},
        speakers=["SPEAKER_00", "SPEAKER_01"],
        turns=turns,
        embeddings={},
    )
    ctx, _ = context(queue, store, settings, "speakers", recording_id)
    result = run_step(SPEAKERS, ctx, {"recording_id": recording_id})
    assert result["by_channel"] is True and result["splits"] == 0 and result["warnings"] == []
    assert result["speakers"] == ["Speaker 1", "Speaker 2"]
    version = store.pick_version(recording_id, "latest")
    assert version.kind == "speakers" and version.info["labels"] == {
        "Speaker 1": "SPEAKER_00",
        "Speaker 2": "SPEAKER_01",
    }
    assert [(s.index, s.text, s.channel, s.speaker_label, s.overlap) for s in store.segments(version.id)] == [
        (0, "He began a complaint", "left", "Speaker 1", True),
        (1, "The horizon", "right", "Speaker 2", True),
        (2, "yes", "right", "Speaker 2", False),
    ]


def test_a_stereo_recording_with_a_voice_per_channel_is_diarized_by_channel(
    queue: TaskQueue, store: TranscriptStore, settings: Settings
) -> None:
    recording_id = stereo_recording(store, settings)
    fake = ScriptedDiarizer([SpeakerTurn(0.0, 4.0, "X")], embeddings={"X": [0.6, 0.8]})
    ctx, _ = context(queue, store, settings, "diarization", recording_id, fake)
    result = run_step(DIARIZATION, ctx, {"recording_id": recording_id})
    assert [(c.samples, c.num_speakers) for c in fake.calls] == [(64_000, 1), (64_000, 1)]  # one call per channel
    assert result["by_channel"] is True and result["channel_separation"]["separate"] is True
    assert result["model"] == "scripted-diarizer+by-channel" and result["speakers"] == 2
    row = store.latest_diarization(recording_id)
    assert row["speakers"] == ["SPEAKER_00", "SPEAKER_01"]
    assert row["embeddings"] == {"SPEAKER_00": [0.6, 0.8], "SPEAKER_01": [0.6, 0.8]}
    # Each channel's turn is cut where only the other channel sounds (the right one leaks nothing into the left).
    for start, end, label in row["turns"]:
        if label == "SPEAKER_00":
            assert end <= 2.4, row["turns"]
        else:
            assert start >= 1.9, row["turns"]


def test_speaker_counts_the_channels_cannot_meet_diarize_the_mix(
    queue: TaskQueue, store: TranscriptStore, settings: Settings
) -> None:
    recording_id = stereo_recording(store, settings)
    fake = ScriptedDiarizer(TURNS)
    ctx, _ = context(queue, store, settings, "diarization", recording_id, fake)
    result = run_step(DIARIZATION, ctx, {"recording_id": recording_id, "num_speakers": 3})
    assert [(c.samples, c.num_speakers) for c in fake.calls] == [(64_000, 3)]
    assert result["by_channel"] is False and result["channel_separation"]["separate"] is True


def test_one_sound_on_both_channels_diarizes_the_mix(
    queue: TaskQueue, store: TranscriptStore, settings: Settings
) -> None:
    recording_id = stereo_recording(store, settings, same=True)
    fake = ScriptedDiarizer(TURNS)
    ctx, _ = context(queue, store, settings, "diarization", recording_id, fake)
    result = run_step(DIARIZATION, ctx, {"recording_id": recording_id})
    assert len(fake.calls) == 1 and result["by_channel"] is False and result["model"] == "scripted-diarizer"
    assert "cross-talk" in result["channel_separation"]["reason"]
    assert store.latest_diarization(recording_id)["speakers"] == ["B", "A"]


def test_a_mono_recording_is_not_measured(
    queue: TaskQueue, store: TranscriptStore, settings: Settings, recording: int
) -> None:
    result, fake, _ = diarize(queue, store, settings, recording)
    assert len(fake.calls) == 1 and result["by_channel"] is False and result["channel_separation"] is None


def test_a_cancel_before_diarizing_stops_it(
    queue: TaskQueue, store: TranscriptStore, settings: Settings, recording: int
) -> None:
    ctx, task = context(queue, store, settings, "diarization", recording, ScriptedDiarizer(TURNS))
    task.cancelled = True
    with pytest.raises(TaskCancelled):
        run_step(DIARIZATION, ctx, {"recording_id": recording})


def test_bad_speaker_counts_in_params_are_a_permanent_error(
    queue: TaskQueue, store: TranscriptStore, settings: Settings, recording: int
) -> None:
    ctx, _ = context(queue, store, settings, "diarization", recording, ScriptedDiarizer(TURNS))
    with pytest.raises(PermanentError, match="num_speakers"):
        run_step(DIARIZATION, ctx, {"recording_id": recording, "num_speakers": 0})


def test_without_an_engine_the_default_diarizer_is_a_clear_permanent_error(settings: Settings) -> None:
    try:
        import stenograph.steps.diarization.engine  # noqa: F401
    except ImportError:
        with pytest.raises(PermanentError, match="no diarization engine"):
            engine_diarizer(settings)
    else:
        pytest.skip("the diarization engine is installed")


def test_the_correction_request_carries_the_speaker_and_the_summary_line_names_it() -> None:
    from stenograph.steps.correction.correction import _segment_json

    named = Segment(3, 61.0, 62.0, " we ship friday", speaker="Dana", speaker_label="Speaker 2")
    assert _segment_json(named) == '{"id": 3, "speaker": "Dana", "text": "we ship friday"}'
    assert _segment_json(Segment(4, 0.0, 1.0, "plain")) == '{"id": 4, "text": "plain"}'
    assert transcript_line(named) == "[01:01] Dana: we ship friday"
    assert transcript_line(Segment(4, 0.0, 1.0, "plain")) == "[00:00] plain"
