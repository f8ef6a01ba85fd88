"""probe() and iter_audio_windows() on generated files of every kind we accept or refuse."""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from stenograph.errors import MediaError
from stenograph.steps.transcription.media import iter_audio_windows, probe
from tests.audio_factory import SPECS, AudioFactory

GOOD_KINDS = [kind for kind, spec in SPECS.items() if spec.error is None]
BAD_KINDS = [kind for kind, spec in SPECS.items() if spec.error is not None]


@pytest.mark.parametrize("kind", GOOD_KINDS)
def test_probe_reads_every_accepted_kind(audio: AudioFactory, kind: str) -> None:
    spec = audio.spec(kind)
    path = audio.make(kind)
    info = probe(path)
    assert info.audio_codec == spec.codec
    assert info.sample_rate == spec.sample_rate
    assert info.channels == spec.channels
    assert info.has_video is spec.has_video
    assert (info.video_codec is not None) is spec.has_video
    assert info.size_bytes == path.stat().st_size
    assert info.duration_s > 0


def test_probe_durations_match_the_audio(audio: AudioFactory) -> None:
    reference = probe(audio.make("wav_s16_16k")).duration_s
    for kind in ("flac_44k_stereo", "mp3_44k", "m4a_aac_48k", "ogg_opus", "wav_6ch_48k", "wav_f32_96k"):
        assert probe(audio.make(kind)).duration_s == pytest.approx(reference, abs=0.1), kind
    assert 0.3 < probe(audio.make("short_clip")).duration_s < 1.0
    assert probe(audio.make("silence")).duration_s == pytest.approx(10.0, abs=0.01)


def test_probe_finds_duration_of_webm_without_one_in_header(audio: AudioFactory) -> None:
    import av

    path = audio.make("webm_opus_recorder")
    with av.open(str(path)) as container:  # the case under test: the header has no duration
        assert container.duration is None
    reference = probe(audio.make("wav_s16_16k")).duration_s
    assert probe(path).duration_s == pytest.approx(reference, abs=0.1)


@pytest.mark.parametrize("kind", BAD_KINDS)
def test_probe_refuses_with_kind(audio: AudioFactory, kind: str) -> None:
    with pytest.raises(MediaError) as caught:
        probe(audio.make(kind))
    assert caught.value.kind == audio.spec(kind).error


def test_refusal_messages_say_what_was_found(audio: AudioFactory) -> None:
    with pytest.raises(MediaError, match=r"not audio or video.*looks like plain text"):
        probe(audio.make("text_named_wav"))
    with pytest.raises(MediaError, match=r"holds video \(h264\) but no audio stream"):
        probe(audio.make("video_no_audio"))
    with pytest.raises(MediaError, match=r"empty \(0 bytes\)"):
        probe(audio.make("empty"))
    with pytest.raises(MediaError, match=r"starts like MP4/MOV.*truncated or damaged"):
        probe(audio.make("truncated_mp4"))


def test_probe_missing_file(tmp_path: Path) -> None:
    with pytest.raises(MediaError) as caught:
        probe(tmp_path / "nope.wav")
    assert caught.value.kind == "missing_file"


@pytest.mark.parametrize("kind", ["wav_u8_8k", "wav_s24_48k_stereo", "wav_f32_96k", "mp3_44k", "mkv_vp8_vorbis"])
def test_windows_are_16k_mono_float_and_contiguous(audio: AudioFactory, kind: str) -> None:
    path = audio.make(kind)
    duration = probe(path).duration_s
    windows = list(iter_audio_windows(path, window_s=1.0))
    assert all(w.samples.dtype == np.float32 and w.samples.ndim == 1 for w in windows)
    assert all(w.sample_rate == 16000 for w in windows)
    assert all(len(w.samples) == 16000 for w in windows[:-1])
    for before, after in itertools.pairwise(windows):
        assert after.start_s == pytest.approx(before.end_s, abs=1e-6)
    total = sum(len(w.samples) for w in windows) / 16000
    assert total == pytest.approx(duration - windows[0].start_s, abs=0.15)  # video may outlast audio
    peak = max(float(np.abs(w.samples).max()) for w in windows)
    assert 0.05 < peak <= 1.0  # speech, scaled to [-1, 1]


