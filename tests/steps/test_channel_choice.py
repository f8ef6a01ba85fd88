"""``channels=auto`` in the transcription step, with a scripted transcriber on real files: a stereo file with a
voice per channel is transcribed by channel, one sound on both channels, a mono file, an explicit ``mix`` and
speaker counts the channels cannot meet from the mix; the version's info says which and why."""

from __future__ import annotations

from typing import Any

import pytest

from stenograph.errors import PermanentError
from stenograph.queue import TaskQueue
from stenograph.recordings.store import TranscriptStore
from stenograph.settings import Settings
from stenograph.steps.base import StepContext, run_step
from stenograph.steps.transcription.fake import ScriptedTranscriber
from stenograph.steps.transcription.step import STEP
from tests.steps.conftest import FakeTask, segments, stereo_recording, write_wav


def transcribe(
    queue: TaskQueue, store: TranscriptStore, settings: Settings, recording_id: int, **params: Any
) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """Run the step; the channels the transcriber was given, the task's result and the version's info."""
    record = queue.enqueue("transcription", {"recording_id": recording_id}, recording_id=recording_id)
    fake = ScriptedTranscriber(segments((0.0, 1.0, "hello")))
    ctx = StepContext(FakeTask(settings, task_id=record.id), store=store, transcriber=lambda _s, _m: fake)
    result = run_step(STEP, ctx, {"recording_id": recording_id, **params})
    (call,) = fake.calls
    return call.options.channels, result, store.pick_version(recording_id, "latest").info


def test_auto_transcribes_a_voice_per_channel_by_channel(
    queue: TaskQueue, store: TranscriptStore, settings: Settings
) -> None:
    recording_id = stereo_recording(store, settings)
    for options in ({}, {"channels": "auto"}):  # not chosen, or chosen: the same
        given, result, info = transcribe(queue, store, settings, recording_id, options=options)
        assert given == "split"
        assert info["channels"]["asked"] == "auto" and info["channels"]["used"] == "split"
        assert info["channels"]["separation"]["separate"] is True
        assert "each carry their own voice" in info["channels"]["reason"]
        assert info["options"]["channels"] == "split" and result["channels"] == info["channels"]


def test_auto_mixes_one_sound_on_both_channels(queue: TaskQueue, store: TranscriptStore, settings: Settings) -> None:
    given, _, info = transcribe(queue, store, settings, stereo_recording(store, settings, same=True))
    assert given == "mix" and info["channels"]["used"] == "mix" and "cross-talk" in info["channels"]["reason"]


def test_a_mono_file_is_mixed_without_measuring(queue: TaskQueue, store: TranscriptStore, settings: Settings) -> None:
    settings.uploads_dir.mkdir(parents=True, exist_ok=True)
    write_wav(settings.uploads_dir / "mono.wav", 2.0)
    recording_id = store.create_recording(
        name="mono.wav", stored_name="mono.wav", size_bytes=1, duration_s=2.0, media={}, options={}
    )
    given, _, info = transcribe(queue, store, settings, recording_id)
    assert given == "mix" and info["channels"]["used"] == "mix" and info["channels"]["separation"] is None


def test_an_explicit_mix_or_split_is_kept_unmeasured(
    queue: TaskQueue, store: TranscriptStore, settings: Settings
) -> None:
    recording_id = stereo_recording(store, settings)
    for asked in ("mix", "split"):
        given, _, info = transcribe(queue, store, settings, recording_id, options={"channels": asked})
        assert given == asked
        assert info["channels"] == {
            "asked": asked,
            "used": asked,
            "reason": f"channels={asked} was asked for",
            "separation": None,
        }


def test_speaker_counts_the_channels_cannot_meet_keep_the_mix(
    queue: TaskQueue, store: TranscriptStore, settings: Settings
) -> None:
    recording_id = stereo_recording(store, settings)
    counts = {"num_speakers": 3, "min_speakers": None, "max_speakers": None}
    given, _, info = transcribe(queue, store, settings, recording_id, speaker_counts=counts)
    assert given == "mix" and "speaker counts" in info["channels"]["reason"]
    counts = {"num_speakers": None, "min_speakers": None, "max_speakers": 2}
    assert transcribe(queue, store, settings, recording_id, speaker_counts=counts)[0] == "split"


def test_an_unknown_channels_value_is_a_permanent_error(
    queue: TaskQueue, store: TranscriptStore, settings: Settings
) -> None:
    with pytest.raises(PermanentError, match="channels must be 'auto', 'mix' or 'split'"):
        transcribe(queue, store, settings, stereo_recording(store, settings), options={"channels": "both"})
