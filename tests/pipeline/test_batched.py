"""Batched decoding (``settings.batched_decoding``): when it is used, and that windows, resume and stop keep
working with it. tiny.en on corpus clips joined into about 54 s (windows of 40 s, so there is a seam)."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from bench.corpus import shuffled_order
from stenograph.settings import build_settings
from stenograph.steps.transcription import batched as batched_module
from stenograph.steps.transcription import transcriber as transcriber_module
from stenograph.steps.transcription.batched import decode_batched
from stenograph.steps.transcription.transcriber import FasterWhisperTranscriber, TranscriptionOptions
from stenograph.transcript.types import Segment
from tests.audio_factory import AudioFactory

CLIPS = ["jfk.wav", "LJ001-0001.wav", "librispeech-1995-1837-0001.wav", "LJ001-0007.wav", "LDC93S1.wav"]
#: One word of each clip, said once.
ONCE_WORDS = ["americans", "printing", "sorrow", "earliest", "greasy"]


def words_of(segments: Iterable[Segment]) -> list[str]:
    return re.findall(r"[a-z0-9']+", " ".join(s.text for s in segments).lower())


@pytest.fixture(scope="module")
def long_speech(audio: AudioFactory, corpus: Path) -> Path:
    return audio.corpus_concatenation(corpus, CLIPS)  # about 50 s


@pytest.fixture
def batched_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Samples of each window given to :func:`decode_batched`, which still decodes."""
    calls: list[int] = []

    def spy(model: Any, audio: Any, **options: Any) -> Iterable[Any]:
        calls.append(len(audio))
        return decode_batched(model, audio, **options)

    monkeypatch.setattr(transcriber_module, "decode_batched", spy)
    return calls


def make(tiny_model: Any, *, min_seconds: float = 30.0) -> FasterWhisperTranscriber:
    settings = build_settings(batched_decoding=True, batched_decoding_min_seconds=min_seconds)
    return FasterWhisperTranscriber(settings, window_s=40.0, seam_margin_s=5.0, model=tiny_model)


def test_batched_windows_lose_and_repeat_nothing(tiny_model: Any, long_speech: Path, batched_calls: list[int]) -> None:
    segments = list(make(tiny_model).transcribe(long_speech, TranscriptionOptions(word_timestamps=True)))
    words = words_of(segments)
    assert len(batched_calls) >= 2  # both windows, batched
    assert {w: words.count(w) for w in ONCE_WORDS} == dict.fromkeys(ONCE_WORDS, 1), " ".join(words)
    assert all(a.end <= b.start + 0.01 for a, b in itertools.pairwise(segments))
    assert [s.index for s in segments] == list(range(len(segments)))
    assert all(s.words for s in segments)


@pytest.mark.parametrize(
    ("enabled", "min_seconds", "vad"),
    [(True, 600.0, True), (True, 5.0, False), (False, 5.0, True)],
    ids=["shorter-than-threshold", "vad-off", "setting-off"],
)
def test_sequential_unless_enabled_long_enough_and_with_vad(
    tiny_model: Any, corpus: Path, batched_calls: list[int], enabled: bool, min_seconds: float, vad: bool
) -> None:
    settings = build_settings(batched_decoding=enabled, batched_decoding_min_seconds=min_seconds)
    transcriber = FasterWhisperTranscriber(settings, model=tiny_model)
    segments = list(transcriber.transcribe(corpus / "LJ001-0001.wav", TranscriptionOptions(vad=vad)))  # 9.7 s
    assert batched_calls == []
    assert "printing" in words_of(segments)


def test_batched_resume_starts_where_asked(tiny_model: Any, long_speech: Path, batched_calls: list[int]) -> None:
    start_at = 20.0
    resumed = list(make(tiny_model).transcribe(long_speech, TranscriptionOptions(), start_at=start_at, first_index=7))
    assert batched_calls
    assert resumed and resumed[0].start >= start_at - 0.01
    assert [s.index for s in resumed] == list(range(7, 7 + len(resumed)))
    words = words_of(resumed)
    assert "americans" not in words  # the first clip (0-11 s) is before the resume point
    assert "greasy" in words  # the last one is heard


def test_batched_stops_after_the_first_segment(tiny_model: Any, long_speech: Path, batched_calls: list[int]) -> None:
    stopped = False
    run = make(tiny_model).transcribe(long_speech, TranscriptionOptions(), should_stop=lambda: stopped)
    received = []
    for segment in run:
        received.append(segment)
        stopped = True
    assert run.stopped and len(received) == 1
    assert len(batched_calls) == 1


def test_decode_batched_rejects_bad_sizes() -> None:
    with pytest.raises(ValueError, match="batch_size"):
        decode_batched(None, None, batch_size=0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="chunk_s"):
        decode_batched(None, None, chunk_s=31)  # type: ignore[arg-type]
    assert batched_module.CHUNK_S <= 30


def test_shuffled_order_is_fixed_per_seed_and_long_enough() -> None:
    durations = {"a": 10.0, "b": 20.0, "c": 5.0}
    order = shuffled_order(durations, 100.0, seed=1)
    assert order == shuffled_order(durations, 100.0, seed=1)
    assert sum(durations[name] + 1.0 for name in order) >= 100.0
    rounds = [order[i : i + 3] for i in range(0, len(order), 3)]
    assert all(sorted(r) == ["a", "b", "c"] for r in rounds)
    assert len({tuple(r) for seed in range(5) for r in [shuffled_order(durations, 100.0, seed)[:3]]}) > 1
    with pytest.raises(ValueError):
        shuffled_order({}, 10.0, seed=0)