def test_start_s_seeks_and_matches_full_decode(audio: AudioFactory) -> None:
    path = audio.make("flac_44k_stereo")
    full = np.concatenate([w.samples for w in iter_audio_windows(path, window_s=10)])
    resumed = list(iter_audio_windows(path, start_s=1.5, window_s=10))
    assert resumed[0].start_s == pytest.approx(1.5)
    tail = np.concatenate([w.samples for w in resumed])
    offset = round(1.5 * 16000)
    assert abs(len(tail) - (len(full) - offset)) <= 2  # resampler rounding
    n = min(len(tail), len(full) - offset)
    # Same audio at the same time (sub-sample phase differs after resampling, so compare by correlation).
    assert np.corrcoef(tail[:n], full[offset : offset + n])[0, 1] > 0.95


def test_start_beyond_end_yields_nothing(audio: AudioFactory) -> None:
    assert list(iter_audio_windows(audio.make("wav_s16_16k"), start_s=3600.0)) == []


def test_channel_selects_one_channel(tmp_path: Path, audio: AudioFactory) -> None:
    stereo = tmp_path / "tone_left.wav"
    subprocess.run(
        ["sox", "-n", "-r", "44100", "-c", "2", str(stereo), "synth", "2", "sine", "440", "remix", "1", "0"],
        check=True,
    )
    left = np.concatenate([w.samples for w in iter_audio_windows(stereo, channel=0)])
    right = np.concatenate([w.samples for w in iter_audio_windows(stereo, channel=1)])
    mixed = np.concatenate([w.samples for w in iter_audio_windows(stereo)])
    assert np.abs(left).max() > 0.3
    assert np.abs(right).max() < 1e-3
    assert 1e-3 < np.abs(mixed).max() < np.abs(left).max()
    with pytest.raises(MediaError, match="channel 3"):
        list(iter_audio_windows(stereo, channel=2))


def test_six_channels_decode_mixed_and_split(audio: AudioFactory) -> None:
    path = audio.make("wav_6ch_48k")
    for channel in (None, 0, 5):
        samples = np.concatenate([w.samples for w in iter_audio_windows(path, channel=channel)])
        assert np.abs(samples).max() > 0.05


def test_damaged_region_is_reported_with_its_time_and_decoding_goes_on(audio: AudioFactory) -> None:
    path = audio.make("damaged_ogg")
    duration = probe(path).duration_s
    windows = list(iter_audio_windows(path, window_s=5.0))
    warnings = [w for window in windows for w in window.warnings]
    assert warnings, "the damage must be reported"
    match = [w for w in warnings if w.startswith("audio could not be decoded between")]
    assert match, warnings
    found = re.fullmatch(r"audio could not be decoded between ([\d.]+) s and ([\d.]+) s", match[0])
    assert found, match[0]
    start, end = float(found.group(1)), float(found.group(2))
    assert duration * 0.3 < start < end < duration * 0.8  # the bytes were damaged in the middle
    # Decoding went on past the damage, and the timeline is kept (the hole is filled with silence).
    assert windows[-1].end_s == pytest.approx(duration, abs=0.5)
    after = np.concatenate([w.samples for w in windows if w.start_s >= end + 1.0])
    assert np.abs(after).max() > 0.05


def test_truncated_wav_decodes_what_is_there(audio: AudioFactory) -> None:
    # FFmpeg sizes a WAV by its bytes, not by its header, so a cut-off WAV is simply shorter.
    path = audio.make("truncated_wav")
    windows = list(iter_audio_windows(path, window_s=30.0))
    decoded = sum(len(w.samples) for w in windows) / 16000
    assert decoded == pytest.approx(probe(audio.make("wav_s16_16k")).duration_s + 1.0, abs=0.1)
    assert decoded == pytest.approx(probe(path).duration_s, abs=0.01)


@pytest.mark.parametrize("kind", ["text", "empty", "video_no_audio", "truncated_mp4"])
def test_windows_refuse_bad_files(audio: AudioFactory, kind: str) -> None:
    with pytest.raises(MediaError) as caught:
        list(iter_audio_windows(audio.make(kind)))
    assert caught.value.kind == audio.spec(kind).error


