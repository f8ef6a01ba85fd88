"""No invented words (issue 14): the guard's rules on made-up words, and short cuts of real speech
through tiny.en (figures on more cuts: ``python -m bench --only invented_words``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bench.invented_words_bench import measure, speech_cuts
from stenograph.settings import build_settings
from stenograph.steps.transcription.guards import invented_text_guard, trim_invented_words
from stenograph.steps.transcription.transcriber import FasterWhisperTranscriber
from stenograph.transcript.types import Segment, Word

#: Cuts checked here (about 3-5 s each on a loaded 2-core machine).
CUTS = 20


def words(*spec: tuple[str, float, float, float]) -> list[Word]:
    return [Word(start, end, f" {text}", probability) for text, start, end, probability in spec]


def test_words_after_the_audio_or_squeezed_at_the_end_are_dropped() -> None:
    said = words(("See", 0.0, 0.3, 0.9), ("what", 0.3, 0.52, 0.6), ("going", 0.54, 0.54, 0.3), ("do.", 0.54, 0.54, 0.8))
    assert [w.word for w in trim_invented_words(said, audio_end=0.57)] == [" See", " what"]


def test_edge_words_of_very_low_probability_are_dropped() -> None:
    said = words(("dark", 0.0, 0.38, 0.03), ("suit", 0.38, 0.6, 0.88), ("and", 0.6, 0.9, 0.66))
    assert [w.word for w in trim_invented_words(said, audio_end=1.0)] == [" suit", " and"]


def test_more_words_than_the_span_holds_lose_the_least_probable() -> None:
    said = words(
        ("We", 0.0, 0.14, 0.3), ("had", 0.14, 0.34, 0.7), ("your", 0.34, 0.54, 0.88), ("ducks.", 0.54, 0.76, 0.48)
    )
    kept = trim_invented_words(said, audio_end=0.85)  # 0.76 s hold 3 words at 4 a second
    assert [w.word for w in kept] == [" had", " your", " ducks."]
    long_and_fast = [Word(i * 0.2, i * 0.2 + 0.2, f" w{i}", 0.9) for i in range(25)]  # 5 words a second over 5 s
    assert len(trim_invented_words(long_and_fast, audio_end=10.0)) == 25


def test_segment_without_words_is_cut_to_what_its_span_holds() -> None:
    made_up = Segment(0, 0.0, 0.5, "See what I'm going to do.")
    guarded = invented_text_guard(made_up, audio_end=0.5)
    assert guarded is not None and guarded.text == "See what"
    assert invented_text_guard(Segment(0, 0.0, 0.2, "Thank you."), audio_end=0.2) is None
    real = Segment(0, 0.0, 4.0, "And so my fellow Americans ask not")
    assert invented_text_guard(real, audio_end=11.0) is real


@pytest.mark.slow
def test_short_cuts_of_speech_give_no_invented_words(corpus: Path, tiny_model: Any, tmp_path: Path) -> None:
    transcriber = FasterWhisperTranscriber(build_settings(), model=tiny_model)
    figures = measure(transcriber, speech_cuts(corpus, tmp_path, CUTS))
    outputs = figures.pop("outputs")
    assert figures["max_words_per_second"] <= 4.0, (figures, outputs)
    assert figures["precision_1_2s"] >= 0.7, (figures, outputs)
    assert figures["yield_1_2s"] >= 0.5, (figures, outputs)


def test_fast_short_phrase_inside_the_audio_is_kept() -> None:
    # "in his power to do for them." lasts 1.44 s in the middle of a 7 s clip: Whisper timed it, it is real.
    said = [Word(5.52 + i * 0.24, 5.76 + i * 0.24, f" w{i}", 0.9) for i in range(6)]
    segment = Segment(1, 5.52, 6.96, "".join(w.word for w in said).strip(), words=tuple(said))
    assert invented_text_guard(segment, audio_start=0.0, audio_end=20.0) is segment
    assert invented_text_guard(segment, audio_start=0.0, audio_end=7.1) is segment  # at the end of a clip too
    assert len(trim_invented_words(said, audio_end=7.0)) == 5  # as the whole audio: 4 words a second
