"""Diarization by channel: the measurement that tells one voice per channel from one sound on several channels
(the corpus's stereo clip, JFK's stereo FLAC, stereo files made at test time with and without cross-talk), the
cut of each channel's turns where it only leaks the other, and the real engine on the corpus's stereo clip."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from stenograph.errors import TaskCancelled
from stenograph.steps.diarization.channels import (
    FRAME_SAMPLES,
    MIN_CHANNEL_SPEECH_S,
    diarize_by_channel,
    frame_stats,
    leak_runs,
    measure,
    read_frame_stats,
)
from stenograph.steps.diarization.diarizer import SAMPLE_RATE, SpeakerTurn
from stenograph.steps.diarization.fake import ScriptedDiarizer
from stenograph.steps.diarization.step import decode_audio
from stenograph.steps.transcription.media import probe
from tests.audio_factory import AudioFactory
from tests.diarization.der import diarization_error

RNG = np.random.default_rng(7)


def _separation(path: Path) -> tuple[object, object]:
    stats, _ = read_frame_stats(path, probe(path).channels)
    return stats, measure(stats)


def _bursts(seconds: float, spans: list[tuple[float, float]]) -> np.ndarray:
    """Independent noise at about -20 dBFS inside ``spans``, digital silence elsewhere."""
    out = np.zeros(int(seconds * SAMPLE_RATE), dtype=np.float32)
    for a, b in spans:
        piece = slice(int(a * SAMPLE_RATE), int(b * SAMPLE_RATE))
        out[piece] = RNG.normal(0.0, 0.1, out[piece].shape[0]).astype(np.float32)
    return out


def test_frame_stats_do_not_depend_on_how_the_audio_is_cut_into_blocks() -> None:
    left, right = _bursts(2.0, [(0.0, 1.2)]), _bursts(2.0, [(0.8, 2.0)])
    whole = frame_stats([[left, right]], 2)
    cuts = [0, 777, 5000, 5001, 20_000, len(left)]
    pieces = frame_stats([[left[a:b], right[a:b]] for a, b in itertools.pairwise(cuts)], 2)
    assert whole.levels.shape == (len(left) // FRAME_SAMPLES, 2)
    np.testing.assert_allclose(pieces.levels, whole.levels, atol=1e-4)
    np.testing.assert_allclose(pieces.correlation, whole.correlation, atol=1e-4)


def test_a_copy_correlates_fully_and_independent_sounds_hardly() -> None:
    voice = _bursts(1.0, [(0.0, 1.0)])
    copy = frame_stats([[voice, 0.5 * voice]], 2)
    assert np.all(copy.correlation > 0.99)
    assert np.allclose(copy.levels[:, 0] - copy.levels[:, 1], 20 * np.log10(2), atol=0.01)
    other = frame_stats([[voice, _bursts(1.0, [(0.0, 1.0)])]], 2)
    assert np.median(np.abs(other.correlation)) < 0.1


def test_independent_sounds_one_per_channel_are_separate_and_a_copy_is_not() -> None:
    left, right = _bursts(6.0, [(0.5, 3.0)]), _bursts(6.0, [(2.5, 5.5)])
    separate = measure(frame_stats([[left, right]], 2))
    assert separate.separate, separate.reason
    assert separate.speech_s[0] >= 2.4 and separate.speech_s[1] >= 2.9
    assert separate.overlap_s == pytest.approx(0.5, abs=0.07)
    panned = measure(frame_stats([[left + right, 0.7 * (left + right)]], 2))
    assert not panned.separate and "cross-talk" in panned.reason
    one_sided = measure(frame_stats([[left, np.zeros_like(left)]], 2))
    assert not one_sided.separate and one_sided.speech_s[1] < MIN_CHANNEL_SPEECH_S


@pytest.mark.parametrize(
    ("name", "options", "separate"),
    [
        ("clean", {}, True),
        ("echo-25db", {"crosstalk": 0.056}, True),  # an echo 25 dB down still leaves each line its own voice
        ("crosstalk-10db", {"crosstalk": 0.316}, False),  # the other voice 10 dB down: one sound on both
        ("panned", {"copy": 0.5}, False),
        ("dual-mono", {"copy": 1.0}, False),
    ],
)
def test_stereo_made_at_test_time(audio: AudioFactory, name: str, options: dict[str, float], separate: bool) -> None:
    _, found = _separation(audio.stereo_voices(name, **options))
    assert found.separate is separate, found.as_dict()


@pytest.mark.parametrize("delay_ms", [0.5, 3.0, 18.0])
def test_one_voice_reaching_two_microphones_is_one_sound(audio: AudioFactory, delay_ms: float) -> None:
    """A voice on two channels a few ms apart (spaced microphones, a room) is not uncorrelated at lag 0:
    the correlation searches lags up to 20 ms."""
    voice, _ = decode_audio(audio.stereo_voices("clean"), SAMPLE_RATE, 0)
    lag = int(delay_ms * SAMPLE_RATE / 1000)
    delayed = np.concatenate([np.zeros(lag, dtype=np.float32), voice[: len(voice) - lag]]) * 0.7
    found = measure(frame_stats([[voice, delayed]], 2))
    assert not found.separate and found.shared_s >= 0.9 * found.active_s, found.as_dict()


@pytest.mark.corpus
def test_the_corpus_stereo_clip_has_a_voice_per_channel(corpus: Path) -> None:
    stats, found = _separation(corpus / "stereo_diarization.wav")
    assert found.separate, found.as_dict()
    # NOTES.md: left speaks 0-4.9 s, right 0.3-2.5 s, over the left one.
    assert found.speech_s[0] > 4.0 and 1.8 < found.speech_s[1] < 2.6
    assert found.overlap_s > 1.5 and found.shared_s < 0.1 * found.active_s
    (first_start, first_end), (second_start, second_end) = leak_runs(stats, 1)  # right: left's voice only
    assert first_start == 0.0 and 0.25 <= first_end <= 0.45
    assert 2.4 <= second_start <= 2.7 and second_end >= 4.8
    assert leak_runs(stats, 0) == []


@pytest.mark.corpus
def test_jfk_stereo_flac_is_one_sound_on_both_channels(corpus: Path) -> None:
    _, found = _separation(corpus / "jfk.flac")
    assert not found.separate and found.shared_s == pytest.approx(found.active_s)


def test_measuring_stops_when_asked(audio: AudioFactory) -> None:
    asked: list[int] = []

    def should_stop() -> bool:
        asked.append(1)
        return True

    with pytest.raises(TaskCancelled):
        read_frame_stats(audio.stereo_voices("clean"), 2, should_stop=should_stop)
    assert asked == [1]


def test_each_channel_is_one_speaker_cut_where_it_only_leaks_the_other(audio: AudioFactory) -> None:
    path = audio.stereo_voices("echo-25db", crosstalk=0.056)
    stats, _ = read_frame_stats(path, 2)
    seconds = probe(path).duration_s
    # The scripted engine finds speech over the whole of each channel, the faint echo included.
    fake = ScriptedDiarizer([SpeakerTurn(0.0, seconds, "SPEAKER_00")], embeddings={"SPEAKER_00": [1.0, 0.0]})
    progress: list[tuple[float, str]] = []
    result = diarize_by_channel(
        lambda channel: decode_audio(path, SAMPLE_RATE, channel)[0],
        stats,
        fake,
        on_progress=lambda fraction, message: progress.append((fraction, message)),
    )
    assert [call.num_speakers for call in fake.calls] == [1, 1]
    assert result.speakers == ["SPEAKER_00", "SPEAKER_01"] and result.model == "scripted-diarizer+by-channel"
    assert result.embeddings == {"SPEAKER_00": [1.0, 0.0], "SPEAKER_01": [1.0, 0.0]}
    clean = audio.stereo_voices("clean")  # the same voices without the echo tell where each one speaks
    loud = [_loud_frames(clean, channel) for channel in (0, 1)]
    for channel, label in enumerate(result.speakers):
        spans = [(t.start, t.end) for t in result.turns if t.speaker == label]
        own, other = loud[channel], loud[1 - channel]
        # Where only the other voice speaks, this channel holds only its echo: none of its turns is there...
        assert _covered(spans, other & ~own) <= 0.03, label
        # ...and its own voice is covered.
        assert _covered(spans, own) >= 0.95 * own.sum() * FRAME_SAMPLES / SAMPLE_RATE, label
    assert progress[-1][0] == pytest.approx(1.0) and progress[0][1].startswith("channel 1/2")


def _loud_frames(path: Path, channel: int) -> np.ndarray:
    """Per 30 ms frame, whether the channel is louder than -45 dBFS."""
    samples, _ = decode_audio(path, SAMPLE_RATE, channel)
    frames = samples[: len(samples) // FRAME_SAMPLES * FRAME_SAMPLES].reshape(-1, FRAME_SAMPLES)
    return np.asarray(10 * np.log10(np.mean(frames**2, axis=1) + 1e-10) > -45)


def _covered(spans: list[tuple[float, float]], frames: np.ndarray) -> float:
    """Seconds of the marked ``frames`` that ``spans`` cover."""
    times = (np.arange(len(frames)) + 0.5) * FRAME_SAMPLES / SAMPLE_RATE
    inside = np.zeros(len(frames), dtype=bool)
    for a, b in spans:
        inside |= (times >= a) & (times < b)
    return float((inside & frames).sum() * FRAME_SAMPLES / SAMPLE_RATE)


@pytest.mark.slow
@pytest.mark.corpus
def test_the_engine_by_channel_finds_both_talkers_of_the_corpus_stereo_clip(
    corpus: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    from stenograph.steps.diarization.engine import PyannoteGe2eDiarizer
    from stenograph.steps.diarization.models import assemble_models
    from tests.diarization.conversations import stereo_conversation

    path = corpus / "stereo_diarization.wav"
    stats, _ = read_frame_stats(path, 2)
    engine = PyannoteGe2eDiarizer(assemble_models(tmp_path_factory.mktemp("models")))
    result = diarize_by_channel(lambda channel: decode_audio(path, SAMPLE_RATE, channel)[0], stats, engine)
    assert result.speakers == ["SPEAKER_00", "SPEAKER_01"]
    right = [t for t in result.turns if t.speaker == "SPEAKER_01"]
    assert right and right[0].start >= 0.1 and right[-1].end <= 2.8  # NOTES.md: right speaks 0.3-2.5 s
    assert all(len(result.embeddings[label]) == 192 for label in result.speakers)  # CAM++
    reference = [(a, b, "SPEAKER_00" if s == "channel0" else "SPEAKER_01") for a, b, s in
                 stereo_conversation(corpus).reference]  # fmt: skip
    hypothesis = [(t.start, t.end, t.speaker) for t in result.turns]
    assert diarization_error(reference, hypothesis).der <= 0.05