def test_nothing_decodable_raises(tmp_path: Path, audio: AudioFactory) -> None:
    # A valid Ogg header followed by garbage: opens, but no packet decodes.
    source = audio.make("ogg_opus").read_bytes()
    broken = tmp_path / "garbage.ogg"
    rng = np.random.default_rng(1)
    broken.write_bytes(source[:200] + rng.integers(0, 256, 20000, dtype=np.uint8).tobytes())
    with pytest.raises(MediaError) as caught:
        probe(broken)
    assert caught.value.kind == "damaged"


_RSS_SCRIPT = textwrap.dedent(
    """
    import json, resource, sys
    from stenograph.steps.transcription.media import iter_audio_windows
    n = 0
    for window in iter_audio_windows(sys.argv[1], window_s=300.0):
        n += len(window.samples)
    print(json.dumps({"samples": n, "rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
    """
)


def _peak_rss(path: Path) -> dict[str, int]:
    out = subprocess.run([sys.executable, "-c", _RSS_SCRIPT, str(path)], check=True, capture_output=True, text=True)
    result: dict[str, int] = json.loads(out.stdout)
    return result


@pytest.mark.slow
def test_memory_does_not_grow_with_length(audio: AudioFactory) -> None:
    one_hour = _peak_rss(audio.sparse_silent_wav("one_hour", 3600))
    three_hours = _peak_rss(audio.sparse_silent_wav("three_hours", 3 * 3600))
    assert three_hours["samples"] == 3 * 3600 * 16000
    assert three_hours["rss_kib"] <= one_hour["rss_kib"] + 200 * 1024


@pytest.mark.parametrize("channels", [9, 32, 64])
def test_many_channels_are_mixed_here_and_split_still_works(tmp_path: Path, channels: int) -> None:
    """FFmpeg's resampler cannot mix unnamed layouts ("9 channels": ArgumentError, errno 22)."""
    path = tmp_path / f"tone_{channels}.wav"
    subprocess.run(
        ["sox", "-n", "-r", "16000", "-c", str(channels), str(path), "synth", "2", "sine", "440"], check=True
    )
    assert probe(path).channels == channels
    mixed = np.concatenate([w.samples for w in iter_audio_windows(path)])
    assert len(mixed) == 32000 and mixed.dtype == np.float32
    for channel in (0, channels - 1):
        one = np.concatenate([w.samples for w in iter_audio_windows(path, channel=channel)])
        assert len(one) == 32000 and np.allclose(one, mixed, atol=1e-4)  # every channel holds the same tone
    assert 0.3 < np.abs(mixed).max() <= 1.0
    with pytest.raises(MediaError, match=f"channel {channels + 1} was asked for"):
        list(iter_audio_windows(path, channel=channels))


def test_split_channels_of_stereo_and_8_channels_are_kept_apart(tmp_path: Path) -> None:
    for channels in (2, 8):
        path = tmp_path / f"left_{channels}.wav"
        remix = ["1", *["0"] * (channels - 1)]
        subprocess.run(
            ["sox", "-n", "-r", "44100", "-c", str(channels), str(path), "synth", "2", "sine", "440", "remix", *remix],
            check=True,
        )
        first = np.concatenate([w.samples for w in iter_audio_windows(path, channel=0)])
        last = np.concatenate([w.samples for w in iter_audio_windows(path, channel=channels - 1)])
        assert len(first) == len(last) == 32000
        assert np.abs(first).max() > 0.3 and np.abs(last).max() < 1e-3


def test_an_ffmpeg_error_while_decoding_is_a_media_error(audio: AudioFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    import av

    from stenograph.errors import PermanentError
    from stenograph.steps.transcription import media

    class Refusing:
        def __init__(self, **_options: object) -> None:
            pass

        def resample(self, frame: object) -> list[object]:
            raise av.error.ArgumentError(22, "Invalid argument")

    monkeypatch.setattr(media.av, "AudioResampler", Refusing)
    with pytest.raises(MediaError, match=r"could not be decoded .*Invalid argument") as refused:
        list(iter_audio_windows(audio.make("wav_s16_16k")))
    assert refused.value.kind == "undecodable" and isinstance(refused.value, PermanentError)
