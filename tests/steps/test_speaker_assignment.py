"""The pure speaker assignment: every segment gets a speaker, segments split at the word where the speaker
changes (renumbered, times kept), overlap marked with the dominant speaker, default names in order; a
transcript by channel takes each channel's speaker."""

from __future__ import annotations

from stenograph.steps.diarization.diarizer import SpeakerTurn
from stenograph.steps.speakers.assign import (
    assign_by_channel,
    assign_speakers,
    channel_index,
    default_name,
    overlapped_time,
)
from stenograph.transcript.types import Segment, Word


def timed(index: int, *words: tuple[float, float, str]) -> Segment:
    """A segment whose text is its words (Whisper's words carry their leading space)."""
    items = tuple(Word(a, b, f" {w}", 0.9) for a, b, w in words)
    return Segment(index, items[0].start, items[-1].end, "".join(w.word for w in items).strip(), words=items)


def test_a_segment_is_split_at_the_word_where_the_speaker_changes_and_renumbered() -> None:
    segments = [
        timed(0, (0.0, 0.5, "hello"), (0.5, 1.0, "there"), (1.2, 1.6, "hi"), (1.6, 2.0, "Ann")),
        timed(1, (2.5, 3.0, "how"), (3.0, 3.5, "are"), (3.5, 4.0, "you")),
    ]
    turns = [SpeakerTurn(0.0, 1.1, "SPK_B"), SpeakerTurn(1.1, 2.2, "SPK_A"), SpeakerTurn(2.4, 4.0, "SPK_B")]
    result = assign_speakers(turns, segments)
    rows = [(s.index, s.start, s.end, s.text, s.speaker_label) for s in result.segments]
    assert rows == [
        (0, 0.0, 1.0, "hello there", "Speaker 1"),
        (1, 1.2, 2.0, "hi Ann", "Speaker 2"),
        (2, 2.5, 4.0, "how are you", "Speaker 1"),
    ]
    assert [w.word for w in result.segments[1].words or ()] == [" hi", " Ann"]
    assert result.speakers == ["Speaker 1", "Speaker 2"]
    assert result.labels == {"Speaker 1": "SPK_B", "Speaker 2": "SPK_A"}
    assert not any(s.overlap for s in result.segments)


def test_overlapping_speech_takes_the_dominant_speaker_and_is_marked_overlap() -> None:
    segment = timed(0, (0.0, 1.0, "we"), (1.0, 2.0, "agree"), (2.0, 3.0, "then"))
    turns = [SpeakerTurn(0.0, 3.0, "A"), SpeakerTurn(1.0, 2.0, "B")]  # B talks over A's middle word
    result = assign_speakers(turns, [segment])
    assert [(s.text, s.speaker_label, s.overlap) for s in result.segments] == [("we agree then", "Speaker 1", True)]
    assert overlapped_time(turns, 0.0, 3.0) == 1.0


def test_a_short_brush_of_another_voice_is_not_overlap() -> None:
    segment = timed(0, (0.0, 1.0, "long"), (1.0, 2.0, "sentence"))
    result = assign_speakers([SpeakerTurn(0.0, 2.0, "A"), SpeakerTurn(1.9, 3.0, "B")], [segment])
    assert [(s.speaker_label, s.overlap) for s in result.segments] == [("Speaker 1", False)]


def test_without_words_a_segment_is_not_split_and_takes_its_dominant_speaker() -> None:
    segments = [Segment(0, 0.0, 4.0, "no word times here"), Segment(1, 4.0, 5.0, "late")]
    turns = [SpeakerTurn(0.0, 1.0, "A"), SpeakerTurn(1.0, 4.0, "B"), SpeakerTurn(4.0, 5.0, "A")]
    result = assign_speakers(turns, segments)
    assert [(s.index, s.text, s.speaker_label) for s in result.segments] == [
        (0, "no word times here", "Speaker 1"),
        (1, "late", "Speaker 2"),
    ]


def test_an_edited_text_whose_words_no_longer_match_is_not_split() -> None:
    base = timed(0, (0.0, 1.0, "one"), (1.0, 2.0, "two"))
    edited = Segment(0, base.start, base.end, "one and two", words=base.words)
    result = assign_speakers([SpeakerTurn(0.0, 1.0, "A"), SpeakerTurn(1.0, 2.0, "B")], [edited])
    assert [s.text for s in result.segments] == ["one and two"]


def test_every_segment_gets_a_speaker_even_between_turns_or_without_any() -> None:
    segments = [timed(0, (5.0, 6.0, "gap")), timed(1, (9.0, 9.5, "end"))]
    result = assign_speakers([SpeakerTurn(0.0, 4.0, "A"), SpeakerTurn(9.6, 12.0, "B")], segments)
    assert [s.speaker_label for s in result.segments] == ["Speaker 1", "Speaker 2"]  # the nearest turns
    silent = assign_speakers([], segments)
    assert [s.speaker_label for s in silent.segments] == ["Speaker 1", "Speaker 1"]
    assert default_name(3) == "Speaker 3"


def test_channel_labels_name_their_channels() -> None:
    assert [channel_index(label) for label in ("left", "right", "ch1", "ch3")] == [0, 1, 0, 2]
    assert [channel_index(label) for label in ("ch0", "chX", "centre", "")] == [None, None, None, None]


def test_by_channel_each_segment_takes_its_channels_speaker_in_order_of_first_appearance() -> None:
    segments = [
        Segment(0, 0.0, 1.0, "right first", channel="right"),
        Segment(1, 0.5, 3.0, "left talks over", channel="left"),
        Segment(2, 3.5, 4.0, "right again", channel="right"),
    ]
    turns = [SpeakerTurn(0.0, 1.0, "R"), SpeakerTurn(0.5, 3.0, "L"), SpeakerTurn(3.5, 4.0, "R")]
    result = assign_by_channel(turns, segments, lambda channel: "L" if channel == 0 else "R")
    assert result is not None and result.labels == {"Speaker 1": "R", "Speaker 2": "L"}
    rows = [(s.index, s.text, s.speaker_label, s.overlap) for s in result.segments]
    assert rows == [
        (0, "right first", "Speaker 1", True),
        (1, "left talks over", "Speaker 2", True),
        (2, "right again", "Speaker 1", False),
    ]
    assert assign_by_channel(turns, [*segments, Segment(3, 4.0, 5.0, "mixed")], lambda c: "L") is None
