"""Guards against repetition loops and made-up text over silence."""

from __future__ import annotations

import pytest

from stenograph.steps.transcription.guards import (
    collapse_repeated_segments,
    collapse_repetitions,
    collapse_word_repetitions,
    is_hallucinated,
)
from stenograph.transcript.types import Segment, Word


@pytest.mark.parametrize(
    ("text", "max_repeats", "expected"),
    [
        ("Thank you. Thank you. Thank you. Thank you. Thank you.", 2, "Thank you. Thank you."),
        ("no no no no no no way", 1, "no way"),
        ("no no no no no no way", 2, "no no way"),
        ("I think, I think, I think, I think so", 2, "I think, I think, so"),
        ("the the THE the, cat", 2, "the the cat"),
        # Two loops one after the other, of different lengths.
        ("a b a b a b c c c d", 2, "a b a b c c d"),
        # A long phrase (8 words) looping.
        (" ".join(["we will meet again on monday at noon"] * 5) + " then", 2,
         " ".join(["we will meet again on monday at noon"] * 2) + " then"),
        ("哈哈哈哈哈哈哈哈哈哈哈哈", 2, "哈哈"),
    ],
)  # fmt: skip
def test_collapse_repetitions(text: str, max_repeats: int, expected: str) -> None:
    assert collapse_repetitions(text, max_repeats) == expected


@pytest.mark.parametrize(
    "text",
    [
        "The quick brown fox jumps over the lazy dog.",
        "that that is is that that is not is not",  # at most twice in a row
        "Mississippi bookkeeper!!! hello",
        "very very good",
        "",
    ],
)
def test_collapse_repetitions_leaves_normal_text(text: str) -> None:
    assert collapse_repetitions(text, 2) == " ".join(text.split())


def test_collapse_repetitions_rejects_zero() -> None:
    with pytest.raises(ValueError):
        collapse_repetitions("a a a", 0)


def test_collapse_word_repetitions_keeps_timings() -> None:
    words = [Word(float(i), i + 0.5, w, 0.9) for i, w in enumerate([" go", " go", " go", " go", " home"])]
    kept = collapse_word_repetitions(words, 2)
    assert [w.word for w in kept] == [" go", " go", " home"]
    assert kept[-1].start == 4.0


def _seg(index: int, text: str, channel: str | None = None) -> Segment:
    return Segment(index, float(index), index + 1.0, text, channel=channel)


def test_collapse_repeated_segments() -> None:
    segments = [
        _seg(0, "Hello."),
        _seg(1, "Thanks for watching!"),
        _seg(2, "thanks for watching"),
        _seg(3, "Thanks for watching!"),
        _seg(4, "Thanks for watching!"),
        _seg(5, "Goodbye."),
        _seg(6, "Thanks for watching!"),
    ]
    kept = collapse_repeated_segments(segments, 2)
    assert [s.index for s in kept] == [0, 1, 2, 5, 6]


def test_repeated_segments_are_counted_per_channel() -> None:
    segments = [_seg(0, "Yes.", "left"), _seg(1, "Yes.", "right"), _seg(2, "Yes.", "left"), _seg(3, "Yes.", "left")]
    kept = collapse_repeated_segments(segments, 2)
    assert [s.index for s in kept] == [0, 1, 2]


@pytest.mark.parametrize(
    ("no_speech", "logprob", "dropped"),
    [
        (0.9, -1.5, True),  # silence and unsure: made up
        (0.9, -0.3, False),  # silence token likely but the text was decoded confidently: kept (Whisper's rule)
        (0.3, -1.5, False),  # speech, poorly recognised: kept
        (0.6, -1.5, False),  # thresholds are strict: not above 0.6
        (0.61, -1.0, False),  # not below -1.0
    ],
)
def test_is_hallucinated(no_speech: float, logprob: float, dropped: bool) -> None:
    segment = Segment(0, 0.0, 1.0, "Thank you.", avg_logprob=logprob, no_speech_prob=no_speech)
    assert is_hallucinated(segment, no_speech_threshold=0.6, logprob_threshold=-1.0) is dropped
