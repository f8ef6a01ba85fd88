"""Segment timing survives the options (issue 14): a glossary, an initial prompt, a resume. Real speech,
tiny.en; the unit cases of :func:`split_text` need no model."""

from __future__ import annotations

import wave
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from stenograph.settings import build_settings
from stenograph.steps.transcription.retiming import split_text
from stenograph.steps.transcription.transcriber import FasterWhisperTranscriber, TranscriptionOptions
from stenograph.transcript.types import Segment

# Five English corpus clips joined without gaps: about 44.9 s, the recording of the issue.
FIVE_CLIPS = [
    "jfk.wav",
    "LJ001-0001.wav",
    "librispeech-1995-1837-0001.wav",
    "sense_and_sensibility_01_austen_64kb-0870.wav",
    "LJ001-0007.wav",
]
TOLERANCE_S = 0.5
LONGEST_S = 15.0


def boundaries(segments: list[Segment]) -> list[float]:
    return sorted({s.start for s in segments} | {s.end for s in segments})


def far_boundaries(segments: list[Segment], plain: list[Segment]) -> list[float]:
    reference = boundaries(plain)
    return [b for b in boundaries(segments) if min(abs(b - r) for r in reference) > TOLERANCE_S]


def test_split_text_follows_the_plain_pieces() -> None:
    assert split_text("a b c d", ["a b", "x d"]) == ["a b", "c d"]
    assert split_text("And so, Stenograph works. It was", ["and so stenogriff works", "it was"]) == [
        "And so, Stenograph works.",
        "It was",
    ]
    assert split_text("one two", ["one two", "three"]) == ["one two", ""]


@pytest.fixture(scope="module")
def five(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The clips decoded to 16 kHz and joined, written without dither (sox dithers at random, and tiny.en's
    timestamps change with the noise), so every run hears the same samples."""
    from faster_whisper import decode_audio

    samples = np.concatenate([decode_audio(str(corpus / name)) for name in FIVE_CLIPS])
    out = tmp_path_factory.mktemp("timing") / "five.wav"
    with wave.open(str(out), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(16000)
        handle.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    return out


@pytest.fixture(scope="module")
def transcriber(tiny_model: Any) -> FasterWhisperTranscriber:
    return FasterWhisperTranscriber(build_settings(), model=tiny_model)


@pytest.fixture(scope="module")
def plain(transcriber: FasterWhisperTranscriber, five: Path) -> list[Segment]:
    segments = list(transcriber.transcribe(five, TranscriptionOptions()))
    assert len(segments) >= 5 and max(s.end - s.start for s in segments) <= LONGEST_S
    return segments


@pytest.mark.slow
@pytest.mark.parametrize(
    "options",
    [
        TranscriptionOptions(hotwords=["Stenograph"]),
        TranscriptionOptions(hotwords=["Stenograph", "Kubernetes", "PostgreSQL"]),
        TranscriptionOptions(initial_prompt="A talk about Stenograph."),
        pytest.param(
            TranscriptionOptions(language="en", hotwords=["Stenograph"], word_timestamps=True),
            marks=pytest.mark.xfail(
                reason="known gap: tiny.en, conditioned, can emit segments under 12 s on round half seconds "
                "and cut where the plain run does not (seen: 0-8 s, 8-11 s where the plain run has 0-10.8 s); "
                "only segments over RETIME_OVER_S are re-timed",
                strict=False,
            ),
        ),
    ],
    ids=["glossary", "three-terms", "prompt", "language-words"],
)
def test_options_keep_whisper_boundaries(
    transcriber: FasterWhisperTranscriber, five: Path, plain: list[Segment], options: TranscriptionOptions
) -> None:
    segments = list(transcriber.transcribe(five, options))
    spans = [(s.start, s.end) for s in segments]
    assert max(s.end - s.start for s in segments) <= LONGEST_S, spans
    assert not far_boundaries(segments, plain), (far_boundaries(segments, plain), spans, boundaries(plain))
    for segment in segments:
        if segment.words is not None:  # timed words stay inside their segment, in order
            assert segment.words and segment.words[0].start >= segment.start - TOLERANCE_S
            assert segment.words[-1].end <= segment.end + TOLERANCE_S


@pytest.mark.slow
def test_resumed_run_with_a_glossary_keeps_whisper_boundaries(
    transcriber: FasterWhisperTranscriber, five: Path, plain: list[Segment]
) -> None:
    middle = plain[len(plain) // 2 - 1]
    options = TranscriptionOptions(hotwords=["Stenograph"])
    resumed = list(transcriber.transcribe(five, options, start_at=middle.end, first_index=len(plain) // 2))
    spans = [(s.start, s.end) for s in resumed]
    assert resumed and resumed[0].start >= middle.end - 0.01
    assert max(s.end - s.start for s in resumed) <= LONGEST_S, spans
    assert not far_boundaries(resumed, plain), (far_boundaries(resumed, plain), spans, boundaries(plain))
